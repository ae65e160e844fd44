// Training curves: the epochs of one or more runs drawn as one SVG chart (loss and accuracy
// against epoch; train solid, test dashed; one colour per run when there are several).
#pragma once

#include <string>
#include <vector>

#include "run/metrics_log.hpp"

namespace tinycnn::run {

struct MetricsRun {
  std::string label;  // the run directory's name
  std::vector<EpochMetrics> epochs;
};

// The run of a metrics.jsonl file (run::read_metrics), labelled with its directory's name.
MetricsRun read_run(const std::string& metrics_path);
std::string render_curves(const std::vector<MetricsRun>& runs);
// The gradient-flow diagnostics of one run against the epoch: per layer the gradient norm and
// the update ratio (log scales), per ReLU the fraction of dead units. Throws core::Error
// (Runtime) when the run has none.
std::string render_diagnostics(const MetricsRun& run);

}  // namespace tinycnn::run
