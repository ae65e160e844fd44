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

std::shared_ptr<Node> Variable::release_grad_fn_if_unique() {
  if (!impl_ || impl_.use_count() != 1 || !impl_->grad_fn || impl_->grad_fn.use_count() != 1) {
    return nullptr;
  }
  return std::move(impl_->grad_fn);
}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  auto detach = [&pending](std::vector<Variable>& inputs) {
    for (auto& input : inputs) {
      if (auto node = input.release_grad_fn_if_unique()) pending.push_back(std::move(node));
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
