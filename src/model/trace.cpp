// Analytic per-layer costs. MACs: conv OC*OH*OW*(C/groups)*KH*KW, linear in*out; the rest 0.
// Receptive field r and jump j per layer: r' = r + (k - 1) * j, j' = j * s (height axis).
#include "model/trace.hpp"

#include "core/error.hpp"
#include "core/shape.hpp"
#include "model/builder.hpp"
#include "nn/conv2d.hpp"
#include "nn/linear.hpp"
#include "nn/pooling.hpp"

namespace tinycnn::model {

namespace {
using core::checked_mul;

struct FieldState {
  int64_t rf = 1, jump = 1;
  int64_t spatial_h = 0;  // height of the last spatial tensor, for the first linear layer
  bool flat = false;
};

void add_conv_costs(const nn::Conv2d& conv, const tensor::Shape& in, const tensor::Shape& out,
                    int64_t batch, LayerCost& c, FieldState& f) {
  const auto& o = conv.options();
  const int64_t k = o.kernel_size[0] * o.kernel_size[1];
  const int64_t out_pixels = out[1] * out[2];
  const int64_t per_image =
      checked_mul(checked_mul(out[0], out_pixels, "macs"), (in[0] / o.groups) * k, "macs");
  c.macs = checked_mul(per_image, batch, "macs");
  c.workspace_bytes =
      checked_mul(checked_mul(in[0] * k, out_pixels, "workspace"), batch * 4, "workspace");
  c.arithmetic = {{in[1], o.kernel_size[0], o.stride[0], o.padding[0]},
                  {in[2], o.kernel_size[1], o.stride[1], o.padding[1]}};
  const int64_t bias = o.bias ? 1 : 0;
  c.dense_params = checked_mul(in.numel(), out.numel(), "dense params") + bias * out.numel();
  if (o.groups == 1) {
    c.separable_params = in[0] * k + bias * in[0] + in[0] * o.out_channels + bias * o.out_channels;
    c.separable_macs =
        checked_mul(in[0] * k + in[0] * o.out_channels, out_pixels * batch, "separable macs");
  }
  f.rf += (o.kernel_size[0] - 1) * f.jump;
  f.jump *= o.stride[0];
}

void add_pool_costs(const nn::Pool2d& pool, const tensor::Shape& in, LayerCost& c, FieldState& f) {
  const auto k = pool.kernel_size(), s = pool.stride(), p = pool.padding();
  c.arithmetic = {{in[1], k[0], s[0], p[0]}, {in[2], k[1], s[1], p[1]}};
  f.rf += (k[0] - 1) * f.jump;
  f.jump *= s[0];
}
}  // namespace

int64_t ModelTrace::total_params() const {
  int64_t sum = 0;
  for (const auto& l : layers) sum += l.params;
  return sum;
}
int64_t ModelTrace::total_macs() const {
  int64_t sum = 0;
  for (const auto& l : layers) sum += l.macs;
  return sum;
}
int64_t ModelTrace::total_activation_bytes() const {
  int64_t sum = 0;
  for (const auto& l : layers) sum += l.activation_bytes;
  return sum;
}

ModelTrace trace_model(const ModelSpec& spec, int64_t batch) {
  TCNN_CHECK(batch >= 1 && batch <= (1 << 20), "shape trace: expected a batch of 1..1048576, got ",
             batch);
  ModelTrace trace;
  trace.name = spec.name;
  trace.batch = batch;
  trace.input = input_shape(spec);
  FieldState field;
  field.spatial_h = spec.input.height;

  auto observe = [&](size_t index, nn::Module& layer, const tensor::Shape& in,
                     const tensor::Shape& out) {
    LayerCost c;
    c.index = index;
    c.type = layer.type();
    c.description = layer.describe();
    c.input = in;
    c.output = out;
    c.params = layer.parameter_count();
    c.activation_bytes = checked_mul(checked_mul(out.numel(), batch, "activation"), 4, "bytes");
    if (const auto* conv = dynamic_cast<const nn::Conv2d*>(&layer)) {
      add_conv_costs(*conv, in, out, batch, c, field);
    } else if (const auto* pool = dynamic_cast<const nn::Pool2d*>(&layer)) {
      add_pool_costs(*pool, in, c, field);
    } else if (dynamic_cast<const nn::GlobalAvgPool2d*>(&layer)) {
      // A pool whose window and stride are the whole map.
      c.arithmetic = {{in[1], in[1], in[1], 0}, {in[2], in[2], in[2], 0}};
      field.rf += (in[1] - 1) * field.jump;
      field.jump *= in[1];
    } else if (dynamic_cast<const nn::Linear*>(&layer)) {
      c.macs = checked_mul(checked_mul(in[0], out[0], "macs"), batch, "macs");
      if (!field.flat) {
        // A dense layer sees its whole (flattened) input: the field grows to the last map.
        field.rf += (field.spatial_h - 1) * field.jump;
        field.flat = true;
      }
    }
    if (out.rank() == 3) field.spatial_h = out[1];
    c.receptive_field = field.rf;
    c.jump = field.jump;
    trace.layers.push_back(std::move(c));
  };

  try {
    build_model(spec, observe, Weights::None);
  } catch (const core::Error& e) {
    trace.error = e.what();
  }
  return trace;
}

}  // namespace tinycnn::model
