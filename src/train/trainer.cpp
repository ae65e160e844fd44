// Training loop. Data order: one Rng seeded from training.seed (+1, apart from the weights'),
// whose state at the start of each epoch is what a checkpoint saves; resuming regenerates that
// epoch's permutation and skips the batches already done, so resume == uninterrupted.
#include "train/trainer.hpp"

#include <fcntl.h>
#include <omp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.hpp"
#include "core/timer.hpp"
#include "data/mnist.hpp"
#include "io/atomic_file.hpp"
#include "io/json_text.hpp"
#include "model/builder.hpp"
#include "train/checkpoint.hpp"
#include "train/data_parallel.hpp"
#include "train/evaluate.hpp"
#include "train/schedule.hpp"

namespace tinycnn::train {

namespace {
void shuffle(std::vector<int64_t>& order, core::Rng& rng) {
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.uniform_int(i)]);
}

// A process killed while replacing a file atomically (checkpoint, curves, metrics on resume)
// leaves "<file>.tmp-<pid>" behind; the file itself is intact (the rename never happened).
// The out dir is tinycnn's own, so such leftovers are cleared at the next start.
void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto mark = name.rfind(".tmp-");
    if (mark == std::string::npos || mark + 5 == name.size() ||
        name.find_first_not_of("0123456789", mark + 5) != std::string::npos) {
      continue;
    }
    std::filesystem::remove(entry.path(), ec);
    spdlog::debug("removed the stale temporary file {}", entry.path().string());
  }
}

// One write() per line with O_APPEND: a process killed mid-run never leaves half a line.
void append_metrics(const std::string& path, const EpochMetrics& m) {
  const nlohmann::ordered_json line = {
      {"epoch", m.epoch},           {"train_loss", m.train_loss},
      {"train_accuracy", m.train_accuracy}, {"test_loss", m.test_loss},
      {"test_accuracy", m.test_accuracy},   {"epoch_seconds", m.epoch_seconds},
      {"eval_seconds", m.eval_seconds},     {"images_per_second", m.images_per_second},
      {"lr", m.lr}};
  const std::string text = line.dump() + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  TCNN_CHECK_RUNTIME(fd >= 0, path, ": cannot open for appending");
  const ssize_t written = ::write(fd, text.data(), text.size());
  ::close(fd);
  TCNN_CHECK_RUNTIME(written == static_cast<ssize_t>(text.size()), path, ": cannot append metrics");
}

// On resume, keep only the epochs the checkpoint holds: a run stopped after writing an epoch's
// metrics but before its checkpoint will run that epoch again and append it again.
void keep_metrics_up_to(const std::string& path, int64_t epoch) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j;
    try {
      j = io::parse_json_text(line, path, core::ErrorKind::Runtime);
    } catch (const core::Error&) {
      continue;  // a damaged line is dropped with the epochs past the checkpoint
    }
    if (j.is_object() && j.contains("epoch") && j["epoch"].is_number_integer() &&
        j["epoch"].get<int64_t>() <= epoch) {
      kept += line + "\n";
    }
  }
  io::write_file_atomically(path, kept);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.flush();
  TCNN_CHECK_RUNTIME(out.good(), path, ": cannot write");
}

}  // namespace

TrainResult run_training(const model::ModelSpec& spec, const RunOptions& run,
                         const TrainCallbacks& callbacks) {
  const model::TrainingSpec& t = spec.training;
  TCNN_CHECK(run.resume.empty() || run.init.empty(), "--resume and --init exclude each other");

  auto model = model::build_model(spec);
  const int64_t num_classes = model->output_shape(model::input_shape(spec))[0];
  auto optimizer = make_optimizer(t.optimizer, model->parameters());

  std::error_code ec;
  std::filesystem::create_directories(run.out_dir, ec);
  TCNN_CHECK_RUNTIME(std::filesystem::is_directory(run.out_dir), run.out_dir,
                     ": cannot create the output directory",
                     ec ? ": " + ec.message() : std::string());
  const std::string checkpoint = run.out_dir + "/checkpoint.safetensors";
  const std::string metrics = run.out_dir + "/metrics.jsonl";
  remove_stale_temporaries(run.out_dir);

  core::Rng data_rng(t.seed + 1);
  TrainState state;
  if (!run.resume.empty()) {
    state = load_checkpoint(run.resume, *model, optimizer.get());
    data_rng.set_state(state.rng);
    spdlog::info("resuming from {} at epoch {}, step {}", run.resume, state.epoch, state.step);
  } else {
    if (!run.init.empty()) {
      load_checkpoint(run.init, *model, nullptr);
      spdlog::info("initialised weights from {}", run.init);
    }
    state.rng = data_rng.state();
  }

  const data::MnistDataset train_set =
      load_split(spec, t.data_dir, "train", num_classes, run.limit_train);
  const data::MnistDataset test_set = load_split(spec, t.data_dir, "t10k", num_classes, run.limit_test);
  const Normalization norm{t.normalize_mean, t.normalize_std};
  const int64_t batches = (train_set.size() + t.batch_size - 1) / t.batch_size;

  if (run.resume.empty()) {
    if (std::filesystem::exists(checkpoint)) spdlog::warn("replacing {}", checkpoint);
    write_text(metrics, "");
  } else {
    keep_metrics_up_to(metrics, state.epoch);
  }
  write_text(run.out_dir + "/config.json", run.config_json + "\n");

  TrainResult result;
  result.checkpoint = checkpoint;
  result.completed_epochs = state.epoch;
  std::vector<int64_t> order(static_cast<size_t>(train_set.size()));
  std::vector<int64_t> batch_indices;
  DataParallelStep parallel_step(spec, *model, omp_get_max_threads());

  for (int64_t epoch = state.epoch; epoch < t.epochs; ++epoch) {
    const double lr = learning_rate(t.lr_schedule, t.optimizer.lr, epoch, t.epochs);
    optimizer->set_lr(lr);
    const core::Rng::State epoch_rng = data_rng.state();
    std::iota(order.begin(), order.end(), 0);
    if (t.shuffle) shuffle(order, data_rng);
    const int64_t first_batch = std::max<int64_t>(0, state.step - epoch * batches);

    core::Stopwatch epoch_clock;
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    model->set_training(true);
    for (int64_t b = first_batch; b < batches; ++b) {
      const int64_t begin = b * t.batch_size;
      const int64_t end = std::min(begin + t.batch_size, train_set.size());
      batch_indices.assign(order.begin() + begin, order.begin() + end);
      const StepResult step = parallel_step.run(train_set, batch_indices, norm.mean, norm.stddev);
      const int64_t n = end - begin;
      const double loss_value = step.loss_sum / static_cast<double>(n);
      TCNN_CHECK_RUNTIME(std::isfinite(loss_value), "training diverged at epoch ", epoch + 1,
                         ", step ", state.step + 1, " (batch ", b + 1, " of ", batches,
                         "): loss is ", loss_value, "; the last good checkpoint is kept; lower "
                         "the learning rate (now ", lr, ")");
      optimizer->step();
      ++state.step;
      loss_sum += step.loss_sum;
      correct += step.correct;
      seen += n;

      if (callbacks.on_step) {
        const double elapsed = epoch_clock.seconds();
        const double ips = elapsed > 0 ? static_cast<double>(seen) / elapsed : 0.0;
        const double remaining = static_cast<double>((batches - b - 1) * t.batch_size +
                                                     (t.epochs - epoch - 1) * train_set.size());
        callbacks.on_step({epoch + 1, t.epochs, b + 1, batches, loss_sum / seen,
                           static_cast<double>(correct) / seen, ips, ips > 0 ? remaining / ips : 0});
      }
      if (callbacks.stop && callbacks.stop->load() && b + 1 < batches) {
        TCNN_CHECK_RUNTIME(all_finite(*model), "training diverged at epoch ", epoch + 1,
                           ": non-finite weights; the last good checkpoint is kept");
        save_checkpoint(checkpoint, *model, *optimizer,
                        {.epoch = epoch, .step = state.step, .rng = epoch_rng}, run.config_json);
        spdlog::warn("interrupted at epoch {}, step {}: saved {}", epoch + 1, state.step,
                     checkpoint);
        result.interrupted = true;
        return result;
      }
    }
    const double epoch_seconds = epoch_clock.seconds();

    core::Stopwatch eval_clock;
    const EvalResult eval = evaluate(parallel_step.models(), test_set, norm, num_classes);
    const EpochMetrics m{.epoch = epoch + 1,
                         .train_loss = seen ? loss_sum / seen : 0.0,
                         .train_accuracy = seen ? static_cast<double>(correct) / seen : 0.0,
                         .test_loss = eval.loss,
                         .test_accuracy = eval.accuracy,
                         .epoch_seconds = epoch_seconds,
                         .eval_seconds = eval_clock.seconds(),
                         .images_per_second = epoch_seconds > 0 ? seen / epoch_seconds : 0.0,
                         .lr = lr};
    TCNN_CHECK_RUNTIME(all_finite(*model) && std::isfinite(eval.loss), "training diverged at epoch ",
                       epoch + 1, ", step ", state.step,
                       ": non-finite weights or test loss; the last good checkpoint is kept");
    state.epoch = epoch + 1;
    append_metrics(metrics, m);  // first: a resume drops it again if the checkpoint never came
    save_checkpoint(checkpoint, *model, *optimizer,
                    {.epoch = state.epoch, .step = state.step, .rng = data_rng.state()},
                    run.config_json);
    result.epochs.push_back(m);
    result.completed_epochs = state.epoch;
    result.final_test_accuracy = m.test_accuracy;
    result.best_test_accuracy = std::max(result.best_test_accuracy, m.test_accuracy);
    if (callbacks.on_epoch) callbacks.on_epoch(m);
    if (callbacks.stop && callbacks.stop->load()) {
      result.interrupted = state.epoch < t.epochs;
      break;
    }
  }
  return result;
}

}  // namespace tinycnn::train
