// Batch normalisation over [N, C, S] (S = H*W for batchnorm2d, 1 for batchnorm1d): per channel,
// statistics over N*S values, accumulated in double (vectors of doubles, several sums at once).
// Pure: each function sums or applies over the values it is given. Where the statistics are a
// whole batch's spread over the slices of a data-parallel step, the op adds the slices' partial
// sums between these calls (ops/batchnorm.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/relu_mask.hpp"

namespace tinycnn::kernels {

struct BatchNormShape {
  int64_t batch = 0, channels = 0, spatial = 1;
};

// sums[c] = the sum of channel c's values (C entries; overwritten).
void batchnorm_sums(const BatchNormShape& s, const float* x, double* sums);
// squares[c] = the sum of (x - mean[c])^2 over channel c (C entries; overwritten).
void batchnorm_square_sums(const BatchNormShape& s, const float* x, const std::vector<double>& mean,
                           double* squares);

// y = (x - mean) * invstd * gamma + beta per channel; gamma / beta may be null (1 / 0).
// `relu`: max(0, y) instead (a ReLU fused in; NaN -> 0 as kernels::relu_forward); `mask` (or
// null, with relu only): the ReLU's mask, one row per [n][c] plane, for the backward.
void batchnorm_normalize(const BatchNormShape& s, const float* x, const std::vector<double>& mean,
                         const std::vector<double>& invstd, const float* gamma, const float* beta,
                         float* y, bool relu = false, ReluMask* mask = nullptr);

// The backward's sums (2C entries; overwritten): sums[c] = sum of dy (dbeta), sums[C + c] = sum
// of dy * xhat (dgamma), xhat = (x - mean) * invstd. `relu` (or null): the fused ReLU's mask;
// dy counts only where it is set (the values of relu_backward, then this).
void batchnorm_backward_sums(const BatchNormShape& s, const float* x, const float* dy,
                             const std::vector<double>& mean, const std::vector<double>& invstd,
                             const ReluMask* relu, std::vector<double>& sums);

// dx (overwritten) of batchnorm_normalize given dy. `batch_statistics`: mean and invstd were the
// batch's own (training), so dx includes their dependence on x through `sums` (the whole
// batch's backward sums over its `count` values per channel); otherwise they were constants
// (eval) and `sums` is not read. gamma and relu as above.
void batchnorm_backward_dx(const BatchNormShape& s, const float* x, const float* dy,
                           const std::vector<double>& mean, const std::vector<double>& invstd,
                           const float* gamma, bool batch_statistics, int64_t count,
                           const std::vector<double>& sums, const ReluMask* relu, float* dx);

}  // namespace tinycnn::kernels
