// Batch normalisation as an autograd op over [N, C, H, W] (batchnorm2d) or [N, F] (batchnorm1d),
// PyTorch's semantics: in training, the batch's mean and biased variance normalise the input, and
// the running statistics move towards them (unbiased variance); in eval, the running statistics
// do. In a data-parallel step the batch is the whole step's: the op sums the kernels' partial
// sums across the slices through the step context's collective (PyTorch's SyncBatchNorm), in
// the forward and again in the backward, and only the leading slice moves the running
// statistics (the replicas share them).
#pragma once

#include <cstdint>

#include "autograd/variable.hpp"
#include "runtime/collective.hpp"

namespace tinycnn::ops {

using autograd::Variable;

struct BatchNormRunning {
  tensor::Tensor mean, var;  // [C]
  int64_t* batches_tracked = nullptr;
};

struct BatchNormParams {
  double eps = 1e-5;
  double momentum = 0.1;
  bool training = true;
  bool relu = false;  // a ReLU fused in: max(0, .) of the output, its mask in the backward
};

// weight / bias (γ / β, [C]) may be undefined (affine = false). Throws in training when there
// is one value per channel (a batch of one 1x1 map), like PyTorch.
Variable batch_norm(const Variable& input, const Variable& weight, const Variable& bias,
                    BatchNormRunning& running, const BatchNormParams& params,
                    const runtime::StepContext& ctx = {});

}  // namespace tinycnn::ops
