// Sums across the slices of one data-parallel step, in the middle of forward and backward.
// The threads of a step each run their slice of the batch through their own replica of the
// model; an op whose result depends on the whole batch (batch norm's statistics) calls
// all_reduce() from every slice at the same point. Each slice's partial sums are combined in
// slice order, so every slice gets the same bits and a given slice count always gives the same
// result. One barrier per call: the partials are double-buffered by call parity. The last slice
// to arrive adds them up (and, across processes, reduces the sum with the other ranks').
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "core/error.hpp"

namespace tinycnn::kernels {

// Thrown in the slices still waiting when another slice failed (the other's error is the cause).
class SliceAborted : public core::Error {
 public:
  SliceAborted();
};

class SliceReducer {
 public:
  // Before the step's threads start: how many slices take part (1, and no `across`:
  // all_reduce does nothing).
  void begin(int slices);
  // Also sums across processes: called on the slices' sum, by one slice while the others wait
  // (the data-parallel step across MPI ranks sets it; empty: this process alone).
  void set_across(std::function<void(std::span<double>)> across);
  // Collective: every slice calls it with the same number of values, in the same order of
  // calls. On return `values` holds the sum over slices 0..slices-1, added in that order.
  void all_reduce(int slice, std::span<double> values);
  // A slice failed: the others' waiting calls (and later ones) throw SliceAborted.
  void abort();

 private:
  // Arrivals under the mutex; the waiting outside it, by kernels/team.hpp's policy, on
  // `signal_` (bumped when a call completes and on abort).
  std::mutex mutex_;
  int slices_ = 1;
  int arrived_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> aborted_{false};
  std::atomic<uint32_t> signal_{0};
  std::vector<std::vector<double>> parts_[2];  // [parity][slice]
  std::vector<double> sums_[2];                // [parity]: the call's result
  std::function<void(std::span<double>)> across_;
};

}  // namespace tinycnn::kernels
