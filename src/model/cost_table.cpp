// Analytic per-layer costs. MACs: conv OC*OH*OW*(C/groups)*KH*KW, linear in*out; the rest 0.
// Receptive field r and jump j per layer: r' = r + (k - 1) * j, j' = j * s (height axis).
// Traffic per direction (m input elements, n output elements, batch; 4 bytes each): FLOPs as
// the kernels do them, counted per element — batch norm 6 forward (sum, sum of squares,
// scale-and-shift) and 8 backward (two sums, then the three-term gradient); activations 1
// forward, ReLU 1 and tanh / sigmoid 3 backward; dropout 1 each way; a block's add 1 forward
// (its backward passes the gradient on); pooling a compare or add per window element.
#include "model/cost_table.hpp"

#include <algorithm>

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

kernels::ConvCost sum(const kernels::ConvCost& a, const kernels::ConvCost& b) {
  return {a.flops + b.flops, a.bytes + b.bytes};
}

void add_conv_costs(nn::Conv2d& conv, const tensor::Shape& in, const tensor::Shape& out,
                    int64_t batch, LayerCost& c) {
  c.plan = conv.plan(in);
  const kernels::ConvCost fwd = c.plan->forward_cost(batch);
  const kernels::ConvCost bwd = sum(c.plan->dinput_cost(batch), c.plan->dweight_cost(batch));
  c.forward = {fwd.flops, fwd.bytes};
  c.backward = {bwd.flops, bwd.bytes};
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
}

// Receptive field and jump, walking the rows in order from `f`; a block takes the larger of
// what its two branches make of the same input.
void assign_fields(std::vector<LayerCost>& rows, FieldState& f) {
  for (LayerCost& c : rows) {
    if (c.kind == nn::LayerKind::Residual) {
      FieldState main = f, shortcut = f;
      assign_fields(c.layers, main);
      assign_fields(c.shortcut, shortcut);
      f.rf = std::max(main.rf, shortcut.rf);
      f.jump = std::max(main.jump, shortcut.jump);
      f.flat = main.flat || shortcut.flat;
    } else if (!c.arithmetic.empty()) {  // conv, pooling, global pooling: along the height
      f.rf += (c.arithmetic[0].kernel - 1) * f.jump;
      f.jump *= c.arithmetic[0].stride;
    } else if (c.kind == nn::LayerKind::Linear && !f.flat) {
      // A dense layer sees its whole (flattened) input: the field grows to the last map.
      f.rf += (f.spatial_h - 1) * f.jump;
      f.flat = true;
    }
    if (c.output.rank() == 3) f.spatial_h = c.output[1];
    c.receptive_field = f.rf;
    c.jump = f.jump;
  }
}

// Rows arrive with a block's layers before the block: they wait one level down, in `pending`,
// until the block's own row takes them into its branches.
using Pending = std::vector<std::vector<std::pair<std::string, LayerCost>>>;
void adopt_branches(Pending& pending, size_t depth, LayerCost& block) {
  if (pending.size() <= depth + 1) return;
  for (auto& [branch, row] : pending[depth + 1]) {
    block.macs += row.macs;
    block.activation_bytes += row.activation_bytes;
    (branch == "shortcut" ? block.shortcut : block.layers).push_back(std::move(row));
  }
  pending[depth + 1].clear();
}

// Max: the gradient goes to the saved argmax (one index per output); average: spread over the
// window.
void add_pool_costs(const nn::Pool2d& pool, bool max, const tensor::Shape& in, int64_t m, int64_t n,
                    LayerCost& c) {
  const auto k = pool.kernel_size(), s = pool.stride(), p = pool.padding();
  c.arithmetic = {{in[1], k[0], s[0], p[0]}, {in[2], k[1], s[1], p[1]}};
  const int64_t window = checked_mul(n, k[0] * k[1], "flops");
  c.forward = {window, checked_mul(m + n, 4, "bytes")};
  c.backward = {max ? n : window, checked_mul(m + (max ? 2 * n : n), 4, "bytes")};
}

// The forward and backward traffic of an elementwise-shaped layer: `fwd` and `bwd` FLOPs per
// element of the larger of input and output; bytes: the forward reads the input and writes the
// output, the backward reads the output's gradient and `bwd_reads` more tensors of the input's
// size, and writes the input's gradient.
void elementwise_traffic(LayerCost& c, int64_t m, int64_t n, int64_t fwd, int64_t bwd,
                         int64_t bwd_reads) {
  const int64_t e = std::max(m, n);
  c.forward = {checked_mul(e, fwd, "flops"), checked_mul(m + n, 4, "bytes")};
  c.backward = {checked_mul(e, bwd, "flops"), checked_mul(n + m * (1 + bwd_reads), 4, "bytes")};
}

// One layer's row (a block's without its branches' sums: adopt_branches adds them).
LayerCost layer_cost(const LayerSite& site, nn::Module& layer, const tensor::Shape& in,
                     const tensor::Shape& out, int64_t batch) {
  LayerCost c;
  c.index = site.index;
  c.name = site.name;
  c.depth = site.depth;
  c.kind = layer.kind();
  c.type = layer.type();
  c.description = layer.describe();
  c.input = in;
  c.output = out;
  c.params = layer.parameter_count();
  c.activation_bytes = checked_mul(checked_mul(out.numel(), batch, "activation"), 4, "bytes");
  const int64_t m = checked_mul(in.numel(), batch, "elements");
  const int64_t n = checked_mul(out.numel(), batch, "elements");
  switch (layer.kind()) {
    case nn::LayerKind::Conv2d:
      add_conv_costs(nn::as<nn::Conv2d>(layer), in, out, batch, c);
      break;
    case nn::LayerKind::MaxPool2d:
    case nn::LayerKind::AvgPool2d:
      add_pool_costs(nn::as<nn::Pool2d>(layer), layer.kind() == nn::LayerKind::MaxPool2d, in, m, n,
                     c);
      break;
    case nn::LayerKind::GlobalAvgPool2d:  // a pool whose window and stride are the whole map
      c.arithmetic = {{in[1], in[1], in[1], 0}, {in[2], in[2], in[2], 0}};
      elementwise_traffic(c, m, n, 1, 1, 0);
      break;
    case nn::LayerKind::Linear: {
      c.macs = checked_mul(checked_mul(in[0], out[0], "macs"), batch, "macs");
      const int64_t weight = checked_mul(in[0], out[0], "params") + out[0];
      c.forward = {2 * c.macs, checked_mul(m + n + weight, 4, "bytes")};
      c.backward = {4 * c.macs, checked_mul(2 * (m + n + weight), 4, "bytes")};
      break;
    }
    case nn::LayerKind::BatchNorm2d:
    case nn::LayerKind::BatchNorm1d:
    case nn::LayerKind::LayerNorm:  // the same passes, over rows of an example for statistics
    case nn::LayerKind::GroupNorm:
      elementwise_traffic(c, m, n, 6, 8, 1);
      break;
    case nn::LayerKind::Relu:
    case nn::LayerKind::Dropout:
      elementwise_traffic(c, m, n, 1, 1, 1);
      break;
    case nn::LayerKind::Tanh:
    case nn::LayerKind::Sigmoid:
      elementwise_traffic(c, m, n, 1, 3, 1);
      break;
    case nn::LayerKind::Residual:
      // The add: two tensors of the output's size in, one out. Its backward hands the same
      // gradient to both branches (no work); the sum where they meet again is the engine's
      // accumulation into the block's input gradient, in the time of the branches' first layers.
      c.forward = {n, checked_mul(3 * n, 4, "bytes")};
      break;
    case nn::LayerKind::Sequential:
    case nn::LayerKind::Flatten:
    case nn::LayerKind::Custom:
      break;  // no work of its own counted, no window
  }
  return c;
}

void add_rows(const std::vector<LayerCost>& rows, std::vector<const LayerCost*>& out) {
  for (const auto& r : rows) {
    out.push_back(&r);
    add_rows(r.layers, out);
    add_rows(r.shortcut, out);
  }
}
}  // namespace

std::vector<const LayerCost*> flatten_rows(const std::vector<LayerCost>& rows) {
  std::vector<const LayerCost*> out;
  add_rows(rows, out);
  return out;
}

int64_t CostTable::total_params() const {
  int64_t sum = 0;
  for (const auto& l : layers) sum += l.params;
  return sum;
}
int64_t CostTable::total_macs() const {
  int64_t sum = 0;
  for (const auto& l : layers) sum += l.macs;
  return sum;
}
int64_t CostTable::total_activation_bytes() const {
  int64_t sum = 0;
  for (const auto& l : layers) sum += l.activation_bytes;
  return sum;
}

CostTable cost_table(const ModelSpec& spec, int64_t batch) {
  TCNN_CHECK(batch >= 1 && batch <= (1 << 20), "cost table: expected a batch of 1..1048576, got ",
             batch);
  CostTable table;
  table.name = spec.name;
  table.batch = batch;
  table.input = input_shape(spec);

  Pending pending(1);
  auto observe = [&](const LayerSite& site, nn::Module& layer, const tensor::Shape& in,
                     const tensor::Shape& out) {
    LayerCost c = layer_cost(site, layer, in, out, batch);
    if (layer.kind() == nn::LayerKind::Residual) {
      adopt_branches(pending, static_cast<size_t>(site.depth), c);
    }
    const auto depth = static_cast<size_t>(site.depth);
    if (pending.size() <= depth) pending.resize(depth + 1);
    pending[depth].emplace_back(site.branch, std::move(c));
  };

  try {
    build_model(spec, observe, Weights::None);
  } catch (const core::Error& e) {
    table.error = e.what();
  }
  for (auto& [branch, row] : pending[0]) table.layers.push_back(std::move(row));
  FieldState field;
  field.spatial_h = spec.input.height;
  assign_fields(table.layers, field);
  return table;
}

}  // namespace tinycnn::model
