// Parameter-free layers.
#include "nn/simple_layers.hpp"

#include <sstream>

#include "core/error.hpp"
#include "ops/activation.hpp"
#include "ops/reshape.hpp"

namespace tinycnn::nn {

Shape Flatten::output_shape(const Shape& input) const {
  TCNN_CHECK(input.rank() >= 1, "flatten: expected a non-empty shape");
  return {input.numel()};
}

Variable Flatten::apply(const Variable& input, const StepContext&) { return ops::flatten(input); }

Activation::Activation(LayerKind kind) : kind_(kind) {
  TCNN_CHECK(kind == LayerKind::Relu || kind == LayerKind::Tanh || kind == LayerKind::Sigmoid,
             "activation: expected relu, tanh or sigmoid, got ", name_of(kind));
}

Variable Activation::apply(const Variable& input, const StepContext&) {
  if (kind_ == LayerKind::Relu) return ops::relu(input);
  if (kind_ == LayerKind::Tanh) return ops::tanh(input);
  return ops::sigmoid(input);
}

Dropout::Dropout(const DropoutOptions& options) : options_(options), rng_(options.seed) {
  TCNN_CHECK(options.p >= 0.0f && options.p < 1.0f, "dropout: expected p in [0, 1), got ",
             options.p);
}

std::string Dropout::describe() const {
  std::ostringstream out;
  out << "dropout(p=" << options_.p << ")";
  return out.str();
}

Variable Dropout::apply(const Variable& input, const StepContext&) {
  if (!training() || options_.p == 0.0f) return input;
  return ops::dropout(input, options_.p, rng_);
}

}  // namespace tinycnn::nn
