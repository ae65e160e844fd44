// Variable: a Tensor plus what reverse-mode differentiation needs (grad, requires_grad, and the
// Node that produced it). A Variable is a shared handle; copies refer to the same value.
// Node: one per op application; backward() maps the output's gradient to one gradient per input
// (an undefined Tensor for inputs that need none). A node reaches its inputs through Edges, which
// do not hold their values: what a backward reads, the node saves in its own fields, so a value
// no node saved is freed as soon as the forward is done with it.
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

  // Where this value's gradient is gathered: its node, or (a leaf) the value itself.
  const void* id() const;

 private:
  struct Impl {
    Tensor data;
    Tensor grad;
    bool requires_grad = false;
    std::shared_ptr<Node> grad_fn;
  };
  std::shared_ptr<Impl> impl_;
};

// One input of a node: the node that computed it or, for a leaf that requires grad, the leaf
// (whose gradient accumulates there); its shape, to check the gradient against. Never the
// values of a computed input.
class Edge {
 public:
  Edge() = default;  // an undefined input ("no bias")
  explicit Edge(const Variable& v);

  bool defined() const { return defined_; }
  bool requires_grad() const { return requires_grad_; }
  const Shape& shape() const { return shape_; }
  const std::shared_ptr<Node>& node() const { return node_; }
  // The leaf whose gradient this edge accumulates; undefined where node() is set.
  const Variable& leaf() const { return leaf_; }
  Variable& leaf() { return leaf_; }
  const void* id() const { return node_ ? static_cast<const void*>(node_.get()) : leaf_.id(); }

 private:
  friend class Node;
  std::shared_ptr<Node> node_;
  Variable leaf_;
  Shape shape_;
  bool defined_ = false;
  bool requires_grad_ = false;
};

class Node {
 public:
  explicit Node(const std::vector<Variable>& inputs);
  // Tears the graph below down iteratively: a chain of 10^5 ops must not overflow the stack.
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual const char* name() const = 0;
  // One entry per input, in order; undefined Tensors where an input needs no gradient.
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  const std::vector<Edge>& inputs() const { return inputs_; }

 private:
  std::vector<Edge> inputs_;
};

struct NamedVariable {
  std::string name;
  Variable var;
};

}  // namespace tinycnn::autograd
