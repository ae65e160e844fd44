// Variable gradient bookkeeping.
#include "autograd/variable.hpp"

#include "core/error.hpp"

namespace tinycnn::autograd {

Variable::Variable(Tensor data, bool requires_grad) : impl_(std::make_shared<Impl>()) {
  impl_->data = std::move(data);
  impl_->requires_grad = requires_grad;
}

void Variable::accumulate_grad(const Tensor& g) {
  TCNN_CHECK(g.shape() == shape(), "gradient shape ", g.shape().to_string(),
             " does not match variable shape ", shape().to_string());
  if (!impl_->grad.defined()) {
    impl_->grad = g.clone();
  } else {
    impl_->grad.add_(g);
  }
}

const void* Variable::id() const {
  if (impl_ && impl_->grad_fn) return impl_->grad_fn.get();
  return impl_.get();
}

Edge::Edge(const Variable& v) : defined_(v.defined()) {
  if (!defined_) return;
  shape_ = v.shape();
  requires_grad_ = v.requires_grad();
  if (!requires_grad_) return;
  if (v.is_leaf()) {
    leaf_ = v;
  } else {
    node_ = v.grad_fn();
  }
}

Node::Node(const std::vector<Variable>& inputs) {
  inputs_.reserve(inputs.size());
  for (const Variable& v : inputs) inputs_.emplace_back(v);
}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  auto detach = [&pending](std::vector<Edge>& inputs) {
    for (auto& input : inputs) {
      if (input.node_ && input.node_.use_count() == 1) pending.push_back(std::move(input.node_));
    }
    inputs.clear();
  };
  detach(inputs_);
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    detach(node->inputs_);
    // `node` is destroyed here with no inputs left, so its destructor does not recurse.
  }
}

void Variable::zero_grad() {
  if (impl_->grad.defined()) impl_->grad.fill(0.0f);
}

}  // namespace tinycnn::autograd
