// Per-layer step timing: forward is timed layer by layer (into residual blocks); backward
// through the engine's per-node timer, with nodes mapped back to the layer whose forward created
// them.
#include "profile/step_profile.hpp"

#include <algorithm>
#include <unordered_map>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/timer.hpp"
#include "kernels/conv2d.hpp"
#include "model/builder.hpp"
#include "model/cost_table.hpp"
#include "nn/observe.hpp"
#include "ops/conv2d.hpp"
#include "ops/cross_entropy.hpp"
#include "profile/conv_profile.hpp"
#include "profile/timing.hpp"
#include "train/data_parallel.hpp"

namespace tinycnn::profile {

namespace {
// Per-repeat timings of one step, in milliseconds, per row of the model's tree (pre-order: a
// block's row, then its layers', then its shortcut's).
struct StepSamples {
  std::vector<std::vector<double>> fwd, bwd;  // [row][repeat]
  std::vector<double> loss, optimizer;
};

// One step's clock: per row, forward and backward seconds; which row made which graph node.
struct RowClock {
  std::vector<double> fwd, bwd;
  std::vector<size_t> parent;  // kNoParent for the model's own layers
  std::unordered_map<const autograd::Node*, size_t> owner;
  static constexpr size_t kNoParent = SIZE_MAX;
};

// One step, layer by layer: forward timed per row, backward through the engine's per-node
// timer (each node charged to the row whose forward made it, the rest to the loss); a block's
// times include its layers'.
void time_one_step(nn::Sequential& model, size_t rows, optim::Optimizer& optimizer,
                   const tensor::Tensor& images, const std::vector<int32_t>& labels,
                   StepSamples* record) {
  optimizer.zero_grad();
  RowClock clock{.fwd = std::vector<double>(rows, 0.0),
                 .bwd = std::vector<double>(rows, 0.0),
                 .parent = std::vector<size_t>(rows, RowClock::kNoParent),
                 .owner = {}};
  // Rows in the order the layers start (a block's row, then its layers'): the trace's order.
  size_t next = 0;
  std::vector<size_t> open;  // the rows of the blocks being run, innermost last
  std::vector<core::Stopwatch> started(rows);
  nn::ForwardHooks hooks;
  hooks.before = [&](const std::string&, nn::Module&) {
    TCNN_CHECK(next < rows, "profile: the model has more layers than its trace");
    clock.parent[next] = open.empty() ? RowClock::kNoParent : open.back();
    open.push_back(next);
    started[next].reset();
    ++next;
  };
  hooks.after = [&](const std::string&, nn::Module&, const autograd::Variable&,
                    const autograd::Variable& y) {
    const size_t row = open.back();
    open.pop_back();
    clock.fwd[row] = started[row].seconds();
    if (y.defined() && y.grad_fn()) clock.owner.emplace(y.grad_fn().get(), row);
  };
  const autograd::Variable x = nn::forward_observed(model, autograd::Variable(images), hooks);
  core::Stopwatch loss_clock;
  autograd::Variable loss = ops::softmax_cross_entropy(x, labels);
  double loss_time = loss_clock.seconds();
  autograd::backward(loss, [&](const autograd::Node& node, double seconds) {
    auto it = clock.owner.find(&node);
    if (it != clock.owner.end()) {
      clock.bwd[it->second] += seconds;
    } else {
      loss_time += seconds;
    }
  });
  for (size_t r = rows; r-- > 0;) {  // children come after their block: fold them in
    if (clock.parent[r] != RowClock::kNoParent) clock.bwd[clock.parent[r]] += clock.bwd[r];
  }
  core::Stopwatch opt_clock;
  optimizer.step();
  if (!record) return;
  record->optimizer.push_back(opt_clock.seconds() * 1e3);
  record->loss.push_back(loss_time * 1e3);
  for (size_t r = 0; r < rows; ++r) {
    record->fwd[r].push_back(clock.fwd[r] * 1e3);
    record->bwd[r].push_back(clock.bwd[r] * 1e3);
  }
}

// The medians per row, their GFLOP/s and shares of the step.
void summarise(const StepSamples& samples, const std::vector<const model::LayerCost*>& rows,
               StepProfile& p) {
  p.loss_ms = median(samples.loss);
  p.optimizer_ms = median(samples.optimizer);
  p.step_ms = p.loss_ms + p.optimizer_ms;
  for (size_t r = 0; r < rows.size(); ++r) {
    const model::LayerCost& c = *rows[r];
    LayerTiming t;
    t.index = c.index;
    t.name = c.name;
    t.depth = c.depth;
    t.type = c.type;
    if (c.plan) t.plan_summary = c.plan->summary();
    t.description = c.description;
    t.forward_ms = median(samples.fwd[r]);
    t.backward_ms = median(samples.bwd[r]);
    // Backward of conv / linear costs two forward passes (dinput and dweight), one for the
    // first layer, whose input needs no gradient.
    const double flops_fwd = 2.0 * static_cast<double>(c.macs);
    const double flops = flops_fwd * (r == 0 ? 2.0 : 3.0);
    const double ms = t.forward_ms + t.backward_ms;
    t.gflops = ms > 0 ? flops / (ms * 1e6) : 0.0;
    if (c.depth == 0) p.step_ms += ms;
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
  const model::CostTable trace = model::cost_table(spec, batch);
  TCNN_CHECK(trace.error.empty(), trace.error);
  const int64_t classes = model.output_shape(in)[0];
  core::Rng rng(99);
  const tensor::Tensor images = tensor::Tensor::randn({batch, in[0], in[1], in[2]}, rng);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& l : labels) l = static_cast<int32_t>(rng.uniform_int(static_cast<uint64_t>(classes)));

  const std::vector<const model::LayerCost*> rows = model::flatten_rows(trace.layers);
  StepSamples samples{.fwd = std::vector<std::vector<double>>(rows.size()),
                      .bwd = std::vector<std::vector<double>>(rows.size()),
                      .loss = {},
                      .optimizer = {}};
  model.set_training(true);
  for (int r = 0; r < warmup; ++r)
    time_one_step(model, rows.size(), optimizer, images, labels, nullptr);
  const runtime::ContentionWatch watch(threads);
  for (int r = 0; r < repeats; ++r) {
    time_one_step(model, rows.size(), optimizer, images, labels, &samples);
  }
  StepProfile p;
  p.contention = watch.stop();
  p.repeats = repeats;
  summarise(samples, rows, p);

  p.memory = train::estimate_memory(spec, train::Purpose::Training, batch, 0, threads);
  for (int64_t b : {1, 16, 64, 256, 1024})
    p.memory_by_batch.push_back(
        train::estimate_memory(spec, train::Purpose::Training, b, 0, threads));
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
      warmup, repeats, threads);
}

}  // namespace tinycnn::profile
