// Iterative depth-first topological sort (no recursion: deep graphs must not overflow the stack),
// then the reverse walk.
#include "autograd/engine.hpp"

#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "core/timer.hpp"

namespace tinycnn::autograd {

namespace {
// Grad mode is per thread, like PyTorch's: a scoped switch, not process-wide state.
thread_local bool g_grad_enabled = true;

std::vector<Edge> topological_order(const Edge& root) {
  std::vector<Edge> order;
  std::unordered_set<const void*> visited;
  struct Frame {
    Edge edge;
    size_t next_input;
  };
  std::vector<Frame> stack{{root, 0}};
  visited.insert(root.id());
  while (!stack.empty()) {
    Frame& top = stack.back();
    const auto& node = top.edge.node();
    if (node && top.next_input < node->inputs().size()) {
      const Edge& input = node->inputs()[top.next_input++];
      if (input.defined() && input.requires_grad() && visited.insert(input.id()).second) {
        stack.push_back({input, 0});
      }
      continue;
    }
    order.push_back(top.edge);
    stack.pop_back();
  }
  return order;  // inputs before the values computed from them
}

// Adds one input's gradient to what is pending for it, after checking its shape.
void gather(std::unordered_map<const void*, Tensor>& pending, const Node& node, size_t i,
            const Tensor& grad) {
  const Edge& input = node.inputs()[i];
  if (!input.defined() || !input.requires_grad() || !grad.defined()) return;
  TCNN_CHECK(grad.shape() == input.shape(), node.name(), " backward: gradient ", i, " has shape ",
             grad.shape().to_string(), ", expected ", input.shape().to_string());
  auto [slot, inserted] = pending.try_emplace(input.id(), grad);
  if (!inserted) {
    // The same Tensor may be handed to two inputs; never add into a shared buffer.
    Tensor sum = slot->second.clone();
    sum.add_(grad);
    slot->second = std::move(sum);
  }
}
}  // namespace

void backward(const Variable& loss, const NodeTimer& on_node, float seed) {
  TCNN_CHECK(loss.defined() && loss.data().numel() == 1,
             "backward: expected a scalar loss, got shape ",
             loss.defined() ? loss.shape().to_string() : "undefined");
  TCNN_CHECK(loss.requires_grad(), "backward: the loss does not require grad (no parameters?)");

  const Edge root(loss);
  std::unordered_map<const void*, Tensor> pending;
  pending[root.id()] = Tensor::full(loss.shape(), seed);

  std::vector<Edge> order = topological_order(root);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Edge& edge = *it;
    auto found = pending.find(edge.id());
    if (found == pending.end()) continue;
    Tensor grad = std::move(found->second);
    pending.erase(found);
    if (!edge.node()) {
      edge.leaf().accumulate_grad(grad);
      continue;
    }
    Node& node = *edge.node();
    core::Stopwatch clock;
    std::vector<Tensor> input_grads = node.backward(grad);
    if (on_node) on_node(node, clock.seconds());
    TCNN_CHECK(input_grads.size() == node.inputs().size(), node.name(), " backward returned ",
               input_grads.size(), " gradients for ", node.inputs().size(), " inputs");
    for (size_t i = 0; i < input_grads.size(); ++i) gather(pending, node, i, input_grads[i]);
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
