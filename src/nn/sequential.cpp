// Sequential container.
#include "nn/sequential.hpp"

#include "core/error.hpp"
#include "nn/batchnorm.hpp"
#include "nn/conv2d.hpp"
#include "nn/residual.hpp"

namespace tinycnn::nn {

void Sequential::add(std::unique_ptr<Module> layer) {
  layers_.push_back(std::move(layer));
  planned_ = false;
}

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

const std::vector<FusedStep>& Sequential::plan() {
  if (!planned_) {
    plan_ = plan_fusion(layers_);
    planned_ = true;
  }
  return plan_;
}

Variable Sequential::apply(const Variable& input, const StepContext& ctx) {
  Variable x = input;
  for (const FusedStep& step : plan()) {
    Module& first = *layers_[step.first];
    switch (step.kind) {
      case FusedStep::Kind::Layer:
        x = first.forward(x, ctx);
        break;
      case FusedStep::Kind::ConvRelu:
        x = static_cast<Conv2d&>(first).forward_relu(x);
        break;
      case FusedStep::Kind::ConvReluPool:
        x = static_cast<Conv2d&>(first).forward_relu_pool2x2(x);
        break;
      case FusedStep::Kind::ResidualRelu:
        x = static_cast<Residual&>(first).forward_relu(x, ctx);
        break;
      case FusedStep::Kind::BatchNormRelu:
        x = static_cast<BatchNorm&>(first).forward_relu(x, ctx);
        break;
    }
  }
  return x;
}

std::vector<NamedChild> Sequential::children() {
  std::vector<NamedChild> out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    out.push_back({prefix_ + "." + std::to_string(i), layers_[i].get()});
  }
  return out;
}

int64_t Sequential::parameter_count() const {
  int64_t sum = 0;
  for (const auto& layer : layers_) sum += layer->parameter_count();
  return sum;
}

std::vector<NamedVariable> Sequential::parameters() {
  std::vector<NamedVariable> params;
  for (const NamedChild& child : children()) {
    for (auto& p : child.module->parameters()) {
      params.push_back({child.name + "." + p.name, p.var});
    }
  }
  return params;
}

std::vector<NamedBuffer> Sequential::buffers() {
  std::vector<NamedBuffer> out;
  for (const NamedChild& child : children()) {
    for (auto& b : child.module->buffers()) {
      out.push_back({child.name + "." + b.name, b.f32, b.i64});
    }
  }
  return out;
}

void Sequential::set_training(bool training) {
  Module::set_training(training);
  for (auto& layer : layers_) layer->set_training(training);
}

}  // namespace tinycnn::nn
