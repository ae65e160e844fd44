// metrics.jsonl, the per-epoch log of a run: one JSON object per line (docs/cli.md: epoch,
// train_loss, train_accuracy, test_loss, test_accuracy, epoch_seconds, eval_seconds,
// images_per_second, lr, and with training.diagnostics a "diagnostics" list), appended one line per
// write() so a killed process never leaves half a line. Written, read and trimmed here only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tinycnn::run {

// Gradient flow at an epoch's last step (train/diagnostics.hpp): for a layer with parameters
// the norms and the update ratio; for a ReLU the fraction of dead units (dead_fraction >= 0).
struct LayerDiagnostic {
  std::string layer;  // "layers.3.layers.0"
  std::string type;
  double grad_norm = 0, weight_norm = 0, update_ratio = 0;
  double dead_fraction = -1;  // ReLUs only
};

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
  double epoch_seconds = 0, eval_seconds = 0, images_per_second = 0, lr = 0;
  // The share of the training pass this process's threads waited for a core (another process
  // shared the cores: the throughput measures the sharing). Reported, not written to the file.
  double runqueue_wait_share = 0;
  std::vector<LayerDiagnostic> diagnostics;  // empty unless training.diagnostics
};

// Where a file ended before an append.
struct MetricsMark {
  int64_t size = 0;
};

// Throws core::Error (Runtime) naming the file when it cannot be appended to; returns the
// file's size before the line.
MetricsMark append_metrics(const std::string& path, const EpochMetrics& m);
// Cuts the file back to `mark` (best effort: it is called while another error is on its way).
void roll_back_metrics(const std::string& path, const MetricsMark& mark);

// Every epoch of the file. epoch and the losses and accuracies are required, the timings
// optional (0 when missing). Throws core::Error (Runtime) naming "file:line" for a missing
// file, a malformed line or a file with no epochs.
std::vector<EpochMetrics> read_metrics(const std::string& path);
// The same from text already in memory; `what` names it in errors (as "what:line").
std::vector<EpochMetrics> parse_metrics(std::string_view text, const std::string& what);

// Keeps the lines of epochs <= `epoch` (a damaged line goes with the epochs past it); a missing
// file stays missing. Replaces the file atomically.
void keep_metrics_up_to(const std::string& path, int64_t epoch);

}  // namespace tinycnn::run
