// Group normalisation over [N, G, M]: each (example, group) row of M contiguous values is
// normalised by its own mean and biased variance (sums in double), then scaled and shifted per
// affine entry: value i of an example (i < G * M) takes gamma / beta[i / affine_repeat]
// (affine_repeat = H * W for groupnorm's per-channel affine, 1 for layernorm's per-element one).
// A row needs no other row's values: no sums cross examples, so no slice of a data-parallel
// step waits for another.
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

struct GroupNormShape {
  int64_t batch = 0, groups = 1, group_size = 1, affine_repeat = 1;
  int64_t example() const { return groups * group_size; }
  int64_t affine_size() const { return example() / affine_repeat; }
};

// mean and invstd (N * G entries each, overwritten): each row's mean and 1 / sqrt(var + eps).
void groupnorm_statistics(const GroupNormShape& s, const float* x, double eps, double* mean,
                          double* invstd);

// y = (x - mean) * invstd * gamma + beta; gamma / beta may be null (1 / 0).
void groupnorm_normalize(const GroupNormShape& s, const float* x, const double* mean,
                         const double* invstd, const float* gamma, const float* beta, float* y);

// The backward given dy. Each output may be null (not wanted) and is overwritten: dx [N, G*M];
// dgamma and dbeta (affine_size() entries): the sums over the batch of dy * xhat and of dy.
// gamma may be null (1).
void groupnorm_backward(const GroupNormShape& s, const float* x, const float* dy,
                        const double* mean, const double* invstd, const float* gamma, float* dx,
                        float* dgamma, float* dbeta);

}  // namespace tinycnn::kernels
