// Layer-by-layer model construction with shape inference, recursing into residual blocks.
#include "model/builder.hpp"

#include "core/error.hpp"
#include "model/registry.hpp"

namespace tinycnn::model {

tensor::Shape input_shape(const ModelSpec& spec) {
  return {spec.input.channels, spec.input.height, spec.input.width};
}

namespace {
struct Builder {
  const ModelSpec& spec;
  const LayerObserver& observe;
  Weights weights;
  core::Rng rng;

  // Builds `layers` into `into`, starting from `shape`; returns the output shape.
  tensor::Shape build(const std::vector<LayerSpec>& layers, const tensor::Shape& input,
                      nn::Sequential& into, const std::string& name_prefix, int depth,
                      uint64_t seed_base) {
    tensor::Shape shape = input;
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerSpec& layer = layers[i];
      const LayerSite site{.name = name_prefix + "." + std::to_string(i),
                           .path = layer.path,
                           .branch = into.prefix(),
                           .index = i,
                           .depth = depth};
      const LayerType& type = find_layer_type(layer.type, layer.path);
      const ObjectReader reader(*layer.json, layer.path, type.keys);
      const uint64_t seed = seed_base * 1000003u + i;
      const LayerContext ctx{
          .input = shape,
          .rng = rng,
          .default_algo = spec.training.conv_algo,
          .precision = spec.training.precision,
          .init = weights == Weights::None ? nn::WeightInit::None : spec.training.weight_init,
          .seed = seed,
          .build_branch = [&](const std::vector<LayerSpec>& branch, nn::Sequential& branch_into) {
            return build(branch, shape, branch_into, site.name + "." + branch_into.prefix(),
                         depth + 1, seed + (branch_into.prefix() == "shortcut" ? 500009u : 1u));
          }};
      std::unique_ptr<nn::Module> module = type.make(reader, ctx);
      tensor::Shape out;
      try {
        out = module->output_shape(shape);
      } catch (const core::Error& e) {
        const std::string where = depth == 0 ? std::to_string(i) : site.name.substr(7);
        throw core::Error(e.kind(), "layer " + where + " (" + layer.type + "): " + e.what());
      }
      if (observe) observe(site, *module, shape, out);
      into.add(std::move(module));
      shape = out;
    }
    return shape;
  }
};
}  // namespace

std::unique_ptr<nn::Sequential> build_model(const ModelSpec& spec, const LayerObserver& observe,
                                            Weights weights) {
  auto model = std::make_unique<nn::Sequential>();
  Builder builder{spec, observe, weights, core::Rng(spec.training.seed)};
  const tensor::Shape shape =
      builder.build(spec.layers, input_shape(spec), *model, "layers", 0, spec.training.seed);
  TCNN_CHECK(shape.rank() == 1, "layers: the last layer must output class scores [K], got ",
             shape.to_string(), " (end with flatten + linear)");
  // Every command that builds the model refuses names that do not fit it, not only train.
  const auto names = static_cast<int64_t>(spec.training.classes.size());
  TCNN_CHECK(names == 0 || names == shape[0], "training.classes: expected ", shape[0],
             " names (the model's outputs), got ", names);
  return model;
}

}  // namespace tinycnn::model
