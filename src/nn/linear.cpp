// Linear layer: weights and bias by LinearOptions::init, [F] -> [out_features].
#include "nn/linear.hpp"

#include "core/error.hpp"
#include "nn/init.hpp"
#include "ops/linear.hpp"

namespace tinycnn::nn {

Linear::Linear(const LinearOptions& o, core::Rng& rng) : options_(o) {
  TCNN_CHECK(o.in_features > 0, "linear: expected in_features > 0, got ", o.in_features);
  TCNN_CHECK(o.out_features > 0, "linear: expected out_features > 0, got ", o.out_features);
  if (o.init == WeightInit::None) return;
  Tensor w = Tensor::empty({o.out_features, o.in_features});
  Tensor b = o.bias ? Tensor::zeros({o.out_features}) : Tensor();
  init_parameters(o.init, w, o.bias ? &b : nullptr, o.in_features, rng);
  weight_ = Variable(w, true);
  if (o.bias) bias_ = Variable(b, true);
}

std::string Linear::describe() const {
  return "linear(" + std::to_string(options_.in_features) + "->" +
         std::to_string(options_.out_features) + (options_.bias ? ")" : ", no bias)");
}

Shape Linear::output_shape(const Shape& input) const {
  TCNN_CHECK(input.rank() == 1, "linear: expected a flat input [F] (add a flatten layer), got ",
             input.to_string());
  TCNN_CHECK(input[0] == options_.in_features, "linear: expected ", options_.in_features,
             " input features, got ", input[0]);
  return {options_.out_features};
}

int64_t Linear::parameter_count() const {
  return options_.out_features * options_.in_features + (options_.bias ? options_.out_features : 0);
}

Variable Linear::apply(const Variable& input, const StepContext&) {
  TCNN_CHECK(weight_.defined(), "linear: built without weights (shape analysis only)");
  return ops::linear(input, weight_, bias_, options_.precision);
}

std::vector<NamedVariable> Linear::parameters() {
  if (!weight_.defined()) return {};  // built for shape analysis only
  std::vector<NamedVariable> params{{"weight", weight_}};
  if (bias_.defined()) params.push_back({"bias", bias_});
  return params;
}

}  // namespace tinycnn::nn
