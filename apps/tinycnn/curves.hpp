// Training curves: metrics.jsonl files (one JSON object per epoch) read strictly and drawn as
// one SVG chart (loss and accuracy against epoch; train solid, test dashed; one colour per run).
#pragma once

#include <string>
#include <vector>

namespace tinycnn::cli {

struct EpochPoint {
  double epoch, train_loss, test_loss, train_accuracy, test_accuracy;
};

struct MetricsRun {
  std::string label;  // the run directory's name
  std::vector<EpochPoint> epochs;
};

// Throws core::Error (Runtime) naming "file:line" for a missing file or a malformed line.
MetricsRun read_metrics(const std::string& path);
std::string render_curves(const std::vector<MetricsRun>& runs);

}  // namespace tinycnn::cli
