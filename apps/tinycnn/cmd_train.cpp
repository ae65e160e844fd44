// `tinycnn train CONFIG [options]`: resolves the config with the command-line overrides,
// runs the training loop with a progress display, and prints the summary (table or --json).
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cluster/group.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "core/sysinfo.hpp"
#include "core/timer.hpp"
#include "flags.hpp"
#include "format.hpp"
#include "json_out.hpp"
#include "kernels/conv2d.hpp"
#include "model/spec.hpp"
#include "run/run_dir.hpp"
#include "runtime/contention.hpp"
#include "train/time_left.hpp"
#include "train/trainer.hpp"

namespace tinycnn::cli {

namespace {
std::atomic<bool> g_stop_requested{false};

extern "C" void on_stop_signal(int) {
  g_stop_requested.store(true);
  // A second signal ends the process the default way.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
}

// The config with the command line's overrides written into its training section.
model::ModelSpec resolve(const TrainOptions& o) {
  return resolve_config(o.config, [&](model::Json& t) {
    apply_data_flags(t, o.dataset, o.data);
    if (o.epochs) t["epochs"] = number_flag("--epochs", *o.epochs);
    if (o.batch_size) t["batch_size"] = number_flag("--batch-size", *o.batch_size);
    if (o.seed) t["seed"] = number_flag("--seed", *o.seed);
    if (o.conv_algo) t["conv_algo"] = *o.conv_algo;
    if (o.precision) t["precision"] = *o.precision;
    if (o.early_stopping_patience) {
      if (!t.contains("early_stopping")) t["early_stopping"] = model::Json::object();
      t["early_stopping"]["patience"] =
          number_flag("--early-stopping-patience", *o.early_stopping_patience);
    }
    if (o.diagnostics) t["diagnostics"] = true;
    if (o.lr) {
      if (!t.contains("optimizer")) t["optimizer"] = model::Json::object();
      t["optimizer"]["lr"] = number_flag("--lr", *o.lr);
    }
  });
}

// The progress line on a terminal: the epoch's bar, its loss and accuracy so far, the step
// rate, and the time to go of the epoch's training pass and of the whole run.
class ProgressBar {
 public:
  void update(const train::StepProgress& p, const train::TimeLeft& left) {
    if (p.batch != p.batches && clock_.seconds() < 0.1) return;
    clock_.reset();
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * p.batch / p.batches);
    std::fprintf(stderr,
                 "\r\033[Kepoch %lld/%lld [%s%s] %lld/%lld loss %.4f acc %.2f%% %.0f img/s, "
                 "epoch %s left, run %s",
                 static_cast<long long>(p.epoch), static_cast<long long>(p.epochs),
                 std::string(static_cast<size_t>(filled), '=').c_str(),
                 std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(),
                 static_cast<long long>(p.batch), static_cast<long long>(p.batches), p.loss,
                 100.0 * p.accuracy, p.images_per_second,
                 train::clock_text(p.epoch_seconds_left).c_str(),
                 train::clock_text(left.run_during(p.epoch, p.epochs, p.epoch_seconds_left,
                                                   p.epoch_seconds_estimate))
                     .c_str());
    std::fflush(stderr);
  }
  void finish_line() { std::fprintf(stderr, "\r\033[K"); }

 private:
  core::Stopwatch clock_;
};

void print_summary(const train::TrainResult& r, const model::ModelSpec& spec, bool json) {
  double seconds = 0, images = 0;
  for (const auto& e : r.epochs) {
    seconds += e.epoch_seconds;
    images += e.images_per_second * e.epoch_seconds;
  }
  const double ips = seconds > 0 ? images / seconds : 0.0;
  if (json) {
    nlohmann::ordered_json doc = {{"model", spec.name},
                                  {"epochs", r.completed_epochs},
                                  {"final_test_accuracy", r.final_test_accuracy},
                                  {"best_test_accuracy", r.best_test_accuracy},
                                  {"best_epoch", r.best_epoch},
                                  {"best_checkpoint", r.best_checkpoint},
                                  {"stopped_early", r.stopped_early},
                                  {"epoch_seconds", nlohmann::json::array()},
                                  {"eval_seconds", nlohmann::json::array()},
                                  {"train_images_per_second", ips},
                                  {"peak_rss_bytes", core::peak_rss_bytes()},
                                  {"checkpoint", r.checkpoint},
                                  {"ranks", cluster::world().size()}};
    doc["runqueue_wait_share"] = nlohmann::json::array();
    for (const auto& e : r.epochs) {
      doc["epoch_seconds"].push_back(e.epoch_seconds);
      doc["eval_seconds"].push_back(e.eval_seconds);
      doc["runqueue_wait_share"].push_back(e.runqueue_wait_share);
    }
    if (r.interrupted) doc["interrupted"] = true;
    std::cout << doc.dump(-1, ' ', false, kReplaceInvalidUtf8) << "\n";
    return;
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "%s: %lld epochs%s, final test accuracy %.2f%% (best %.2f%% at epoch %lld), %.0f "
                "train images/s, peak RSS %s\ncheckpoint: %s\nbest: %s\n",
                spec.name.c_str(), static_cast<long long>(r.completed_epochs),
                r.stopped_early ? " (stopped early)" : "", 100.0 * r.final_test_accuracy,
                100.0 * r.best_test_accuracy, static_cast<long long>(r.best_epoch), ips,
                human_bytes(core::peak_rss_bytes()).c_str(), r.checkpoint.c_str(),
                r.best_checkpoint.c_str());
  std::cout << line;
}

// run_training, with the command-line way out of a refused out dir added to its message.
train::TrainResult train_or_explain(const model::ModelSpec& spec, const train::RunOptions& run,
                                    const train::TrainCallbacks& callbacks) {
  try {
    return train::run_training(spec, run, callbacks);
  } catch (const run::ExistingRun& e) {
    throw core::Error(e.kind(), std::string(e.what()) + " (--resume " + run.out_dir +
                                    "/checkpoint.safetensors continues it, --force replaces it)");
  }
}
}  // namespace

CLI::App* setup_train(CLI::App& app, TrainOptions& o) {
  CLI::App* cmd = app.add_subcommand("train", "Train a model config on its data set");
  cmd->add_option("config", o.config, "Model config (JSON)")->required();
  cmd->add_option("--data", o.data, "Directory with the data set's files (training.data_dir)");
  cmd->add_option("--dataset", o.dataset, "Data set kind (training.dataset)")
      ->check(CLI::IsMember(model::dataset_names()));
  cmd->add_option("--epochs", o.epochs, "Total epochs (training.epochs)")->check(kNumber);
  cmd->add_option("--batch-size", o.batch_size, "Mini-batch size (training.batch_size)")
      ->check(kNumber);
  cmd->add_option("--lr", o.lr, "Learning rate (training.optimizer.lr)")->check(kNumber);
  cmd->add_option("--seed", o.seed, "Seed for weights and data order (training.seed)")
      ->check(kNumber);
  cmd->add_option("--early-stopping-patience", o.early_stopping_patience,
                  "Stop after N epochs without improvement (training.early_stopping.patience)")
      ->check(kNumber);
  cmd->add_option("--conv-algo", o.conv_algo, "Convolution algorithm (training.conv_algo)")
      ->check(CLI::IsMember(kernels::conv_algo_names()));
  cmd->add_option("--precision", o.precision, "Products in float32 or bf16 (training.precision)");
  cmd->add_option("--out", o.out, "Output directory (default runs/<model name>)");
  auto* resume = cmd->add_option("--resume", o.resume, "Continue from a checkpoint (whole state)");
  cmd->add_option("--init", o.init, "Start from a checkpoint's weights (fresh run)")
      ->excludes(resume);
  cmd->add_option("--limit-train", o.limit_train, "Use only the first N training examples")
      ->check(kCount);
  cmd->add_option("--limit-test", o.limit_test, "Use only the first N test examples")
      ->check(kCount);
  cmd->add_option("--min-accuracy", o.min_accuracy,
                  "Exit 3 if the best model's test accuracy is below A")
      ->check(kFraction);
  cmd->add_flag("--force", o.force, "A fresh run may replace the run already in --out");
  cmd->add_flag("--diagnostics", o.diagnostics,
                "Gradient flow per layer in metrics.jsonl (training.diagnostics)");
  cmd->add_flag("--json", o.json, "Print one JSON summary on stdout");
  return cmd;
}

int run_train(const TrainOptions& o, bool quiet) {
  model::ModelSpec spec;
  std::exception_ptr bad_config;  // under mpirun every rank reads the config; one reports it
  try {
    spec = resolve(o);
  } catch (...) {
    bad_config = std::current_exception();
  }
  cluster::agree(cluster::world(), bad_config);
  train::RunOptions run{.out_dir = o.out.empty() ? "runs/" + spec.name : o.out,
                        .resume = o.resume,
                        .init = o.init,
                        .limit_train = o.limit_train,
                        .limit_test = o.limit_test,
                        .config_json = spec.source->dump(2),
                        .replace = o.force};

  const bool bar = !quiet && ::isatty(STDERR_FILENO) && cluster::world().rank() == 0;
  ProgressBar progress;
  train::TimeLeft left;
  train::TrainCallbacks callbacks;
  callbacks.stop = &g_stop_requested;
  if (bar) callbacks.on_step = [&](const train::StepProgress& p) { progress.update(p, left); };
  callbacks.on_epoch = [&](const run::EpochMetrics& m) {
    if (bar) progress.finish_line();
    left.epoch_done(m.epoch_seconds, m.eval_seconds);
    const int64_t epochs = spec.training.epochs;
    spdlog::info(
        "epoch {}/{}: train loss {:.4f} acc {:.2f}%, test loss {:.4f} acc {:.2f}%, "
        "{:.2f} s ({:.0f} img/s), eval {:.2f} s, lr {:g}{}",
        m.epoch, epochs, m.train_loss, 100 * m.train_accuracy, m.test_loss, 100 * m.test_accuracy,
        m.epoch_seconds, m.images_per_second, m.eval_seconds, m.lr,
        m.epoch < epochs ? ", " + train::clock_text(left.run_after(m.epoch, epochs)) + " left"
                         : std::string());
    if (m.runqueue_wait_share > runtime::kBusyWaitShare) {
      spdlog::warn(
          "epoch {}: the machine was busy: the threads waited {:.0f}% of the training pass for a "
          "core, so its img/s measure the sharing",
          m.epoch, 100 * m.runqueue_wait_share);
    }
  };
  g_stop_requested.store(false);
  ::signal(SIGINT, on_stop_signal);
  ::signal(SIGTERM, on_stop_signal);

  const train::TrainResult result = train_or_explain(spec, run, callbacks);
  if (bar) progress.finish_line();
  const bool writer = cluster::world().rank() == 0;  // under mpirun: rank 0 reports
  if (writer) print_summary(result, spec, o.json);
  if (result.interrupted) return kExitInterrupted;
  if (o.min_accuracy && result.best_test_accuracy < *o.min_accuracy) {
    if (writer) {
      std::cerr << "error: the best model's test accuracy " << result.best_test_accuracy
                << " (epoch " << result.best_epoch << ", " << result.best_checkpoint
                << ") is below --min-accuracy " << *o.min_accuracy << "\n";
    }
    return kExitBelowAccuracy;
  }
  return kExitOk;
}

}  // namespace tinycnn::cli
