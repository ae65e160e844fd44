// Time-to-go arithmetic.
#include "train/time_left.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tinycnn::train {

void TimeLeft::epoch_done(double train_seconds, double eval_seconds) {
  train_ = std::max(train_seconds, 0.0);
  eval_ = std::max(eval_seconds, 0.0);
}

double TimeLeft::run_during(int64_t epoch, int64_t epochs, double epoch_left,
                            double epoch_estimate) const {
  const double train = train_ >= 0 ? train_ : epoch_estimate;
  const auto after = static_cast<double>(std::max<int64_t>(epochs - epoch, 0));
  return std::max(epoch_left, 0.0) + eval_ + after * (std::max(train, 0.0) + eval_);
}

double TimeLeft::run_after(int64_t epoch, int64_t epochs) const {
  const auto after = static_cast<double>(std::max<int64_t>(epochs - epoch, 0));
  return after * (std::max(train_, 0.0) + eval_);
}

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const auto s = static_cast<long long>(std::min(std::llround(seconds), 360'000'000LL));
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

}  // namespace tinycnn::train
