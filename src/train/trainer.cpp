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
#include "io/atomic_file.hpp"
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

RunFiles run_files(const RunDir& dir) {
  return {.dir = dir.dir(),
          .checkpoint = dir.file("checkpoint.safetensors"),
          .metrics = dir.file("metrics.jsonl"),
          .config = dir.file("config.json"),
          .curves = dir.file("curves.svg")};
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
};

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
    batch_indices.assign(order.begin() + begin, order.begin() + end);
    const StepResult step =
        loop.step.run(loop.train_set, batch_indices, loop.norm, loop.augment, epoch);
    const int64_t n = end - begin;
    const double loss_value = step.loss_sum / static_cast<double>(n);
    TCNN_CHECK_RUNTIME(std::isfinite(loss_value), "training diverged at epoch ", epoch + 1,
                       ", step ", state.step + 1, " (batch ", b + 1, " of ", loop.batches,
                       "): loss is ", loss_value,
                       "; the last good checkpoint is kept; lower "
                       "the learning rate (now ",
                       lr, ")");
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
    if (stop_requested(loop.callbacks) && b + 1 < loop.batches) {
      TCNN_CHECK_RUNTIME(all_finite(loop.model), "training diverged at epoch ", epoch + 1,
                         ": non-finite weights; the last good checkpoint is kept");
      save_checkpoint(loop.files.checkpoint, loop.model, loop.optimizer,
                      saved_state(loop, epoch, state.step, epoch_rng), loop.run.config_json);
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
  const EvalResult eval = evaluate(loop.step.models(), loop.test_set, loop.norm, loop.num_classes);
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
  TCNN_CHECK_RUNTIME(all_finite(loop.model) && std::isfinite(eval.loss),
                     "training diverged at epoch ", epoch + 1, ", step ", state.step,
                     ": non-finite weights or test loss; the last good checkpoint is kept");
  state.epoch = epoch + 1;
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
  const EvalResult eval = evaluate(loop.step.models(), loop.test_set, loop.norm, loop.num_classes);
  TCNN_CHECK_RUNTIME(std::isfinite(eval.loss), path, ": the test loss is ", eval.loss,
                     ": expected a finite loss (the weights overflow)");
  TrainResult result;
  result.checkpoint = path;
  result.completed_epochs = state.epoch;
  result.final_test_accuracy = eval.accuracy;
  result.best_test_accuracy = eval.accuracy;
  return result;
}
}  // namespace

TrainResult run_training(const model::ModelSpec& spec, const RunOptions& run,
                         const TrainCallbacks& callbacks) {
  const model::TrainingSpec& t = spec.training;
  TCNN_CHECK(run.resume.empty() || run.init.empty(),
             "training: expected a checkpoint to resume from or one to take initial weights "
             "from, not both");

  check_memory(estimate_memory(spec, Purpose::Training, t.batch_size,
                               split_bytes(t.dataset, t.data_dir, Split::Train) +
                                   split_bytes(t.dataset, t.data_dir, Split::Test)),
               "training " + spec.name);
  auto model = model::build_model(spec);
  const int64_t num_classes = model->output_shape(model::input_shape(spec))[0];
  auto optimizer = make_optimizer(t.optimizer, model->parameters());
  const RunDir out_dir(run.out_dir);  // held until the run returns
  if (run.resume.empty()) out_dir.require_fresh(run.replace);
  const RunFiles files = run_files(out_dir);

  core::Rng data_rng(t.seed + 1);
  TrainState state = start_state(run, *model, *optimizer, data_rng);

  const data::Dataset train_set =
      load_split(spec, t.data_dir, Split::Train, num_classes, run.limit_train);
  const data::Dataset test_set =
      load_split(spec, t.data_dir, Split::Test, num_classes, run.limit_test);
  const data::Normalization norm = normalization(t);
  const data::Augment augment{
      .crop_padding = t.augment_crop_padding, .horizontal_flip = t.augment_flip, .seed = t.seed};

  TrainResult result;
  result.checkpoint = files.checkpoint;
  result.completed_epochs = state.epoch;
  DataParallelStep parallel_step(spec, *model, omp_get_max_threads());
  const Loop loop{.t = t,
                  .run = run,
                  .callbacks = callbacks,
                  .files = files,
                  .model = *model,
                  .optimizer = *optimizer,
                  .step = parallel_step,
                  .train_set = train_set,
                  .test_set = test_set,
                  .norm = norm,
                  .augment = augment,
                  .num_classes = num_classes,
                  .batches = batches_per_epoch(t, train_set.size())};
  check_batch_norm_batches(spec, train_set.size());
  if (!run.resume.empty()) check_resume_position(run.resume, state, loop);
  if (state.epoch >= t.epochs) return evaluate_only(loop, state, run.resume);
  start_logs(files, run, state);
  std::vector<int64_t> order(static_cast<size_t>(train_set.size()));

  for (int64_t epoch = state.epoch; epoch < t.epochs; ++epoch) {
    const double lr = learning_rate(t.lr_schedule, t.optimizer.lr, epoch, t.epochs);
    optimizer->set_lr(lr);
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
    if (stop_requested(callbacks)) {
      result.interrupted = state.epoch < t.epochs;
      break;
    }
  }
  return result;
}

}  // namespace tinycnn::train
