// Sums across the slices of one data-parallel step, in the middle of forward and backward.
// The threads of a step each run their slice of the batch through their own replica of the
// model; an op whose result depends on the whole batch (batch norm's statistics) calls
// all_reduce() from every slice at the same point. Each slice's partial sums are combined in
// slice order, so every slice gets the same bits and a given slice count always gives the same
// result. One barrier per call: the partials are double-buffered by call parity. The last slice
// to arrive adds them up and, when the step spans processes, sums that with the other ranks'
// through the `across` collective it was given.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "runtime/collective.hpp"

namespace tinycnn::runtime {

// Thrown in the slices still waiting when another slice failed (the other's error is the cause).
class SliceAborted : public core::Error {
 public:
  SliceAborted();
};

class SliceReducer : public Collective {
 public:
  // `across` (or null: this process alone) sums the slices' total with the other processes';
  // it is called by one slice while the others wait, as its party 0.
  explicit SliceReducer(Collective* across = nullptr) : across_(across) {}
  // Before the step's threads start: how many slices take part (1, and no `across`: sum()
  // does nothing).
  void begin(int slices);
  // On return `values` holds the sum over slices 0..slices-1, added in that order.
  void sum(int slice, std::span<double> values) override;
  // A slice failed: the others' waiting calls (and later ones) throw SliceAborted.
  void abort();

 private:
  // Arrivals under the mutex; the waiting outside it, by runtime/team.hpp's policy, on
  // `signal_` (bumped when a call completes and on abort).
  std::mutex mutex_;
  int slices_ = 1;
  int arrived_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> aborted_{false};
  std::atomic<uint32_t> signal_{0};
  std::vector<std::vector<double>> parts_[2];  // [parity][slice]
  std::vector<double> sums_[2];                // [parity]: the call's result
  Collective* across_;
};

}  // namespace tinycnn::runtime
