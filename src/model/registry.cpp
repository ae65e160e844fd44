// Layer factories. Each checks its keys against the inferred input before building anything,
// so an impossible layer fails with its JSON path and never allocates a huge weight.
#include "model/registry.hpp"

#include <optional>

#include "core/error.hpp"
#include "nn/batchnorm.hpp"
#include "nn/conv2d.hpp"
#include "nn/groupnorm.hpp"
#include "nn/linear.hpp"
#include "nn/pooling.hpp"
#include "nn/residual.hpp"
#include "nn/simple_layers.hpp"

namespace tinycnn::model {

namespace {
constexpr int64_t kMaxSize = 1 << 20;
constexpr int64_t kMaxLayerParams = int64_t{1} << 28;  // 1 GiB of float32 weights

// Runs one of nn's option checks, whose message starts with the option's name, and puts the
// layer's JSON path in front of it ("layers[3].groups: expected ...").
template <typename Check>
void checked(const ObjectReader& r, const Check& check) {
  try {
    check();
  } catch (const core::Error& e) {
    throw core::Error(e.kind(), r.path(e.what()));
  }
}

std::unique_ptr<nn::Module> make_conv2d(const ObjectReader& r, const LayerContext& ctx) {
  TCNN_CHECK(ctx.input.rank() == 3, r.path("type"), ": conv2d needs a [C, H, W] input, got ",
             ctx.input.to_string(), " (after flatten?)");
  nn::Conv2dOptions o;
  o.in_channels = ctx.input[0];
  o.out_channels = r.integer("out_channels", std::nullopt, 1, kMaxSize);
  o.kernel_size = r.pair("kernel_size", std::nullopt, 1);
  o.stride = r.pair("stride", std::array<int64_t, 2>{1, 1}, 1);
  o.padding = r.pair("padding", std::array<int64_t, 2>{0, 0}, 0);
  o.groups = r.integer("groups", 1, 1, kMaxSize);
  o.bias = r.boolean("bias", true);
  if (r.has("in_channels")) {
    const int64_t declared = r.integer("in_channels", std::nullopt, 1, kMaxSize);
    TCNN_CHECK(declared == o.in_channels, r.path("in_channels"), ": expected ", o.in_channels,
               " (inferred from the previous layer), got ", declared);
  }
  checked(r, [&] { nn::check_options(o); });
  o.algo = ctx.default_algo;
  if (r.has("algo")) {
    o.algo =
        kernels::conv_algo_from_string(r.string("algo", std::nullopt, kernels::conv_algo_names()));
  }
  const int64_t params =
      o.out_channels * (o.in_channels / o.groups) * o.kernel_size[0] * o.kernel_size[1];
  TCNN_CHECK(params <= kMaxLayerParams, r.path("out_channels"), ": layer would have ", params,
             " weights, expected at most ", kMaxLayerParams);
  o.init = ctx.init;
  o.precision = ctx.precision;
  return std::make_unique<nn::Conv2d>(o, ctx.rng);
}

nn::Pool2dOptions pool_options(const ObjectReader& r) {
  nn::Pool2dOptions o;
  o.kernel_size = r.pair("kernel_size", std::nullopt, 1);
  o.stride = r.pair("stride", o.kernel_size, 1);
  o.padding = r.pair("padding", std::array<int64_t, 2>{0, 0}, 0);
  checked(r, [&] { nn::check_options(o); });
  return o;
}

void require_spatial(const ObjectReader& r, const LayerContext& ctx, const char* type) {
  TCNN_CHECK(ctx.input.rank() == 3, r.path("type"), ": ", type, " needs a [C, H, W] input, got ",
             ctx.input.to_string(), " (after flatten?)");
}

std::unique_ptr<nn::Module> make_maxpool2d(const ObjectReader& r, const LayerContext& ctx) {
  require_spatial(r, ctx, "maxpool2d");
  return std::make_unique<nn::MaxPool2d>(pool_options(r));
}

std::unique_ptr<nn::Module> make_avgpool2d(const ObjectReader& r, const LayerContext& ctx) {
  require_spatial(r, ctx, "avgpool2d");
  return std::make_unique<nn::AvgPool2d>(pool_options(r));
}

std::unique_ptr<nn::Module> make_global_avgpool2d(const ObjectReader& r, const LayerContext& ctx) {
  require_spatial(r, ctx, "global_avgpool2d");
  return std::make_unique<nn::GlobalAvgPool2d>();
}

std::unique_ptr<nn::Module> make_batchnorm(const ObjectReader& r, const LayerContext& ctx,
                                           bool spatial) {
  if (spatial) {
    require_spatial(r, ctx, "batchnorm2d");
  } else {
    TCNN_CHECK(ctx.input.rank() == 1, r.path("type"),
               ": batchnorm1d needs a flat [F] input (batchnorm2d takes [C, H, W]), got ",
               ctx.input.to_string());
  }
  nn::BatchNormOptions o;
  o.features = ctx.input[0];
  o.spatial = spatial;
  o.eps = r.number("eps", 1e-5, 1e-12, 1.0);
  o.momentum = r.number("momentum", 0.1, 0.0, 1.0);
  o.affine = r.boolean("affine", true);
  o.allocate = ctx.init != nn::WeightInit::None;
  checked(r, [&] { nn::check_options(o); });
  return std::make_unique<nn::BatchNorm>(o);
}
std::unique_ptr<nn::Module> make_batchnorm2d(const ObjectReader& r, const LayerContext& ctx) {
  return make_batchnorm(r, ctx, true);
}
std::unique_ptr<nn::Module> make_batchnorm1d(const ObjectReader& r, const LayerContext& ctx) {
  return make_batchnorm(r, ctx, false);
}

// layernorm over the whole example ([C, H, W] or [F]); groupnorm over num_groups groups of
// channels.
std::unique_ptr<nn::Module> make_group_norm(const ObjectReader& r, const LayerContext& ctx,
                                            bool layer) {
  TCNN_CHECK(ctx.input.rank() == 1 || ctx.input.rank() == 3, r.path("type"), ": ",
             layer ? "layernorm" : "groupnorm", " needs a [C, H, W] or [F] input, got ",
             ctx.input.to_string());
  nn::GroupNormOptions o;
  o.example = ctx.input;
  o.layer = layer;
  if (!layer) o.groups = r.integer("num_groups", std::nullopt, 1, kMaxSize);
  o.eps = r.number("eps", 1e-5, 1e-12, 1.0);
  o.affine = r.boolean("affine", true);
  o.allocate = ctx.init != nn::WeightInit::None;
  checked(r, [&] { nn::check_options(o); });
  return std::make_unique<nn::GroupNorm>(o);
}
std::unique_ptr<nn::Module> make_layernorm(const ObjectReader& r, const LayerContext& ctx) {
  return make_group_norm(r, ctx, true);
}
std::unique_ptr<nn::Module> make_groupnorm(const ObjectReader& r, const LayerContext& ctx) {
  return make_group_norm(r, ctx, false);
}

std::unique_ptr<nn::Module> make_residual(const ObjectReader& r, const LayerContext& ctx) {
  auto block = std::make_unique<nn::Residual>();
  const tensor::Shape main =
      ctx.build_branch(parse_layer_list(r.raw("layers"), r.path("layers"), false), block->main());
  tensor::Shape shortcut = ctx.input;
  if (r.has("shortcut")) {
    shortcut = ctx.build_branch(parse_layer_list(r.raw("shortcut"), r.path("shortcut"), true),
                                block->shortcut());
  }
  TCNN_CHECK(main == shortcut, r.path("type"), ": residual block: its layers give ",
             main.to_string(), ", its ", block->shortcut().empty() ? "identity " : "",
             "shortcut gives ", shortcut.to_string(),
             "; they must match (a shortcut of a 1x1 conv2d with the layers' stride and channels "
             "matches them)");
  return block;
}

std::unique_ptr<nn::Module> make_linear(const ObjectReader& r, const LayerContext& ctx) {
  TCNN_CHECK(ctx.input.rank() == 1, r.path("type"),
             ": linear needs a flat [F] input (add a flatten layer before it), got ",
             ctx.input.to_string());
  nn::LinearOptions o;
  o.in_features = ctx.input[0];
  o.out_features = r.integer("out_features", std::nullopt, 1, kMaxSize);
  o.bias = r.boolean("bias", true);
  if (r.has("in_features")) {
    const int64_t declared = r.integer("in_features", std::nullopt, 1, INT32_MAX);
    TCNN_CHECK(declared == o.in_features, r.path("in_features"), ": expected ", o.in_features,
               " (inferred from the previous layer), got ", declared);
  }
  TCNN_CHECK(o.in_features <= kMaxLayerParams / o.out_features, r.path("out_features"),
             ": layer would have ", o.in_features, " x ", o.out_features,
             " weights, expected at most ", kMaxLayerParams);
  o.init = ctx.init;
  o.precision = ctx.precision;
  return std::make_unique<nn::Linear>(o, ctx.rng);
}

std::unique_ptr<nn::Module> make_flatten(const ObjectReader&, const LayerContext&) {
  return std::make_unique<nn::Flatten>();
}
std::unique_ptr<nn::Module> make_relu(const ObjectReader&, const LayerContext&) {
  return std::make_unique<nn::Activation>(nn::Activation::Kind::Relu);
}
std::unique_ptr<nn::Module> make_tanh(const ObjectReader&, const LayerContext&) {
  return std::make_unique<nn::Activation>(nn::Activation::Kind::Tanh);
}
std::unique_ptr<nn::Module> make_sigmoid(const ObjectReader&, const LayerContext&) {
  return std::make_unique<nn::Activation>(nn::Activation::Kind::Sigmoid);
}
std::unique_ptr<nn::Module> make_dropout(const ObjectReader& r, const LayerContext& ctx) {
  const double p = r.number("p", 0.5, 0.0, 0.999);
  return std::make_unique<nn::Dropout>(
      nn::DropoutOptions{.p = static_cast<float>(p), .seed = ctx.seed});
}

// Each kind's keys and factory; a kind with no config form (a block's branch list, a layer
// defined outside the library) has none.
std::optional<LayerType> config_form(nn::LayerKind kind) {
  using K = nn::LayerKind;
  const std::vector<std::string> window{"type", "kernel_size", "stride", "padding"};
  const std::vector<std::string> batch_norm{"type", "eps", "momentum", "affine"};
  const auto form = [&](std::vector<std::string> keys, LayerFactory make) {
    return LayerType{std::string(nn::name_of(kind)), std::move(keys), make};
  };
  switch (kind) {
    case K::Conv2d:
      return form({"type", "out_channels", "kernel_size", "stride", "padding", "groups", "bias",
                   "in_channels", "algo"},
                  make_conv2d);
    case K::MaxPool2d:
      return form(window, make_maxpool2d);
    case K::AvgPool2d:
      return form(window, make_avgpool2d);
    case K::GlobalAvgPool2d:
      return form({"type"}, make_global_avgpool2d);
    case K::Linear:
      return form({"type", "out_features", "bias", "in_features"}, make_linear);
    case K::BatchNorm2d:
      return form(batch_norm, make_batchnorm2d);
    case K::BatchNorm1d:
      return form(batch_norm, make_batchnorm1d);
    case K::LayerNorm:
      return form({"type", "eps", "affine"}, make_layernorm);
    case K::GroupNorm:
      return form({"type", "num_groups", "eps", "affine"}, make_groupnorm);
    case K::Residual:
      return form({"type", "layers", "shortcut"}, make_residual);
    case K::Flatten:
      return form({"type"}, make_flatten);
    case K::Relu:
      return form({"type"}, make_relu);
    case K::Tanh:
      return form({"type"}, make_tanh);
    case K::Sigmoid:
      return form({"type"}, make_sigmoid);
    case K::Dropout:
      return form({"type", "p"}, make_dropout);
    case K::Sequential:
    case K::Custom:
      return std::nullopt;
  }
  return std::nullopt;
}
}  // namespace

const std::vector<LayerType>& layer_types() {
  static const std::vector<LayerType> types = [] {
    std::vector<LayerType> all;
    for (size_t k = 0; k < nn::kLayerKindNames.size(); ++k) {
      if (auto t = config_form(static_cast<nn::LayerKind>(k))) all.push_back(std::move(*t));
    }
    return all;
  }();
  return types;
}

const LayerType& find_layer_type(const std::string& name, const std::string& path) {
  std::vector<std::string> known;
  for (const auto& t : layer_types()) {
    if (t.name == name) return t;
    known.push_back(t.name);
  }
  throw core::Error(core::ErrorKind::Invalid, path + ".type: unknown layer type \"" + name +
                                                  "\"; allowed: " + core::join(known));
}

}  // namespace tinycnn::model
