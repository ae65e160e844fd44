// LayerNorm and GroupNorm layers.
#include "nn/groupnorm.hpp"

#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "ops/groupnorm.hpp"

namespace tinycnn::nn {

void check_options(const GroupNormOptions& o) {
  TCNN_CHECK(o.example.rank() == 1 || o.example.rank() == 3,
             "input: expected [C, H, W] or [F], got ", o.example.to_string());
  const int64_t channels = o.example[0];
  TCNN_CHECK(o.groups >= 1 && channels % o.groups == 0, "num_groups: expected a divisor of ",
             channels, " channels, got ", o.groups);
  TCNN_CHECK(!o.layer || o.groups == 1, "num_groups: layernorm normalises one group, got ",
             o.groups);
  TCNN_CHECK(std::isfinite(o.eps) && o.eps > 0 && o.eps <= 1, "eps: expected 0 < eps <= 1, got ",
             o.eps);
}

GroupNorm::GroupNorm(const GroupNormOptions& o) : options_(o) {
  check_options(o);
  if (!o.allocate || !o.affine) return;
  weight_ = Variable(Tensor::full(affine_shape(), 1.0f), true);
  bias_ = Variable(Tensor::zeros(affine_shape()), true);
}

Shape GroupNorm::affine_shape() const {
  return options_.layer ? options_.example : Shape{options_.example[0]};
}

std::string GroupNorm::describe() const {
  std::ostringstream out;
  out << type() << "(";
  if (options_.layer) {
    out << options_.example.to_string();
  } else {
    out << options_.groups << " groups of " << options_.example[0] / options_.groups;
  }
  if (options_.eps != 1e-5) out << ", eps=" << options_.eps;
  if (!options_.affine) out << ", no affine";
  out << ")";
  return out.str();
}

Shape GroupNorm::output_shape(const Shape& input) const {
  TCNN_CHECK(input == options_.example, type(), ": expected a ", options_.example.to_string(),
             " input, got ", input.to_string());
  return input;
}

Variable GroupNorm::apply(const Variable& input, const StepContext&) {
  TCNN_CHECK(!options_.affine || weight_.defined(), type(),
             ": built without weights (shape analysis only)");
  return ops::group_norm(
      input, weight_, bias_,
      {.groups = options_.groups, .eps = options_.eps, .per_element = options_.layer});
}

std::vector<NamedVariable> GroupNorm::parameters() {
  if (!weight_.defined()) return {};
  return {{"weight", weight_}, {"bias", bias_}};
}

}  // namespace tinycnn::nn
