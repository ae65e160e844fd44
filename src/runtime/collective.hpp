// What an op sees of a data-parallel step: which slice of the batch it runs, and the collective
// through which an op whose result depends on the whole batch (batch norm's statistics) sums
// its partial results with the other slices' (and, across processes, the other ranks'). The
// math stays in the kernels; the sum happens in the op, between their calls.
#pragma once

#include <span>

namespace tinycnn::runtime {

class Collective {
 public:
  virtual ~Collective() = default;
  // Every party calls it with the same number of values, in the same order of calls; on return
  // `values` holds the sum over all parties, added in party order (the same bits on each).
  virtual void sum(int party, std::span<double> values) = 0;
};

// A model run alone has slice 0 and no collective: its sums are already the whole batch's.
struct StepContext {
  int slice = 0;
  Collective* collective = nullptr;

  void sum(std::span<double> values) const {
    if (collective != nullptr) collective->sum(slice, values);
  }
  // Shared state (running statistics) is updated by one slice only.
  bool leads() const { return slice == 0; }
};

}  // namespace tinycnn::runtime
