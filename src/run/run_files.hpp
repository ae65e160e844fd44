// The files of a run in its out dir, named here once, and the order in which they are written:
// config.json when the run starts; after every epoch its metrics.jsonl line, then best.safetensors
// when the epoch is the best so far, then the checkpoint (the commit point: the line is taken
// back when the checkpoint cannot be written, and a killed process's extra line is dropped on
// resume; a best file written before a kill is written again when the resumed run repeats the
// epoch, to the same bits), then curves.svg from the whole metrics.jsonl.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "run/metrics_log.hpp"

namespace tinycnn::run {

inline constexpr const char* kCheckpointFile = "checkpoint.safetensors";
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kCurvesFile = "curves.svg";
inline constexpr const char* kBestFile = "best.safetensors";

struct RunFiles {
  std::string dir, checkpoint, metrics, config, curves, best;
  static RunFiles in(const std::string& dir);
};

// A fresh run starts metrics.jsonl anew; a resumed one keeps the epochs its checkpoint holds
// (`epoch` of them). config.json is written either way.
void start_run(const RunFiles& files, bool resumed, int64_t epoch, const std::string& config_json);

// One epoch committed: its metrics line, then (`best`: the epoch is the best so far)
// `save_checkpoint(files.best)`, then `save_checkpoint(files.checkpoint)` (the line is taken back
// if either throws), then the curves.
void commit_epoch(const RunFiles& files, const EpochMetrics& metrics, bool best,
                  const std::function<void(const std::string& path)>& save_checkpoint);

}  // namespace tinycnn::run
