// Training loop. Data order: one Rng seeded from training.seed (+1, apart from the weights'),
// whose state at the start of each epoch is what a checkpoint saves; resuming regenerates that
// epoch's permutation and skips the batches already done, so resume == uninterrupted.
#include "train/trainer.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "core/error.hpp"
#include "core/timer.hpp"
#include "data/dataset.hpp"
#include "dist/group.hpp"
#include "io/atomic_file.hpp"
#include "kernels/team.hpp"
#include "model/builder.hpp"
#include "model/trace.hpp"
#include "train/checkpoint.hpp"
#include "train/curves.hpp"
#include "train/data_parallel.hpp"
#include "train/dataset.hpp"
#include "train/diagnostics.hpp"
#include "train/evaluate.hpp"
#include "train/memory_check.hpp"
#include "train/optimizer_config.hpp"
#include "train/run_dir.hpp"

namespace tinycnn::train {

namespace {
constexpr int64_t kMaxEpochs = 100000;  // training.epochs' bound

void shuffle(std::vector<int64_t>& order, core::Rng& rng) {
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.uniform_int(i)]);
}

// The files of a run in its out dir.
struct RunFiles {
  std::string dir, checkpoint, metrics, config, curves;
};

RunFiles run_files(const std::string& dir) {
  return {.dir = dir,
          .checkpoint = dir + "/checkpoint.safetensors",
          .metrics = dir + "/metrics.jsonl",
          .config = dir + "/config.json",
          .curves = dir + "/curves.svg"};
}

// The state to start from: a resumed checkpoint's whole state, or the weights of an init
// checkpoint (or the model as built) with the data-order RNG fresh.
TrainState start_state(const RunOptions& run, nn::Sequential& model, optim::Optimizer& optimizer,
                       core::Rng& data_rng) {
  TrainState state;
  if (!run.resume.empty()) {
    state = load_checkpoint(run.resume, model, &optimizer);
    data_rng.set_state(state.rng);
    spdlog::info("resuming from {} at epoch {}, step {}", run.resume, state.epoch, state.step);
    return state;
  }
  if (!run.init.empty()) {
    load_checkpoint(run.init, model, nullptr);
    spdlog::info("initialised weights from {}", run.init);
  }
  state.rng = data_rng.state();
  return state;
}

// A fresh run starts metrics.jsonl anew; a resumed one keeps the epochs its checkpoint holds
// (a run stopped after writing an epoch's metrics but before its checkpoint runs it again).
void start_logs(const RunFiles& files, const RunOptions& run, const TrainState& state) {
  if (run.resume.empty()) {
    if (std::filesystem::exists(files.checkpoint))
      spdlog::warn("replacing the run in {}", files.dir);
    io::write_file_atomically(files.metrics, "");
  } else {
    keep_metrics_up_to(files.metrics, state.epoch);
  }
  io::write_file_atomically(files.config, run.config_json + "\n");
}

// What a run's epochs share.
struct Loop {
  const model::TrainingSpec& t;
  const RunOptions& run;
  const TrainCallbacks& callbacks;
  const RunFiles& files;
  nn::Sequential& model;
  optim::Optimizer& optimizer;
  DataParallelStep& step;
  const data::Dataset& train_set;
  const data::Dataset& test_set;
  const data::Normalization& norm;
  const data::Augment& augment;
  int64_t num_classes;
  int64_t batches;
  dist::Group& group;  // the ranks training together (one: this process alone)
  std::vector<autograd::NamedVariable>& params;  // the model's, in a fixed order
  std::vector<float>& gradients;                 // the fused buffer summed across ranks
  std::vector<double>& allreduce_seconds;        // per step, this epoch
};

bool writer(const Loop& loop) { return loop.group.rank() == 0; }

// A failure every rank sees the same: one error line, from rank 0.
void check_together(dist::Group& group, bool ok, const std::function<std::string()>& message) {
  if (!ok) dist::fail_together(group, core::ErrorKind::Runtime, message());
}

// Across ranks: this rank's slice-mean gradients, weighted by its share of the batch, summed
// with the others' in one fused buffer; then the batch's loss, correct count and stop requests.
StepResult reduce_step(const Loop& loop, const StepResult& mine, int64_t n, int64_t slice,
                       bool& stop) {
  const core::Stopwatch clock;
  const float share = static_cast<float>(slice) / static_cast<float>(n);
  std::vector<float>& buffer = loop.gradients;
  size_t at = 0;
  for (const auto& p : loop.params) {
    const tensor::Tensor& g = p.var.grad();
    buffer.resize(std::max(buffer.size(), at + static_cast<size_t>(g.numel())));
    for (int64_t i = 0; i < g.numel(); ++i) buffer[at + static_cast<size_t>(i)] = g[i] * share;
    at += static_cast<size_t>(g.numel());
  }
  loop.group.sum(std::span(buffer.data(), at));
  at = 0;
  for (auto& p : loop.params) {
    tensor::Tensor& g = p.var.grad();
    for (int64_t i = 0; i < g.numel(); ++i) g[i] = buffer[at + static_cast<size_t>(i)];
    at += static_cast<size_t>(g.numel());
  }
  std::vector<double> stats{mine.loss_sum, static_cast<double>(mine.correct), stop ? 1.0 : 0.0};
  loop.group.sum(stats);
  stop = stats[2] > 0;
  loop.allreduce_seconds.push_back(clock.seconds());
  return {.loss_sum = stats[0], .correct = static_cast<int64_t>(stats[1])};
}

// FNV-1a over every weight and running statistic: equal on every rank, or the ranks diverged.
uint64_t weights_hash(nn::Sequential& model) {
  uint64_t h = 1469598103934665603ull;
  const auto add = [&](const tensor::Tensor& t) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(t.data());
    for (size_t i = 0; i < static_cast<size_t>(t.numel()) * sizeof(float); ++i) {
      h = (h ^ bytes[i]) * 1099511628211ull;
    }
  };
  for (auto& p : model.parameters()) add(p.var.data());
  nn::walk(model, [&](const std::string&, nn::Module& layer, int) {
    for (const auto& b : layer.buffers()) {
      if (b.f32) add(*b.f32);
    }
  });
  return h;
}

struct EpochTotals {
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  double seconds = 0;
  bool interrupted = false;                  // stopped mid-epoch; the state is saved
  std::vector<LayerDiagnostic> diagnostics;  // training.diagnostics: at the epoch's last step
};

TrainState saved_state(const Loop& loop, int64_t epoch, int64_t step, const core::Rng::State& rng) {
  return {.epoch = epoch,
          .step = step,
          .rng = rng,
          .batch_size = loop.t.batch_size,
          .train_examples = loop.train_set.size(),
          .classes = loop.train_set.classes()};
}

// A resumed state must continue the same sequence of batches: the same batch size and
// training set as the run that saved it, and a step inside its epoch.
void check_resume_position(const std::string& path, const TrainState& s, const Loop& loop) {
  TCNN_CHECK_RUNTIME(s.batch_size == 0 || s.batch_size == loop.t.batch_size, path,
                     ": saved by a run with batch_size ", s.batch_size, "; resuming with ",
                     loop.t.batch_size, " would not continue it (expected the same batch size)");
  TCNN_CHECK_RUNTIME(s.train_examples == 0 || s.train_examples == loop.train_set.size(), path,
                     ": saved by a run on ", s.train_examples, " training examples; resuming on ",
                     loop.train_set.size(),
                     " would not continue it (expected the same training set and limit)");
  TCNN_CHECK_RUNTIME(s.epoch <= kMaxEpochs, path, ": metadata epoch ", s.epoch,
                     ": expected at most ", kMaxEpochs);
  const int64_t first = s.epoch * loop.batches;
  TCNN_CHECK_RUNTIME(s.step >= first && s.step < first + loop.batches, path, ": metadata step ",
                     s.step, " does not lie in epoch ", s.epoch + 1, " (steps ", first, "..",
                     first + loop.batches - 1, " at ", loop.batches,
                     " batches per epoch): expected the checkpoint of this training run");
}

// Batches per epoch: the last one smaller, or dropped with training.drop_last.
int64_t batches_per_epoch(const model::TrainingSpec& t, int64_t examples) {
  if (!t.drop_last) return (examples + t.batch_size - 1) / t.batch_size;
  TCNN_CHECK(examples >= t.batch_size, "training.drop_last: the ", examples,
             " training examples make no full batch of ", t.batch_size);
  return examples / t.batch_size;
}

// Batch norm needs more than one value per channel in a training step: refused before any
// step runs when the smallest batch of an epoch would give it one, naming the layer.
void check_batch_norm_batches(const model::ModelSpec& spec, int64_t examples) {
  const model::TrainingSpec& t = spec.training;
  const int64_t remainder = examples % t.batch_size;
  const int64_t smallest =
      std::min(examples, t.drop_last || remainder == 0 ? t.batch_size : remainder);
  const model::ModelTrace trace = model::trace_model(spec, 1);
  for (const model::LayerCost* row : model::flatten_rows(trace.layers)) {
    if (row->type != "batchnorm2d" && row->type != "batchnorm1d") continue;
    const int64_t per_example = row->input.rank() == 3 ? row->input[1] * row->input[2] : 1;
    TCNN_CHECK(smallest * per_example > 1, row->name, " (", row->type, "): ",
               smallest == t.batch_size || smallest == examples
                   ? "every batch holds one example"
                   : "the last batch of each epoch holds one example (" + std::to_string(examples) +
                         " training examples, batch_size " + std::to_string(t.batch_size) + ")",
               " of a ", row->input.to_string(),
               " input, and batch norm needs more than one value per channel in training; set "
               "training.drop_last to true or change batch_size");
  }
}

bool stop_requested(const TrainCallbacks& callbacks) {
  return callbacks.stop && callbacks.stop->load();
}

void report_step(const Loop& loop, const EpochTotals& e, int64_t epoch, int64_t b,
                 const core::Stopwatch& clock) {
  if (!loop.callbacks.on_step) return;
  const double elapsed = clock.seconds();
  const double ips = elapsed > 0 ? static_cast<double>(e.seen) / elapsed : 0.0;
  const double remaining = static_cast<double>((loop.batches - b - 1) * loop.t.batch_size +
                                               (loop.t.epochs - epoch - 1) * loop.train_set.size());
  const auto seen = static_cast<double>(e.seen);
  loop.callbacks.on_step({epoch + 1, loop.t.epochs, b + 1, loop.batches, e.loss_sum / seen,
                          static_cast<double>(e.correct) / seen, ips,
                          ips > 0 ? remaining / ips : 0});
}

// The training pass of 0-based `epoch` from the batch `state.step` points at; on a stop
// request the state is saved with `epoch_rng` (the RNG state this epoch's order came from).
EpochTotals train_epoch(const Loop& loop, int64_t epoch, double lr,
                        const std::vector<int64_t>& order, const core::Rng::State& epoch_rng,
                        TrainState& state) {
  const model::TrainingSpec& t = loop.t;
  const int64_t first_batch = std::max<int64_t>(0, state.step - epoch * loop.batches);
  std::vector<int64_t> batch_indices;
  EpochTotals e;
  core::Stopwatch clock;
  loop.model.set_training(true);
  for (int64_t b = first_batch; b < loop.batches; ++b) {
    const int64_t begin = b * t.batch_size;
    const int64_t end = std::min(begin + t.batch_size, loop.train_set.size());
    const int64_t n = end - begin;
    // This rank's contiguous slice of the batch (all of it alone).
    const int64_t ranks = loop.group.size(), rank = loop.group.rank();
    const int64_t lo = begin + n * rank / ranks, hi = begin + n * (rank + 1) / ranks;
    batch_indices.assign(order.begin() + lo, order.begin() + hi);
    StepResult step = loop.step.run(loop.train_set, batch_indices, loop.norm, loop.augment, epoch);
    bool stop = stop_requested(loop.callbacks);
    if (ranks > 1) step = reduce_step(loop, step, n, hi - lo, stop);
    const double loss_value = step.loss_sum / static_cast<double>(n);
    check_together(loop.group, std::isfinite(loss_value), [&] {
      return core::detail::concat("training diverged at epoch ", epoch + 1, ", step ",
                                  state.step + 1, " (batch ", b + 1, " of ", loop.batches,
                                  "): loss is ", loss_value,
                                  "; the last good checkpoint is kept; lower the learning rate "
                                  "(now ",
                                  lr, ")");
    });
    const bool probe = t.diagnostics && b + 1 == loop.batches;
    GradientFlowProbe flow;
    if (probe) flow.before_step(loop.model);
    loop.optimizer.step();
    if (probe) {
      tensor::Tensor images;
      std::vector<int32_t> labels;
      loop.train_set.gather(batch_indices, loop.norm, loop.augment, epoch, images, labels);
      e.diagnostics = flow.after_step(loop.model, images);
    }
    ++state.step;
    e.loss_sum += step.loss_sum;
    e.correct += step.correct;
    e.seen += n;
    report_step(loop, e, epoch, b, clock);
    if (stop && b + 1 < loop.batches) {  // every rank decides the same (the flags were summed)
      check_together(loop.group, all_finite(loop.model), [&] {
        return core::detail::concat("training diverged at epoch ", epoch + 1,
                                    ": non-finite weights; the last good checkpoint is kept");
      });
      if (writer(loop)) {
        save_checkpoint(loop.files.checkpoint, loop.model, loop.optimizer,
                        saved_state(loop, epoch, state.step, epoch_rng), loop.run.config_json);
      }
      spdlog::warn("interrupted at epoch {}, step {}: saved {}", epoch + 1, state.step,
                   loop.files.checkpoint);
      e.interrupted = true;
      break;
    }
  }
  e.seconds = clock.seconds();
  return e;
}

// The test pass after an epoch, then its metrics line, checkpoint and curves.
EpochMetrics finish_epoch(const Loop& loop, int64_t epoch, double lr, const EpochTotals& e,
                          const core::Rng& data_rng, TrainState& state) {
  core::Stopwatch eval_clock;
  const EvalResult eval =
      evaluate(loop.step.models(), loop.test_set, loop.norm, loop.num_classes, 100, &loop.group);
  if (loop.group.size() > 1) {
    const uint64_t hash = weights_hash(loop.model);
    const uint64_t low = loop.group.min(hash), high = loop.group.max(hash);
    check_together(loop.group, low == high, [&] {
      return core::detail::concat("after epoch ", epoch + 1, " the ranks' weights differ (hashes ",
                                  low, " .. ", high,
                                  "): they no longer train one model; the last good checkpoint "
                                  "is kept");
    });
    double total = 0;
    for (const double t : loop.allreduce_seconds) total += t;
    spdlog::info("epoch {}: {} ranks, allreduce {:.2f} ms per step ({} bytes of gradients)",
                 epoch + 1, loop.group.size(),
                 loop.allreduce_seconds.empty()
                     ? 0.0
                     : 1e3 * total / static_cast<double>(loop.allreduce_seconds.size()),
                 4 * loop.model.parameter_count());
    loop.allreduce_seconds.clear();
  }
  const EpochMetrics m{
      .epoch = epoch + 1,
      .train_loss = e.seen ? e.loss_sum / static_cast<double>(e.seen) : 0.0,
      .train_accuracy = e.seen ? static_cast<double>(e.correct) / static_cast<double>(e.seen) : 0.0,
      .test_loss = eval.loss,
      .test_accuracy = eval.accuracy,
      .epoch_seconds = e.seconds,
      .eval_seconds = eval_clock.seconds(),
      .images_per_second = e.seconds > 0 ? static_cast<double>(e.seen) / e.seconds : 0.0,
      .lr = lr,
      .diagnostics = e.diagnostics};
  for (const std::string& line : gradient_flow_warnings(m.diagnostics)) {
    spdlog::warn("epoch {}: {}", epoch + 1, line);
  }
  check_together(loop.group, all_finite(loop.model) && std::isfinite(eval.loss), [&] {
    return core::detail::concat("training diverged at epoch ", epoch + 1, ", step ", state.step,
                                ": non-finite weights or test loss; the last good checkpoint is "
                                "kept");
  });
  state.epoch = epoch + 1;
  if (!writer(loop)) return m;  // rank 0 writes the run's files
  // The checkpoint is the commit point: the epoch's metrics line goes first and is taken back
  // if the checkpoint cannot be written (a killed process's line is dropped on resume).
  const MetricsMark mark = append_metrics(loop.files.metrics, m);
  try {
    save_checkpoint(loop.files.checkpoint, loop.model, loop.optimizer,
                    saved_state(loop, state.epoch, state.step, data_rng.state()),
                    loop.run.config_json);
  } catch (...) {
    roll_back_metrics(loop.files.metrics, mark);
    throw;
  }
  // From the whole metrics.jsonl, so a resumed run's chart covers every epoch.
  io::write_file_atomically(loop.files.curves, render_curves({read_run(loop.files.metrics)}));
  return m;
}

// A resume of a run that has all its epochs already: its test accuracy, nothing written.
TrainResult evaluate_only(const Loop& loop, const TrainState& state, const std::string& path) {
  spdlog::info("nothing to do: {} holds epoch {} of {}; evaluating it", path, state.epoch,
               loop.t.epochs);
  const EvalResult eval =
      evaluate(loop.step.models(), loop.test_set, loop.norm, loop.num_classes, 100, &loop.group);
  check_together(loop.group, std::isfinite(eval.loss), [&] {
    return core::detail::concat(path, ": the test loss is ", eval.loss,
                                ": expected a finite loss (the weights overflow)");
  });
  TrainResult result;
  result.checkpoint = path;
  result.completed_epochs = state.epoch;
  result.final_test_accuracy = eval.accuracy;
  result.best_test_accuracy = eval.accuracy;
  return result;
}
// Everything a run needs before its first step; made on every rank before they agree.
struct Setup {
  std::unique_ptr<nn::Sequential> model;
  int64_t num_classes = 0;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<RunDir> out_dir;  // rank 0's: the one writer holds the out dir
  RunFiles files;
  core::Rng data_rng{0};
  TrainState state;
  data::Dataset train_set, test_set;
  int64_t batches = 0;
};

std::unique_ptr<Setup> prepare(const model::ModelSpec& spec, const RunOptions& run,
                               dist::Group& group) {
  const model::TrainingSpec& t = spec.training;
  TCNN_CHECK(run.resume.empty() || run.init.empty(),
             "training: expected a checkpoint to resume from or one to take initial weights "
             "from, not both");
  check_memory(estimate_memory(spec, Purpose::Training, t.batch_size,
                               split_bytes(t.dataset, t.data_dir, Split::Train) +
                                   split_bytes(t.dataset, t.data_dir, Split::Test)),
               "training " + spec.name);
  auto s = std::make_unique<Setup>();
  s->model = model::build_model(spec);
  s->num_classes = s->model->output_shape(model::input_shape(spec))[0];
  s->optimizer = make_optimizer(t.optimizer, s->model->parameters());
  if (group.rank() == 0) {
    s->out_dir = std::make_unique<RunDir>(run.out_dir);  // held until the run returns
    if (run.resume.empty()) s->out_dir->require_fresh(run.replace);
  }
  s->files = run_files(s->out_dir ? s->out_dir->dir() : run.out_dir);
  s->data_rng = core::Rng(t.seed + 1);
  s->state = start_state(run, *s->model, *s->optimizer, s->data_rng);
  s->train_set = load_split(spec, t.data_dir, Split::Train, s->num_classes, run.limit_train);
  s->test_set = load_split(spec, t.data_dir, Split::Test, s->num_classes, run.limit_test);
  s->batches = batches_per_epoch(t, s->train_set.size());
  check_batch_norm_batches(spec, s->train_set.size());
  const int64_t remainder = s->train_set.size() % t.batch_size;
  const int64_t smallest = t.drop_last || remainder == 0 ? t.batch_size : remainder;
  TCNN_CHECK(std::min(smallest, s->train_set.size()) >= group.size(),
             "training.batch_size: ", group.size(),
             " ranks need at least one example each in every batch, but a batch ", "holds ",
             std::min(smallest, s->train_set.size()));
  return s;
}
}  // namespace

namespace {
// From the resume position to the last epoch (or an interruption); on the held team's thread 0.
TrainResult run_epochs(const Loop& loop, Setup& setup, TrainResult result) {
  const model::TrainingSpec& t = loop.t;
  const RunOptions& run = loop.run;
  const TrainCallbacks& callbacks = loop.callbacks;
  dist::Group& group = loop.group;
  Setup* s = &setup;
  TrainState& state = s->state;
  {
    std::exception_ptr position;
    try {
      if (!run.resume.empty()) check_resume_position(run.resume, state, loop);
    } catch (...) {
      position = std::current_exception();
    }
    dist::agree(group, position);
  }
  if (state.epoch >= t.epochs) return evaluate_only(loop, state, run.resume);
  if (writer(loop)) start_logs(s->files, run, state);
  std::vector<int64_t> order(static_cast<size_t>(s->train_set.size()));
  core::Rng& data_rng = s->data_rng;

  for (int64_t epoch = state.epoch; epoch < t.epochs; ++epoch) {
    const double lr = learning_rate(t.lr_schedule, t.optimizer.lr, epoch, t.epochs);
    s->optimizer->set_lr(lr);
    const core::Rng::State epoch_rng = data_rng.state();
    std::iota(order.begin(), order.end(), 0);
    if (t.shuffle) shuffle(order, data_rng);

    const EpochTotals totals = train_epoch(loop, epoch, lr, order, epoch_rng, state);
    if (totals.interrupted) {
      result.interrupted = true;
      return result;
    }
    const EpochMetrics m = finish_epoch(loop, epoch, lr, totals, data_rng, state);
    result.epochs.push_back(m);
    result.completed_epochs = state.epoch;
    result.final_test_accuracy = m.test_accuracy;
    result.best_test_accuracy = std::max(result.best_test_accuracy, m.test_accuracy);
    if (callbacks.on_epoch) callbacks.on_epoch(m);
    bool stop = stop_requested(callbacks);
    if (group.size() > 1) stop = group.max(stop ? 1 : 0) != 0;  // the ranks decide together
    if (stop) {
      result.interrupted = state.epoch < t.epochs;
      break;
    }
  }
  return result;
}
}  // namespace

TrainResult run_training(const model::ModelSpec& spec, const RunOptions& run,
                         const TrainCallbacks& callbacks) {
  const model::TrainingSpec& t = spec.training;
  dist::Group& group = dist::world();
  // Every rank validates and loads before any collective; a failure is reported once.
  std::unique_ptr<Setup> s;
  std::exception_ptr failure;
  try {
    s = prepare(spec, run, group);
  } catch (...) {
    failure = std::current_exception();
  }
  dist::agree(group, failure);

  const data::Normalization norm = normalization(t);
  const data::Augment augment{
      .crop_padding = t.augment_crop_padding, .horizontal_flip = t.augment_flip, .seed = t.seed};
  TrainResult result;
  result.checkpoint = s->files.checkpoint;
  result.completed_epochs = s->state.epoch;
  DataParallelStep parallel_step(spec, *s->model, omp_get_max_threads());
  if (group.size() > 1) {
    parallel_step.reduce_across([&group](std::span<double> v) { group.sum(v); });
  }
  std::vector<autograd::NamedVariable> params = s->model->parameters();
  std::vector<float> gradients;
  std::vector<double> allreduce_seconds;
  const Loop loop{.t = t,
                  .run = run,
                  .callbacks = callbacks,
                  .files = s->files,
                  .model = *s->model,
                  .optimizer = *s->optimizer,
                  .step = parallel_step,
                  .train_set = s->train_set,
                  .test_set = s->test_set,
                  .norm = norm,
                  .augment = augment,
                  .num_classes = s->num_classes,
                  .batches = s->batches,
                  .group = group,
                  .params = params,
                  .gradients = gradients,
                  .allreduce_seconds = allreduce_seconds};
  // One team of threads for the whole run: its threads wait for each step by the policy of
  // kernels/team.hpp instead of OpenMP's.
  kernels::Team::hold(parallel_step.threads(),
                      [&] { result = run_epochs(loop, *s, std::move(result)); });
  return result;
}

}  // namespace tinycnn::train
