// BatchNorm2d ([C, H, W]) and BatchNorm1d ([F]) with PyTorch's semantics and names: parameters
// weight (γ, 1) and bias (β, 0) when affine; buffers running_mean (0), running_var (1) and
// num_batches_tracked. In a data-parallel step the replicas share the primary's running
// statistics; the step context's collective makes the statistics the whole batch's, and only
// the leading slice updates the running ones (ops/batchnorm.hpp).
#pragma once

#include <cstdint>

#include "nn/init.hpp"
#include "nn/module.hpp"
#include "ops/batchnorm.hpp"

namespace tinycnn::nn {

struct BatchNormOptions {
  int64_t features = 0;  // C
  bool spatial = true;   // batchnorm2d (else 1d)
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;
  bool allocate = true;  // false: shapes and costs only (WeightInit::None)
};

// "eps: expected > 0 ..." — messages start with the option's name.
void check_options(const BatchNormOptions& options);

class BatchNorm : public Module {
 public:
  static constexpr const char* kClassName = "BatchNorm";
  static constexpr bool holds(LayerKind k) {
    return k == LayerKind::BatchNorm2d || k == LayerKind::BatchNorm1d;
  }
  explicit BatchNorm(const BatchNormOptions& options);
  const BatchNormOptions& options() const { return options_; }
  LayerKind kind() const override {
    return options_.spatial ? LayerKind::BatchNorm2d : LayerKind::BatchNorm1d;
  }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  // forward followed by a ReLU, as one op (one pass over the output, the mask inside the
  // backward's): what Sequential runs for batchnorm + relu.
  Variable forward_relu(const Variable& input, const StepContext& ctx);
  int64_t parameter_count() const override { return options_.affine ? 2 * options_.features : 0; }
  std::vector<NamedVariable> parameters() override;
  std::vector<NamedBuffer> buffers() override;

 private:
  BatchNormOptions options_;
  Variable weight_, bias_;
  ops::BatchNormRunning running_;
  int64_t batches_tracked_ = 0;
  Variable apply(const Variable& input, const StepContext& ctx) override;
  Variable run(const Variable& input, bool relu, const StepContext& ctx);
};

}  // namespace tinycnn::nn
