// Slice reducer; see slice_reducer.hpp.
#include "runtime/slice_reducer.hpp"

#include <algorithm>

#include "runtime/team.hpp"

namespace tinycnn::runtime {

SliceAborted::SliceAborted()
    : core::Error(core::ErrorKind::Runtime, "another slice of the batch failed") {}

void SliceReducer::begin(int slices) {
  TCNN_CHECK(slices >= 1, "slice reducer: expected at least 1 slice, got ", slices);
  const std::lock_guard lock(mutex_);
  slices_ = slices;
  arrived_ = 0;
  aborted_ = false;
  for (auto& parts : parts_) parts.resize(static_cast<size_t>(slices));
}

void SliceReducer::sum(int slice, std::span<double> values) {
  if (slices_ == 1) {
    if (across_) across_->sum(0, values);
    return;
  }
  size_t parity = 0;
  uint64_t mine = 0;
  bool last = false;
  {
    const std::lock_guard lock(mutex_);
    if (aborted_) throw SliceAborted();
    mine = generation_.load(std::memory_order_relaxed);
    parity = mine & 1;
    parts_[parity][static_cast<size_t>(slice)].assign(values.begin(), values.end());
    if (++arrived_ == slices_) {
      // The last to arrive adds the parts in slice order (and reduces across processes).
      std::vector<double>& sums = sums_[parity];
      sums.assign(values.size(), 0.0);
      try {
        for (const auto& p : parts_[parity]) {
          TCNN_CHECK(p.size() == values.size(), "slice reducer: slices reduced ", p.size(), " and ",
                     values.size(), " values in the same call");
          for (size_t i = 0; i < values.size(); ++i) sums[i] += p[i];
        }
        if (across_) across_->sum(0, std::span(sums));
      } catch (...) {
        aborted_ = true;
        signal_.fetch_add(1, std::memory_order_release);
        wake_all(signal_);
        throw;
      }
      arrived_ = 0;
      generation_.store(mine + 1, std::memory_order_release);
      last = true;
    }
  }
  if (last) {
    signal_.fetch_add(1, std::memory_order_release);
    wake_all(signal_);
  } else {
    for (;;) {
      const uint32_t seen = signal_.load(std::memory_order_acquire);
      if (generation_.load(std::memory_order_acquire) != mine) break;
      if (aborted_.load(std::memory_order_acquire)) throw SliceAborted();
      wait_while_equal(signal_, seen);
    }
  }
  // The other parity's buffers are the next call's; this one stays untouched until every slice
  // has reached that next call, so reading it unlocked is safe.
  const std::vector<double>& sums = sums_[parity];
  std::copy(sums.begin(), sums.end(), values.begin());
}

void SliceReducer::abort() {
  {
    const std::lock_guard lock(mutex_);
    aborted_ = true;
  }
  signal_.fetch_add(1, std::memory_order_release);
  wake_all(signal_);
}

}  // namespace tinycnn::runtime
