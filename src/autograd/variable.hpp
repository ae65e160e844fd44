// Variable: a Tensor plus what reverse-mode differentiation needs (grad, requires_grad, and the
// Node that produced it). A Variable is a shared handle; copies refer to the same value.
// Node: one per op application; backward() maps the output's gradient to one gradient per input
// (an undefined Tensor for inputs that need none).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace tinycnn::autograd {

using tensor::Shape;
using tensor::Tensor;

class Node;

class Variable {
 public:
  Variable() = default;  // undefined: used for "no bias" and similar
  explicit Variable(Tensor data, bool requires_grad = false);

  bool defined() const { return impl_ != nullptr; }
  const Tensor& data() const { return impl_->data; }
  Tensor& data() { return impl_->data; }
  const Shape& shape() const { return impl_->data.shape(); }
  // The accumulated gradient; undefined until backward() reaches this variable.
  const Tensor& grad() const { return impl_->grad; }
  Tensor& grad() { return impl_->grad; }
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  void set_grad_fn(std::shared_ptr<Node> node) { impl_->grad_fn = std::move(node); }
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  // grad += g (allocating on first use). Shapes must match.
  void accumulate_grad(const Tensor& g);
  void zero_grad();

  const void* id() const { return impl_.get(); }
  // Hands over grad_fn when nothing else holds this value or its node (graph teardown).
  std::shared_ptr<Node> release_grad_fn_if_unique();

 private:
  struct Impl {
    Tensor data;
    Tensor grad;
    bool requires_grad = false;
    std::shared_ptr<Node> grad_fn;
  };
  std::shared_ptr<Impl> impl_;
};

class Node {
 public:
  explicit Node(std::vector<Variable> inputs) : inputs_(std::move(inputs)) {}
  // Tears the graph below down iteratively: a chain of 10^5 ops must not overflow the stack.
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual const char* name() const = 0;
  // One entry per input, in order; undefined Tensors where an input needs no gradient.
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  const std::vector<Variable>& inputs() const { return inputs_; }

 private:
  std::vector<Variable> inputs_;
};

struct NamedVariable {
  std::string name;
  Variable var;
};

}  // namespace tinycnn::autograd
