// A run's files and their commit order; see run_files.hpp.
#include "run/run_files.hpp"

#include "io/atomic_file.hpp"
#include "run/curves.hpp"

namespace tinycnn::run {

RunFiles RunFiles::in(const std::string& dir) {
  return {.dir = dir,
          .checkpoint = dir + "/" + kCheckpointFile,
          .metrics = dir + "/" + kMetricsFile,
          .config = dir + "/" + kConfigFile,
          .curves = dir + "/" + kCurvesFile,
          .best = dir + "/" + kBestFile};
}

void start_run(const RunFiles& files, bool resumed, int64_t epoch, const std::string& config_json) {
  if (resumed) {
    keep_metrics_up_to(files.metrics, epoch);
  } else {
    io::write_file_atomically(files.metrics, "");
  }
  io::write_file_atomically(files.config, config_json + "\n");
}

void commit_epoch(const RunFiles& files, const EpochMetrics& metrics, bool best,
                  const std::function<void(const std::string& path)>& save_checkpoint) {
  const MetricsMark mark = append_metrics(files.metrics, metrics);
  try {
    if (best) save_checkpoint(files.best);
    save_checkpoint(files.checkpoint);
  } catch (...) {
    roll_back_metrics(files.metrics, mark);
    throw;
  }
  // From the whole metrics.jsonl, so a resumed run's chart covers every epoch.
  io::write_file_atomically(files.curves, render_curves({read_run(files.metrics)}));
}

}  // namespace tinycnn::run
