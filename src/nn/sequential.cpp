// Sequential container.
#include "nn/sequential.hpp"

#include "core/error.hpp"
#include "nn/conv2d.hpp"
#include "nn/simple_layers.hpp"

namespace tinycnn::nn {

Shape Sequential::output_shape(const Shape& input) const {
  Shape shape = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      shape = layers_[i]->output_shape(shape);
    } catch (const core::Error& e) {
      throw core::Error(e.kind(), "layer " + std::to_string(i) + " (" + layers_[i]->type() +
                                      "): " + e.what());
    }
  }
  return shape;
}

Variable Sequential::forward(const Variable& input) {
  Variable x = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    // conv2d followed by relu: one fused op (the same values; the layers stay two everywhere
    // else: shapes, parameters, viz, the per-layer profile).
    auto* conv = dynamic_cast<Conv2d*>(layers_[i].get());
    const auto* next =
        i + 1 < layers_.size() ? dynamic_cast<const Activation*>(layers_[i + 1].get()) : nullptr;
    if (conv && next && next->kind() == Activation::Kind::Relu) {
      x = conv->forward_relu(x);
      ++i;
      continue;
    }
    x = layers_[i]->forward(x);
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
