// Whether a measurement had the cores to itself: the time the process's threads spent runnable
// but waiting for a core (run-queue wait, /proc/self/task/*/schedstat) over the measured
// interval, as a share of the interval's wall time times the threads measured, and the
// machine's load. Another process on the machine (even at nice 19) shows up as run-queue wait:
// a timing taken then measures the sharing, not the kernel, and is marked busy.
#pragma once

namespace tinycnn::runtime {

// Above this share of run-queue wait a timing is marked busy. On a quiet 2-core machine the
// timings of `profile --conv` showed 0 to 1.8 % (the naive loops' long single-thread runs),
// with one stall now and then that is rightly marked (28 ms of a 32 ms interval).
inline constexpr double kBusyWaitShare = 0.05;

struct Contention {
  double wall_ms = 0;
  double runqueue_wait_ms = 0;  // the process's threads, summed
  int threads = 1;              // the threads the measurement ran on (the most, when summed)
  double thread_ms = 0;         // wall time x threads: what the threads could have waited
  double load_average = 0;      // the machine's one-minute load at the end
  bool known = false;           // the kernel reports run-queue wait

  double wait_share() const { return thread_ms > 0 ? runqueue_wait_ms / thread_ms : 0.0; }
  bool busy() const { return known && wait_share() > kBusyWaitShare; }
  // The two intervals as one (wall times and waits added; the later load).
  Contention& operator+=(const Contention& other);
};

// Started on construction; stop() reads the interval since.
class ContentionWatch {
 public:
  explicit ContentionWatch(int threads);
  Contention stop() const;

 private:
  int threads_;
  long long start_ns_, start_wait_ns_;
};

}  // namespace tinycnn::runtime
