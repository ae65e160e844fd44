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

Variable Flatten::forward(const Variable& input) { return ops::flatten(input); }

std::string Activation::type() const {
  switch (kind_) {
    case Kind::Relu:
      return "relu";
    case Kind::Tanh:
      return "tanh";
    case Kind::Sigmoid:
      return "sigmoid";
  }
  return "activation";
}

Variable Activation::forward(const Variable& input) {
  switch (kind_) {
    case Kind::Relu:
      return ops::relu(input);
    case Kind::Tanh:
      return ops::tanh(input);
    case Kind::Sigmoid:
      return ops::sigmoid(input);
  }
  return input;
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

Variable Dropout::forward(const Variable& input) {
  if (!training() || options_.p == 0.0f) return input;
  return ops::dropout(input, options_.p, rng_);
}

}  // namespace tinycnn::nn
