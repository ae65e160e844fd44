// Linear layer: weight [out_features, in_features], bias [out_features].
#pragma once

#include <cstdint>

#include "core/rng.hpp"
#include "kernels/precision.hpp"
#include "nn/init.hpp"
#include "nn/module.hpp"

namespace tinycnn::nn {

struct LinearOptions {
  int64_t in_features = 0;   // required
  int64_t out_features = 0;  // required
  bool bias = true;
  WeightInit init = WeightInit::HeNormal;
  kernels::Precision precision = kernels::Precision::Float32;  // of the products
};

class Linear : public Module {
 public:
  static constexpr const char* kClassName = "Linear";
  static constexpr bool holds(LayerKind k) { return k == LayerKind::Linear; }
  Linear(const LinearOptions& options, core::Rng& rng);

  LayerKind kind() const override { return LayerKind::Linear; }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  std::vector<NamedVariable> parameters() override;
  int64_t parameter_count() const override;

  const LinearOptions& options() const { return options_; }
  Variable& weight() { return weight_; }
  Variable& bias() { return bias_; }

 protected:
  Variable apply(const Variable& input, const StepContext& ctx) override;

 private:
  LinearOptions options_;
  Variable weight_;
  Variable bias_;
};

}  // namespace tinycnn::nn
