// The training room's log lines (resume, interruption, warnings, the ranks' allreduce time),
// written through spdlog's default logger, which the CLI sets up (level, rank 0 alone writing).
// One source file includes spdlog: its header costs seconds per file it is parsed in.
#pragma once

#include <string>

namespace tinycnn::train {

void log_info(const std::string& line);
void log_warn(const std::string& line);

// `value` with `decimals` digits after the point ("0.25"), for log lines.
std::string fixed(double value, int decimals);

}  // namespace tinycnn::train
