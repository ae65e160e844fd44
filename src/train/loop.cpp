// The epoch loop. Data order: the data-order RNG's state at the start of each epoch is what a
// checkpoint saves; resuming regenerates that epoch's permutation and skips the batches already
// done, so resume == uninterrupted.
#include "train/loop.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/timer.hpp"
#include "kernels/precision.hpp"
#include "runtime/contention.hpp"
#include "train/diagnostics.hpp"
#include "train/log.hpp"
#include "train/optimizer_config.hpp"

namespace tinycnn::train {

namespace {
constexpr int64_t kMaxEpochs = 100000;  // training.epochs' bound

struct EpochTotals {
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  double seconds = 0;
  runtime::Contention contention;                 // of the training pass (busy: shared cores)
  bool interrupted = false;                       // stopped mid-epoch; the state is saved
  std::vector<run::LayerDiagnostic> diagnostics;  // training.diagnostics: at the last step
};

// The state to save: the position (`epoch`, `step`, `rng`), the run's settings, and the best
// epoch so far from `run`.
run::TrainState saved_state(const Loop& loop, const run::TrainState& run, int64_t epoch,
                            int64_t step, const core::Rng::State& rng) {
  return {.epoch = epoch,
          .step = step,
          .rng = rng,
          .batch_size = loop.t.batch_size,
          .train_examples = loop.train_set.size(),
          .drop_last = loop.t.drop_last,
          .shuffle = loop.t.shuffle,
          .precision = std::string(kernels::to_string(loop.t.precision)),
          .classes = loop.train_set.classes(),
          .best_epoch = run.best_epoch,
          .best_monitor = run.best_monitor,
          .best_value = run.best_value,
          .best_test_accuracy = run.best_test_accuracy};
}

// Whether epoch `m` is the best so far by the monitor — better than the best by more than
// min_delta, or the first (of the run, or since the monitor changed) — and if so, it becomes
// the state's best.
bool take_if_best(const model::EarlyStoppingSpec& e, const run::EpochMetrics& m,
                  run::TrainState& state) {
  const bool loss = e.monitor == "test_loss";
  const double value = loss ? m.test_loss : m.test_accuracy;
  const bool first = state.best_epoch == 0 || state.best_monitor != e.monitor;
  if (!first &&
      !(loss ? value < state.best_value - e.min_delta : value > state.best_value + e.min_delta)) {
    return false;
  }
  state.best_epoch = m.epoch;
  state.best_monitor = e.monitor;
  state.best_value = value;
  state.best_test_accuracy = m.test_accuracy;
  return true;
}

// Epochs finished since the best one, when training.early_stopping's patience has run out.
std::optional<int64_t> patience_ran_out(const model::EarlyStoppingSpec& e,
                                        const run::TrainState& state) {
  if (!e.patience || state.best_epoch == 0 || state.best_monitor != e.monitor) return std::nullopt;
  const int64_t since = state.epoch - state.best_epoch;
  if (since == 0 || since < *e.patience) return std::nullopt;
  return since;
}

std::string early_stop_text(const Loop& loop, const run::TrainState& state, int64_t since) {
  const model::EarlyStoppingSpec& e = loop.t.early_stopping;
  return core::concat("early stopping: ", e.monitor, " has not improved by more than ", e.min_delta,
                      " for ", since, " epoch", since == 1 ? "" : "s", " (best ",
                      fixed(state.best_value, 4), " at epoch ", state.best_epoch,
                      "): stopping after epoch ", state.epoch, " of ", loop.t.epochs,
                      "; the best model is ", loop.files.best);
}

void save(const Loop& loop, const std::string& path, const run::TrainState& state) {
  run::save_checkpoint(path, loop.model, loop.optimizer, state, loop.options.config_json);
}

// "true" / "false" for messages.
const char* yes_no(bool b) { return b ? "true" : "false"; }

// A resumed run must see its examples under the labels it was trained with: the class names
// (image folders and CIFAR-10 name them) in the same order.
void check_resume_labels(const std::string& path, const run::TrainState& s, const Loop& loop) {
  const std::vector<std::string>& now = loop.train_set.classes();
  TCNN_CHECK_RUNTIME(s.classes.empty() || now.empty() || s.classes == now, path,
                     ": saved by a run whose classes were ", core::join(s.classes),
                     "; the data now names ", core::join(now),
                     ": resuming would relabel the examples (expected the same class names in "
                     "the same order)");
}

// A resumed state must continue the same sequence of batches: the same batch size, training
// set, drop_last and shuffle as the run that saved it, and a step inside its epoch.
void check_resume_position(const std::string& path, const run::TrainState& s, const Loop& loop) {
  check_resume_labels(path, s, loop);
  TCNN_CHECK_RUNTIME(!s.drop_last || *s.drop_last == loop.t.drop_last, path,
                     ": saved by a run with training.drop_last ",
                     yes_no(s.drop_last.value_or(false)), "; resuming with ",
                     yes_no(loop.t.drop_last), " would not continue it (expected the same)");
  TCNN_CHECK_RUNTIME(!s.shuffle || *s.shuffle == loop.t.shuffle, path,
                     ": saved by a run with training.shuffle ", yes_no(s.shuffle.value_or(false)),
                     "; resuming with ", yes_no(loop.t.shuffle),
                     " would not continue it (expected the same)");
  const std::string_view precision = kernels::to_string(loop.t.precision);
  TCNN_CHECK_RUNTIME(s.precision.empty() || s.precision == precision, path,
                     ": saved by a run with training.precision ", s.precision, "; resuming with ",
                     precision,
                     " would not continue it (expected the same; --init starts a fresh run from "
                     "its weights in any precision)");
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

bool stop_requested(const TrainCallbacks& callbacks) {
  return callbacks.stop && callbacks.stop->load();
}

void report_step(const Loop& loop, const EpochTotals& e, int64_t epoch, int64_t b,
                 const core::Stopwatch& clock) {
  if (!loop.callbacks.on_step) return;
  const double elapsed = clock.seconds();
  const double ips = elapsed > 0 ? static_cast<double>(e.seen) / elapsed : 0.0;
  const int64_t epoch_examples =
      loop.t.drop_last ? loop.batches * loop.t.batch_size : loop.train_set.size();
  const auto remaining =
      static_cast<double>(std::max<int64_t>(epoch_examples - (b + 1) * loop.t.batch_size, 0));
  const auto seen = static_cast<double>(e.seen);
  loop.callbacks.on_step({epoch + 1, loop.t.epochs, b + 1, loop.batches, e.loss_sum / seen,
                          static_cast<double>(e.correct) / seen, ips, ips > 0 ? remaining / ips : 0,
                          ips > 0 ? static_cast<double>(epoch_examples) / ips : 0});
}

// training.diagnostics at an epoch's last step: the optimizer's step, observed.
void step_optimizer(const Loop& loop, std::span<const int64_t> batch, int64_t epoch, bool probe,
                    EpochTotals& e) {
  if (!probe) {
    loop.optimizer.step();
    return;
  }
  GradientFlowProbe flow;
  flow.before_step(loop.model);
  loop.optimizer.step();
  tensor::Tensor images;
  std::vector<int32_t> labels;
  loop.train_set.gather(batch, loop.norm, loop.augment, epoch, images, labels);
  e.diagnostics = flow.after_step(loop.model, images);
}

// What a failure leaves in the out dir, for its message.
std::string kept(const Loop& loop) {
  return loop.files_started ? "the last good checkpoint is kept"
                            : "no epoch of this run was saved (the output directory is as it was)";
}

// A fresh run's files are started when it first has something to keep (an epoch, or the
// checkpoint of an interruption): until then a run it replaces (--force) is left whole, and a
// run that fails in its first epoch leaves the directory as it was.
void start_files(const Loop& loop, int64_t epoch) {
  if (loop.files_started || !loop.step.writes()) return;
  run::start_run(loop.files, !loop.options.resume.empty(), epoch, loop.options.config_json);
  loop.files_started = true;
}

// On a stop request mid-epoch: the state saved with `epoch_rng` (the RNG state this epoch's
// order came from).
void save_interrupted(const Loop& loop, int64_t epoch, const run::TrainState& state,
                      const core::Rng::State& epoch_rng) {
  loop.step.require(run::all_finite(loop.model), [&] {
    return core::concat("training diverged at epoch ", epoch + 1, ": non-finite weights; ",
                        kept(loop));
  });
  if (loop.step.writes()) {
    start_files(loop, epoch);
    save(loop, loop.files.checkpoint, saved_state(loop, state, epoch, state.step, epoch_rng));
  }
  log_warn(core::concat("interrupted at epoch ", epoch + 1, ", step ", state.step, ": saved ",
                        loop.files.checkpoint));
}

// The training pass of 0-based `epoch` from the batch `state.step` points at.
EpochTotals train_epoch(const Loop& loop, int64_t epoch, double lr,
                        const std::vector<int64_t>& order, const core::Rng::State& epoch_rng,
                        run::TrainState& state) {
  const model::TrainingSpec& t = loop.t;
  EpochTotals e;
  core::Stopwatch clock;
  const runtime::ContentionWatch watch(loop.step.threads());
  loop.model.set_training(true);
  for (int64_t b = std::max<int64_t>(0, state.step - epoch * loop.batches); b < loop.batches; ++b) {
    const int64_t begin = b * t.batch_size;
    const int64_t end = std::min(begin + t.batch_size, loop.train_set.size());
    const std::span batch(order.data() + begin, static_cast<size_t>(end - begin));
    const StepResult step = loop.step.run(loop.train_set, batch, loop.norm, loop.augment, epoch,
                                          [&] { return stop_requested(loop.callbacks); });
    const double loss_value = step.loss_sum / static_cast<double>(batch.size());
    loop.step.require(std::isfinite(loss_value), [&] {
      return core::concat("training diverged at epoch ", epoch + 1, ", step ", state.step + 1,
                          " (batch ", b + 1, " of ", loop.batches, "): loss is ", loss_value, "; ",
                          kept(loop), "; lower the learning rate (now ", lr, ")");
    });
    step_optimizer(loop, batch, epoch, t.diagnostics && b + 1 == loop.batches, e);
    ++state.step;
    e.loss_sum += step.loss_sum;
    e.correct += step.correct;
    e.seen += end - begin;
    report_step(loop, e, epoch, b, clock);
    if (step.stop && b + 1 < loop.batches) {  // every process decides the same (the step agreed)
      save_interrupted(loop, epoch, state, epoch_rng);
      e.interrupted = true;
      break;
    }
  }
  e.seconds = clock.seconds();
  e.contention = watch.stop();
  return e;
}

run::EpochMetrics epoch_metrics(int64_t epoch, double lr, const EpochTotals& e,
                                const EvalResult& eval, double eval_seconds) {
  const auto seen = static_cast<double>(e.seen);
  return {.epoch = epoch + 1,
          .train_loss = e.seen ? e.loss_sum / seen : 0.0,
          .train_accuracy = e.seen ? static_cast<double>(e.correct) / seen : 0.0,
          .test_loss = eval.loss,
          .test_accuracy = eval.accuracy,
          .epoch_seconds = e.seconds,
          .eval_seconds = eval_seconds,
          .images_per_second = e.seconds > 0 ? seen / e.seconds : 0.0,
          .lr = lr,
          .runqueue_wait_share = e.contention.known ? e.contention.wait_share() : 0.0,
          .diagnostics = e.diagnostics};
}

// The test pass after an epoch, then the epoch committed to the run's files.
run::EpochMetrics finish_epoch(const Loop& loop, int64_t epoch, double lr, const EpochTotals& e,
                               const core::Rng& data_rng, run::TrainState& state) {
  core::Stopwatch eval_clock;
  const EvalResult eval = loop.step.evaluate(loop.test_set, loop.norm, loop.num_classes);
  loop.step.check_one_model(epoch, kept(loop));
  run::EpochMetrics m = epoch_metrics(epoch, lr, e, eval, eval_clock.seconds());
  for (const std::string& line : gradient_flow_warnings(m.diagnostics)) {
    log_warn(core::concat("epoch ", epoch + 1, ": ", line));
  }
  loop.step.require(run::all_finite(loop.model) && std::isfinite(eval.loss), [&] {
    return core::concat("training diverged at epoch ", epoch + 1, ", step ", state.step,
                        ": non-finite weights or test loss; ", kept(loop));
  });
  state.epoch = epoch + 1;
  const bool best = take_if_best(loop.t.early_stopping, m, state);
  if (!loop.step.writes()) return m;
  start_files(loop, epoch);
  run::commit_epoch(loop.files, m, best, [&](const std::string& path) {
    save(loop, path, saved_state(loop, state, state.epoch, state.step, data_rng.state()));
  });
  return m;
}

// A resume of a run that has all its epochs already, or that stopped early and would again:
// its test accuracy, nothing written.
TrainResult evaluate_only(const Loop& loop, const run::TrainState& state) {
  const std::string& path = loop.options.resume;
  const std::optional<int64_t> since = patience_ran_out(loop.t.early_stopping, state);
  log_info(core::concat(
      "nothing to do: ", path, " holds epoch ", state.epoch, " of ", loop.t.epochs,
      since ? core::concat(" and ", loop.t.early_stopping.monitor, " has not improved for ", *since,
                           " epochs (training.early_stopping)")
            : "",
      "; evaluating it"));
  const EvalResult eval = loop.step.evaluate(loop.test_set, loop.norm, loop.num_classes);
  loop.step.require(std::isfinite(eval.loss), [&] {
    return core::concat(path, ": the test loss is ", eval.loss,
                        ": expected a finite loss (the weights overflow)");
  });
  TrainResult result;
  result.checkpoint = path;
  result.best_checkpoint = loop.files.best;
  result.completed_epochs = state.epoch;
  result.final_test_accuracy = eval.accuracy;
  result.best_epoch = state.best_epoch > 0 ? state.best_epoch : state.epoch;
  result.best_test_accuracy = state.best_epoch > 0 ? state.best_test_accuracy : eval.accuracy;
  result.stopped_early = since.has_value();
  return result;
}

// The resume position checked on every process; a failure is reported once.
void agree_on_position(const Loop& loop, const run::TrainState& state) {
  std::exception_ptr failure;
  try {
    if (!loop.options.resume.empty()) check_resume_position(loop.options.resume, state, loop);
  } catch (...) {
    failure = std::current_exception();
  }
  loop.step.agree(failure);
}
}  // namespace

TrainResult run_epochs(const Loop& loop, run::TrainState& state, core::Rng& data_rng) {
  const model::TrainingSpec& t = loop.t;
  agree_on_position(loop, state);
  if (state.epoch >= t.epochs || patience_ran_out(t.early_stopping, state)) {
    return evaluate_only(loop, state);
  }
  if (loop.step.writes()) {
    if (!loop.options.resume.empty()) start_files(loop, state.epoch);
    if (loop.options.resume.empty() && std::filesystem::exists(loop.files.checkpoint)) {
      log_warn(core::concat("replacing the run in ", loop.files.dir,
                            " once this run's first epoch is saved"));
    }
  }
  TrainResult result;
  result.checkpoint = loop.files.checkpoint;
  result.best_checkpoint = loop.files.best;
  result.completed_epochs = state.epoch;
  std::vector<int64_t> order(static_cast<size_t>(loop.train_set.size()));
  for (int64_t epoch = state.epoch; epoch < t.epochs; ++epoch) {
    const double lr = learning_rate(t.lr_schedule, t.optimizer.lr, epoch, t.epochs);
    loop.optimizer.set_lr(lr);
    const core::Rng::State epoch_rng = data_rng.state();
    std::iota(order.begin(), order.end(), 0);
    if (t.shuffle) data_rng.shuffle(order);
    const EpochTotals totals = train_epoch(loop, epoch, lr, order, epoch_rng, state);
    if (totals.interrupted) {
      result.interrupted = true;
      return result;
    }
    const run::EpochMetrics m = finish_epoch(loop, epoch, lr, totals, data_rng, state);
    result.epochs.push_back(m);
    result.completed_epochs = state.epoch;
    result.final_test_accuracy = m.test_accuracy;
    result.best_epoch = state.best_epoch;
    result.best_test_accuracy = state.best_test_accuracy;
    if (loop.callbacks.on_epoch) loop.callbacks.on_epoch(m);
    if (loop.step.any(stop_requested(loop.callbacks))) {  // the processes decide together
      result.interrupted = state.epoch < t.epochs;
      break;
    }
    // The same metrics on every process: they all decide the same.
    if (const auto since = patience_ran_out(t.early_stopping, state);
        since && state.epoch < t.epochs) {
      log_info(early_stop_text(loop, state, *since));
      result.stopped_early = true;
      break;
    }
  }
  return result;
}

}  // namespace tinycnn::train
