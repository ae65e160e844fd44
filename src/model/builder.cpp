// Layer-by-layer model construction with shape inference.
#include "model/builder.hpp"

#include "core/error.hpp"
#include "model/registry.hpp"

namespace tinycnn::model {

tensor::Shape input_shape(const ModelSpec& spec) {
  return {spec.input.channels, spec.input.height, spec.input.width};
}

std::unique_ptr<nn::Sequential> build_model(const ModelSpec& spec, const LayerObserver& observe,
                                            Weights weights) {
  auto model = std::make_unique<nn::Sequential>();
  core::Rng rng(spec.training.seed);
  tensor::Shape shape = input_shape(spec);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& layer = spec.layers[i];
    const LayerType& type = find_layer_type(layer.type, layer.path);
    const ObjectReader reader(layer.json, layer.path, type.keys);
    const LayerContext ctx{
        .input = shape,
        .rng = rng,
        .default_algo = spec.training.conv_algo,
        .init = weights == Weights::None ? nn::WeightInit::None : spec.training.weight_init,
        .seed = spec.training.seed * 1000003u + i};
    std::unique_ptr<nn::Module> module = type.make(reader, ctx);
    tensor::Shape out;
    try {
      out = module->output_shape(shape);
    } catch (const core::Error& e) {
      throw core::Error(e.kind(),
                        "layer " + std::to_string(i) + " (" + layer.type + "): " + e.what());
    }
    if (observe) observe(i, *module, shape, out);
    model->add(std::move(module));
    shape = out;
  }
  TCNN_CHECK(shape.rank() == 1, "layers: the last layer must output class scores [K], got ",
             shape.to_string(), " (end with flatten + linear)");
  return model;
}

}  // namespace tinycnn::model
