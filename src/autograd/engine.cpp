// Iterative depth-first topological sort (no recursion: deep graphs must not overflow the stack).
#include "autograd/engine.hpp"

#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "core/timer.hpp"

namespace tinycnn::autograd {

namespace {
// Grad mode is per thread, like PyTorch's: a scoped switch, not process-wide state.
thread_local bool g_grad_enabled = true;

std::vector<Variable> topological_order(const Variable& root) {
  std::vector<Variable> order;
  std::unordered_set<const void*> visited;
  struct Frame {
    Variable var;
    size_t next_input;
  };
  std::vector<Frame> stack{{root, 0}};
  visited.insert(root.id());
  while (!stack.empty()) {
    Frame& top = stack.back();
    const auto& node = top.var.grad_fn();
    if (node && top.next_input < node->inputs().size()) {
      const Variable& input = node->inputs()[top.next_input++];
      if (input.defined() && input.requires_grad() && visited.insert(input.id()).second) {
        stack.push_back({input, 0});
      }
      continue;
    }
    order.push_back(top.var);
    stack.pop_back();
  }
  return order;  // inputs before the values computed from them
}
}  // namespace

void backward(const Variable& loss, const NodeTimer& on_node, float seed) {
  TCNN_CHECK(loss.defined() && loss.data().numel() == 1,
             "backward: expected a scalar loss, got shape ",
             loss.defined() ? loss.shape().to_string() : "undefined");
  TCNN_CHECK(loss.requires_grad(), "backward: the loss does not require grad (no parameters?)");

  std::unordered_map<const void*, Tensor> pending;
  pending[loss.id()] = Tensor::full(loss.shape(), seed);

  const std::vector<Variable> order = topological_order(loss);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Variable var = *it;
    auto found = pending.find(var.id());
    if (found == pending.end()) continue;
    Tensor grad = std::move(found->second);
    pending.erase(found);
    if (var.is_leaf()) {
      var.accumulate_grad(grad);
      continue;
    }
    const auto& node = var.grad_fn();
    core::Stopwatch clock;
    std::vector<Tensor> input_grads = node->backward(grad);
    if (on_node) on_node(*node, clock.seconds());
    TCNN_CHECK(input_grads.size() == node->inputs().size(), node->name(), " backward returned ",
               input_grads.size(), " gradients for ", node->inputs().size(), " inputs");
    for (size_t i = 0; i < input_grads.size(); ++i) {
      const Variable& input = node->inputs()[i];
      if (!input.defined() || !input.requires_grad() || !input_grads[i].defined()) continue;
      TCNN_CHECK(input_grads[i].shape() == input.shape(), node->name(), " backward: gradient ", i,
                 " has shape ", input_grads[i].shape().to_string(), ", expected ",
                 input.shape().to_string());
      auto [slot, inserted] = pending.try_emplace(input.id(), input_grads[i]);
      if (!inserted) {
        // The same Tensor may be handed to two inputs; never add into a shared buffer.
        Tensor sum = slot->second.clone();
        sum.add_(input_grads[i]);
        slot->second = std::move(sum);
      }
    }
  }
}

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool should_record(std::initializer_list<const Variable*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Variable* v : inputs) {
    if (v && v->requires_grad()) return true;
  }
  return false;
}

Variable make_result(Tensor output, std::shared_ptr<Node> node) {
  Variable result(std::move(output), node != nullptr);
  if (node) result.set_grad_fn(std::move(node));
  return result;
}

}  // namespace tinycnn::autograd
