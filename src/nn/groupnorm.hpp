// LayerNorm and GroupNorm with PyTorch's semantics and names. groupnorm: an example's C channels
// in num_groups groups, each normalised by its own statistics, weight (γ, 1) and bias (β, 0) of
// [C] when affine (nn.GroupNorm). layernorm: the whole example normalised as one group, weight
// and bias shaped as the example (nn.LayerNorm(normalized_shape = [C, H, W] or [F])). Neither
// has running statistics: training and eval compute the same thing, one example at a time.
#pragma once

#include <cstdint>

#include "nn/module.hpp"

namespace tinycnn::nn {

struct GroupNormOptions {
  Shape example;       // the input's per-example shape: [C, H, W] or [F]
  int64_t groups = 1;  // num_groups (layernorm: 1)
  double eps = 1e-5;
  bool affine = true;
  bool layer = false;    // layernorm: the affine is per element of the example
  bool allocate = true;  // false: shapes and costs only (WeightInit::None)
};

// "num_groups: expected ..." — messages start with the option's name.
void check_options(const GroupNormOptions& options);

class GroupNorm : public Module {
 public:
  static constexpr const char* kClassName = "GroupNorm";
  static constexpr bool holds(LayerKind k) {
    return k == LayerKind::LayerNorm || k == LayerKind::GroupNorm;
  }
  explicit GroupNorm(const GroupNormOptions& options);
  const GroupNormOptions& options() const { return options_; }
  LayerKind kind() const override {
    return options_.layer ? LayerKind::LayerNorm : LayerKind::GroupNorm;
  }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  // The affine parameters' shape: the example's (layernorm) or [C].
  Shape affine_shape() const;
  int64_t parameter_count() const override {
    return options_.affine ? 2 * affine_shape().numel() : 0;
  }
  std::vector<NamedVariable> parameters() override;
  const Variable& weight() const { return weight_; }
  const Variable& bias() const { return bias_; }

 private:
  GroupNormOptions options_;
  Variable weight_, bias_;
  Variable apply(const Variable& input, const StepContext& ctx) override;
};

}  // namespace tinycnn::nn
