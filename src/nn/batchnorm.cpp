// Batch-norm layers.
#include "nn/batchnorm.hpp"

#include <cmath>
#include <sstream>

#include "core/error.hpp"

namespace tinycnn::nn {

void check_options(const BatchNormOptions& o) {
  TCNN_CHECK(o.features >= 1, "features: expected at least 1, got ", o.features);
  TCNN_CHECK(std::isfinite(o.eps) && o.eps > 0 && o.eps <= 1, "eps: expected 0 < eps <= 1, got ",
             o.eps);
  TCNN_CHECK(std::isfinite(o.momentum) && o.momentum >= 0 && o.momentum <= 1,
             "momentum: expected 0 <= momentum <= 1, got ", o.momentum);
}

BatchNorm::BatchNorm(const BatchNormOptions& o) : options_(o) {
  check_options(o);
  if (!o.allocate) return;
  if (o.affine) {
    weight_ = Variable(Tensor::full({o.features}, 1.0f), true);
    bias_ = Variable(Tensor::zeros({o.features}), true);
  }
  running_.mean = Tensor::zeros({o.features});
  running_.var = Tensor::full({o.features}, 1.0f);
  running_.batches_tracked = &batches_tracked_;
}

std::string BatchNorm::describe() const {
  std::ostringstream out;
  out << type() << "(" << options_.features;
  if (options_.eps != 1e-5) out << ", eps=" << options_.eps;
  if (options_.momentum != 0.1) out << ", momentum=" << options_.momentum;
  if (!options_.affine) out << ", no affine";
  out << ")";
  return out.str();
}

Shape BatchNorm::output_shape(const Shape& input) const {
  if (options_.spatial) {
    TCNN_CHECK(input.rank() == 3, "batchnorm2d: expected a [C, H, W] input, got ",
               input.to_string(), " (batchnorm1d takes [F])");
  } else {
    TCNN_CHECK(input.rank() == 1, "batchnorm1d: expected a flat [F] input, got ", input.to_string(),
               " (batchnorm2d takes [C, H, W])");
  }
  TCNN_CHECK(input[0] == options_.features, type(), ": expected ", options_.features,
             " channels, got ", input[0]);
  return input;
}

Variable BatchNorm::run(const Variable& input, bool relu, const StepContext& ctx) {
  TCNN_CHECK(running_.mean.defined(), type(), ": built without weights (shape analysis only)");
  const ops::BatchNormParams params{
      .eps = options_.eps, .momentum = options_.momentum, .training = training(), .relu = relu};
  return ops::batch_norm(input, weight_, bias_, running_, params, ctx);
}

Variable BatchNorm::apply(const Variable& input, const StepContext& ctx) {
  return run(input, false, ctx);
}
Variable BatchNorm::forward_relu(const Variable& input, const StepContext& ctx) {
  return run(input, true, ctx);
}

std::vector<NamedVariable> BatchNorm::parameters() {
  if (!weight_.defined()) return {};
  return {{"weight", weight_}, {"bias", bias_}};
}

std::vector<NamedBuffer> BatchNorm::buffers() {
  if (!running_.mean.defined()) return {};
  return {{"running_mean", &running_.mean, nullptr},
          {"running_var", &running_.var, nullptr},
          {"num_batches_tracked", nullptr, &batches_tracked_}};
}

}  // namespace tinycnn::nn
