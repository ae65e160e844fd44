// Module: one layer of a network. output_shape() validates an input shape (per example, without
// the batch: [C, H, W] or [F]) and says what comes out, so a bad model fails at build time.
// forward() takes the batched input and the step context (which slice of a data-parallel step
// this is; alone by default). kind() says which of the closed set of layer kinds it is (one
// switch per concern, layer_kind.hpp). parameters() names the layer's Variables ("weight"),
// buffers() its other state (batch norm's running statistics); a block's children are named by the
// prefix of their parameters ("layers.0", "shortcut.0"), so the model is a tree.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/variable.hpp"
#include "core/error.hpp"
#include "nn/layer_kind.hpp"
#include "runtime/collective.hpp"

namespace tinycnn::nn {

using autograd::NamedVariable;
using autograd::Variable;
using runtime::StepContext;
using tensor::Shape;
using tensor::Tensor;

// State that is saved and loaded but not trained: float tensors, or one int64 counter.
struct NamedBuffer {
  std::string name;
  tensor::Tensor* f32 = nullptr;
  int64_t* i64 = nullptr;
};

class Module;
struct NamedChild {
  std::string name;  // "layers.3"
  Module* module;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual LayerKind kind() const = 0;
  // The config's name ("conv2d"); a Custom layer names itself.
  virtual std::string type() const { return std::string(name_of(kind())); }
  virtual std::string describe() const { return type(); }  // with hyperparameters
  virtual Shape output_shape(const Shape& input) const = 0;
  Variable forward(const Variable& input, const StepContext& ctx = {}) { return apply(input, ctx); }
  virtual std::vector<NamedVariable> parameters() { return {}; }
  virtual std::vector<NamedBuffer> buffers() { return {}; }
  // A block's layers (empty for a plain layer); their parameters are named under these names.
  virtual std::vector<NamedChild> children() { return {}; }
  // How many parameter values the layer has, from its options (known without the weights).
  virtual int64_t parameter_count() const { return 0; }
  virtual void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }

 protected:
  // What forward() computes, for each kind.
  virtual Variable apply(const Variable& input, const StepContext& ctx) = 0;

 private:
  bool training_ = true;
};

// `layer` as the class its kind says it is: the one checked downcast, after a switch on
// kind() (each class says which kinds it holds, T::holds).
template <class T>
T& as(Module& layer) {
  TCNN_CHECK(T::holds(layer.kind()), "layer kind ", name_of(layer.kind()), " is not a ",
             T::kClassName);
  return static_cast<T&>(layer);
}
template <class T>
const T& as(const Module& layer) {
  return as<T>(const_cast<Module&>(layer));
}

// Every layer under `root` (not root itself), parents before their children, with its full name
// ("layers.3.shortcut.0") and depth (0 for root's children).
void walk(Module& root,
          const std::function<void(const std::string& name, Module& layer, int depth)>& visit);

}  // namespace tinycnn::nn
