// Stopwatch: wall-clock seconds since construction or the last reset (steady clock).
#pragma once

#include <chrono>

namespace tinycnn::core {

class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}
  void reset() { start_ = Clock::now(); }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_;
};

}  // namespace tinycnn::core
