// The run's time to go, for the progress bar and the per-epoch log line: the rest of this
// epoch from the step rate measured now, then its test pass and every later epoch as long as
// the last finished one took (before any has finished: this epoch's estimate, and no test pass).
#pragma once

#include <cstdint>
#include <string>

namespace tinycnn::train {

class TimeLeft {
 public:
  // Each finished epoch: its training pass's and test pass's seconds.
  void epoch_done(double train_seconds, double eval_seconds);
  // Mid-epoch `epoch` (1-based) of `epochs`: `epoch_left` seconds of this epoch's training to
  // go, `epoch_estimate` the whole training pass at the rate measured now.
  double run_during(int64_t epoch, int64_t epochs, double epoch_left, double epoch_estimate) const;
  // After epoch `epoch` of `epochs`: the later epochs, each as the last one.
  double run_after(int64_t epoch, int64_t epochs) const;

 private:
  double train_ = -1, eval_ = 0;  // the last finished epoch's (train_ < 0: none yet)
};

// "1:05" (minutes:seconds) or "2:03:04" (hours from one hour on), for log lines.
std::string clock_text(double seconds);

}  // namespace tinycnn::train
