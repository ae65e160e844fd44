// Per-layer step timing: forward is timed layer by layer; backward through the engine's
// per-node timer, with nodes mapped back to the layer whose forward created them.
#include "profile/step_profile.hpp"

#include <algorithm>
#include <unordered_map>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/timer.hpp"
#include "kernels/conv2d.hpp"
#include "model/builder.hpp"
#include "model/trace.hpp"
#include "ops/conv2d.hpp"
#include "ops/cross_entropy.hpp"
#include "profile/conv_profile.hpp"
#include "train/data_parallel.hpp"

namespace tinycnn::profile {

namespace {
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace

StepMemory step_memory(const model::ModelSpec& spec, int64_t batch, int64_t optimizer_state_bytes,
                       int threads) {
  const model::ModelTrace trace = model::trace_model(spec, batch);
  TCNN_CHECK(trace.error.empty(), trace.error);
  StepMemory m;
  m.batch = batch;
  m.params = 4 * trace.total_params();
  m.grads = m.params;
  m.optimizer_state = optimizer_state_bytes;
  m.activations = trace.total_activation_bytes() + 4 * batch * trace.input.numel();
  for (const auto& conv : model_convs(spec, batch)) {
    const kernels::ConvWorkspace ws = kernels::conv2d_workspace_bytes(conv.algo, conv.g, threads);
    m.workspace = std::max({m.workspace, ws.forward, ws.backward});
    const int64_t columns = kernels::conv2d_columns_numel(conv.g);
    if (conv.algo == kernels::ConvAlgo::Im2col && columns <= ops::kMaxSavedColumnFloats) {
      m.saved_columns += 4 * columns;
    }
  }
  return m;
}

namespace {
// Per-repeat timings of one step, in milliseconds.
struct StepSamples {
  std::vector<std::vector<double>> fwd, bwd;  // [layer][repeat]
  std::vector<double> loss, optimizer;
};

// One step, layer by layer: forward timed per layer, backward through the engine's per-node
// timer (each node charged to the layer whose forward made it, the rest to the loss).
void time_one_step(nn::Sequential& model, optim::Optimizer& optimizer, const tensor::Tensor& images,
                   const std::vector<int32_t>& labels, StepSamples* record) {
  const size_t n_layers = model.size();
  optimizer.zero_grad();
  std::unordered_map<const autograd::Node*, size_t> owner;
  autograd::Variable x(images);
  std::vector<double> layer_fwd(n_layers, 0.0), layer_bwd(n_layers, 0.0);
  for (size_t i = 0; i < n_layers; ++i) {
    core::Stopwatch clock;
    x = model.layer(i).forward(x);
    layer_fwd[i] = clock.seconds();
    if (x.defined() && x.grad_fn()) owner.emplace(x.grad_fn().get(), i);
  }
  core::Stopwatch loss_clock;
  autograd::Variable loss = ops::softmax_cross_entropy(x, labels);
  double loss_time = loss_clock.seconds();
  autograd::backward(loss, [&](const autograd::Node& node, double seconds) {
    auto it = owner.find(&node);
    if (it != owner.end()) {
      layer_bwd[it->second] += seconds;
    } else {
      loss_time += seconds;
    }
  });
  core::Stopwatch opt_clock;
  optimizer.step();
  if (!record) return;
  record->optimizer.push_back(opt_clock.seconds() * 1e3);
  record->loss.push_back(loss_time * 1e3);
  for (size_t i = 0; i < n_layers; ++i) {
    record->fwd[i].push_back(layer_fwd[i] * 1e3);
    record->bwd[i].push_back(layer_bwd[i] * 1e3);
  }
}

// The medians per layer, their GFLOP/s and shares of the step.
void summarise(const StepSamples& samples, const nn::Sequential& model,
               const model::ModelTrace& trace, StepProfile& p) {
  p.loss_ms = median(samples.loss);
  p.optimizer_ms = median(samples.optimizer);
  p.step_ms = p.loss_ms + p.optimizer_ms;
  for (size_t i = 0; i < model.size(); ++i) {
    LayerTiming t;
    t.index = i;
    t.type = model.layer(i).type();
    t.description = model.layer(i).describe();
    t.forward_ms = median(samples.fwd[i]);
    t.backward_ms = median(samples.bwd[i]);
    // Backward of conv / linear costs two forward passes (dinput and dweight), one for the
    // first layer, whose input needs no gradient.
    const double flops_fwd = 2.0 * static_cast<double>(trace.layers[i].macs);
    const double flops = flops_fwd * (i == 0 ? 2.0 : 3.0);
    const double ms = t.forward_ms + t.backward_ms;
    t.gflops = ms > 0 ? flops / (ms * 1e6) : 0.0;
    p.step_ms += ms;
    p.layers.push_back(std::move(t));
  }
  for (auto& t : p.layers)
    t.percent = p.step_ms > 0 ? 100.0 * (t.forward_ms + t.backward_ms) / p.step_ms : 0;
}
}  // namespace

StepProfile profile_step(const model::ModelSpec& spec, nn::Sequential& model,
                         optim::Optimizer& optimizer, int64_t batch, int warmup, int repeats,
                         int threads) {
  const tensor::Shape in = model::input_shape(spec);
  const model::ModelTrace trace = model::trace_model(spec, batch);
  TCNN_CHECK(trace.error.empty(), trace.error);
  const int64_t classes = model.output_shape(in)[0];
  core::Rng rng(99);
  const tensor::Tensor images = tensor::Tensor::randn({batch, in[0], in[1], in[2]}, rng);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& l : labels) l = static_cast<int32_t>(rng.uniform_int(static_cast<uint64_t>(classes)));

  StepSamples samples{.fwd = std::vector<std::vector<double>>(model.size()),
                      .bwd = std::vector<std::vector<double>>(model.size()),
                      .loss = {},
                      .optimizer = {}};
  model.set_training(true);
  for (int r = 0; r < warmup + repeats; ++r) {
    time_one_step(model, optimizer, images, labels, r >= warmup ? &samples : nullptr);
  }
  StepProfile p;
  p.repeats = repeats;
  summarise(samples, model, trace, p);

  int64_t opt_state = 0;
  for (const auto& slot : optimizer.state())
    opt_state += static_cast<int64_t>(slot.tensor->nbytes());
  p.memory = step_memory(spec, batch, opt_state, threads);
  for (int64_t b : {1, 16, 64, 256, 1024})
    p.memory_by_batch.push_back(step_memory(spec, b, opt_state, threads));
  return p;
}

TimingStats time_train_step(const model::ModelSpec& spec, nn::Sequential& model,
                            optim::Optimizer& optimizer, int64_t batch, int warmup, int repeats,
                            int threads) {
  const tensor::Shape in = model::input_shape(spec);
  const int64_t classes = model.output_shape(in)[0];
  core::Rng rng(spec.training.seed);
  const tensor::Tensor images = tensor::Tensor::randn({batch, in[0], in[1], in[2]}, rng);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i % classes);
  train::DataParallelStep step(spec, model, threads);
  return time_it(
      [&] {
        step.run(images, labels);
        optimizer.step();
      },
      warmup, repeats);
}

}  // namespace tinycnn::profile
