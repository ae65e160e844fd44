// The training room's log lines; see log.hpp.
#include "train/log.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace tinycnn::train {

void log_info(const std::string& line) { spdlog::info("{}", line); }
void log_warn(const std::string& line) { spdlog::warn("{}", line); }

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

}  // namespace tinycnn::train
