// The backward engine and grad mode.
// backward(loss): topological order of the graph below `loss`, then a reverse walk that calls each
// Node once with the sum of its output's incoming gradients (so a value used twice gets both),
// checking every gradient's shape. Leaves that require grad accumulate into Variable::grad().
// The graph (and what its nodes saved) lives until the loss is dropped; freeing each node as the
// walk passed it was measured slower (docs/performance.md, "bf16 mixed-precision training").
// NoGradGuard: while alive on this thread, ops record no graph (evaluation, optimizer steps).
#pragma once

#include <functional>

#include "autograd/variable.hpp"

namespace tinycnn::autograd {

// Optional instrumentation: called after each Node's backward with its wall time (profiling).
using NodeTimer = std::function<void(const Node& node, double seconds)>;

// `seed` is the gradient of the final objective with respect to `loss` (1 for the loss itself;
// a slice's share of the batch when slices of one batch run separately).
void backward(const Variable& loss, const NodeTimer& on_node = {}, float seed = 1.0f);

bool grad_enabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Wraps `output` as the result of `node` when recording is on and any input requires grad.
Variable make_result(Tensor output, std::shared_ptr<Node> node);
// True when an op with these inputs should record a Node.
bool should_record(std::initializer_list<const Variable*> inputs);

}  // namespace tinycnn::autograd
