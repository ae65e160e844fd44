// A model's forward pass in double precision, written apart from the float kernels: the
// objective of the gradient check. Finite differences of a float32 forward are noise-limited
// (its rounding, ~1e-6 of the loss, over a nudge of 2e-3 is ~1e-3 of a typical gradient entry);
// in double that noise is ~1e-15 and the check measures the float backward alone.
// Same semantics as the layers' forward: batch norm on batch statistics in training mode and on
// the running statistics in eval mode (never updating them), dropout the identity (the check runs
// it off), average pooling counting padding, max pooling's first maximum.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "nn/module.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::check {

struct DoubleBatch {
  int64_t batch = 0;
  tensor::Shape example;       // one example's shape, [C, H, W] or [F]
  std::vector<double> values;  // batch * example.numel(), row-major
};

DoubleBatch to_double(const tensor::Tensor& batch);  // [N, ...]

// Which piece of a piecewise-linear model the float forward chose, per layer: which outputs of
// each ReLU are positive, which input won each max-pool window (its index in the plane).
struct Pieces {
  std::unordered_map<const nn::Module*, std::vector<uint8_t>> relu_positive;
  std::unordered_map<const nn::Module*, std::vector<int32_t>> pool_argmax;
};

// `layer` (a Sequential, a block or a single layer) applied to `x`. With `pieces`, every ReLU
// and max pool it names follows the given piece (a ReLU passes or zeroes as recorded; a pool
// takes the recorded input) instead of deciding again: the model restricted to one linear
// piece, smooth around the point where the pieces were recorded, whose derivative there is what
// the float backward computes. A layer type this file does not know runs its own float forward.
DoubleBatch forward_double(nn::Module& layer, DoubleBatch x, const Pieces* pieces = nullptr);

// Mean softmax cross-entropy of [N, K] logits.
double mean_cross_entropy(const DoubleBatch& logits, const std::vector<int32_t>& labels);

}  // namespace tinycnn::check
