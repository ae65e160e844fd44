// BatchNorm2d ([C, H, W]) and BatchNorm1d ([F]) with PyTorch's semantics and names: parameters
// weight (γ, 1) and bias (β, 0) when affine; buffers running_mean (0), running_var (1) and
// num_batches_tracked. In a data-parallel step the replicas share the primary's running
// statistics, reduce the batch statistics across slices (attach()), and only slice 0 updates
// the running statistics.
#pragma once

#include <cstdint>

#include "kernels/slice_reducer.hpp"
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
  explicit BatchNorm(const BatchNormOptions& options);
  const BatchNormOptions& options() const { return options_; }
  std::string type() const override { return options_.spatial ? "batchnorm2d" : "batchnorm1d"; }
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  Variable forward(const Variable& input) override;
  // forward followed by a ReLU, as one op (one pass over the output, the mask inside the
  // backward's): what Sequential runs for batchnorm + relu.
  Variable forward_relu(const Variable& input);
  int64_t parameter_count() const override { return options_.affine ? 2 * options_.features : 0; }
  std::vector<NamedVariable> parameters() override;
  std::vector<NamedBuffer> buffers() override;
  // This layer is slice `slice` of a data-parallel step reducing through `reducer` (null: alone).
  void attach(kernels::SliceReducer* reducer, int slice);

 private:
  BatchNormOptions options_;
  Variable weight_, bias_;
  ops::BatchNormRunning running_;
  int64_t batches_tracked_ = 0;
  kernels::SliceReducer* reducer_ = nullptr;
  int slice_ = 0;
  Variable run(const Variable& input, bool relu);
};

}  // namespace tinycnn::nn
