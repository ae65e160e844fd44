// Run-queue wait over an interval; see contention.hpp.
#include "runtime/contention.hpp"

#include <algorithm>
#include <chrono>

#include "runtime/team.hpp"

namespace tinycnn::runtime {

namespace {
long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Contention& Contention::operator+=(const Contention& other) {
  if (!other.known) return *this;
  // Shares of different thread counts add as thread-milliseconds.
  wall_ms += other.wall_ms;
  thread_ms += other.thread_ms;
  runqueue_wait_ms += other.runqueue_wait_ms;
  threads = std::max(threads, other.threads);
  load_average = other.load_average;
  known = true;
  return *this;
}

ContentionWatch::ContentionWatch(int threads)
    : threads_(std::max(threads, 1)),
      start_ns_(now_ns()),
      start_wait_ns_(process_runqueue_wait_ns()) {}

Contention ContentionWatch::stop() const {
  const long long wait = process_runqueue_wait_ns();
  Contention c;
  c.wall_ms = static_cast<double>(now_ns() - start_ns_) * 1e-6;
  c.threads = threads_;
  c.thread_ms = c.wall_ms * threads_;
  c.known = start_wait_ns_ >= 0 && wait >= start_wait_ns_;
  c.runqueue_wait_ms = c.known ? static_cast<double>(wait - start_wait_ns_) * 1e-6 : 0.0;
  c.load_average = load_average();
  return c;
}

}  // namespace tinycnn::runtime
