// Sequential container.
#include "nn/sequential.hpp"

#include <array>

#include "core/error.hpp"
#include "nn/conv2d.hpp"
#include "nn/pooling.hpp"
#include "nn/simple_layers.hpp"

namespace tinycnn::nn {

Shape Sequential::output_shape(const Shape& input) const {
  Shape shape = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      shape = layers_[i]->output_shape(shape);
    } catch (const core::Error& e) {
      throw core::Error(
          e.kind(), "layer " + std::to_string(i) + " (" + layers_[i]->type() + "): " + e.what());
    }
  }
  return shape;
}

namespace {
bool is_relu(const Module* m) {
  const auto* a = dynamic_cast<const Activation*>(m);
  return a && a->kind() == Activation::Kind::Relu;
}
bool is_max_pool_2x2(const Module* m) {
  const auto* p = dynamic_cast<const MaxPool2d*>(m);
  using Pair = std::array<int64_t, 2>;
  return p && p->kernel_size() == Pair{2, 2} && p->stride() == Pair{2, 2} &&
         p->padding() == Pair{0, 0};
}
}  // namespace

Variable Sequential::forward(const Variable& input) {
  // conv2d + relu (+ a 2x2 / stride 2 maxpool2d) run as one fused op: the same values, and the
  // layers stay separate everywhere else (shapes, parameters, viz, the per-layer profile).
  auto at = [&](size_t i) { return i < layers_.size() ? layers_[i].get() : nullptr; };
  Variable x = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto* conv = dynamic_cast<Conv2d*>(layers_[i].get());
    if (conv && is_relu(at(i + 1))) {
      if (is_max_pool_2x2(at(i + 2))) {
        x = conv->forward_relu_pool2x2(x);
        i += 2;
      } else {
        x = conv->forward_relu(x);
        i += 1;
      }
      continue;
    }
    x = layers_[i]->forward(x);
  }
  return x;
}

Variable Sequential::forward_visiting(const Variable& input,
                                      const std::function<void(size_t, const Variable&)>& visit) {
  Variable x = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    x = layers_[i]->forward(x);
    visit(i, x);
  }
  return x;
}

std::vector<NamedVariable> Sequential::parameters() {
  std::vector<NamedVariable> params;
  for (size_t i = 0; i < layers_.size(); ++i) {
    for (auto& p : layers_[i]->parameters()) {
      params.push_back({"layers." + std::to_string(i) + "." + p.name, p.var});
    }
  }
  return params;
}

void Sequential::set_training(bool training) {
  Module::set_training(training);
  for (auto& layer : layers_) layer->set_training(training);
}

}  // namespace tinycnn::nn
