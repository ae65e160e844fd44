// Batch normalisation over [N, C, S] (S = H*W for batchnorm2d, 1 for batchnorm1d): per channel,
// statistics over N*S values. Accumulates in double (vectors of doubles, several sums at once). In
// training the statistics are the whole batch's: with a SliceReducer, the slices of a data-parallel
// step add their partial sums together (slice order), so the result depends on the slice count only
// through rounding.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/slice_reducer.hpp"

namespace tinycnn::kernels {

struct BatchNormShape {
  int64_t batch = 0, channels = 0, spatial = 1;
};

// The batch's per-channel mean and biased variance (two passes; across slices when `reducer`
// has more than one). Returns the number of values per channel over all slices.
int64_t batchnorm_statistics(const BatchNormShape& s, const float* x, SliceReducer* reducer,
                             int slice, std::vector<double>& mean, std::vector<double>& var);

// y = (x - mean) * invstd * gamma + beta per channel; gamma / beta may be null (1 / 0).
// `relu`: max(0, y) instead (a ReLU fused in; NaN -> 0 as kernels::relu_forward).
void batchnorm_normalize(const BatchNormShape& s, const float* x, const std::vector<double>& mean,
                         const std::vector<double>& invstd, const float* gamma, const float* beta,
                         float* y, bool relu = false);

// Gradients of batchnorm_normalize given dy. `batch_statistics`: mean and invstd were the
// batch's own (training), so dx includes their dependence on x (a reduction across slices when
// `reducer` has more than one); otherwise they were constants (eval). dgamma / dbeta are this
// slice's sums (the data-parallel step adds the slices' parameter gradients itself); each of
// dx, dgamma, dbeta may be null when not wanted. `relu_output` (or null): the fused ReLU's
// output; dy counts only where it is positive (the values of relu_backward, then this).
void batchnorm_backward(const BatchNormShape& s, const float* x, const float* dy,
                        const std::vector<double>& mean, const std::vector<double>& invstd,
                        const float* gamma, bool batch_statistics, int64_t count,
                        SliceReducer* reducer, int slice, float* dx, float* dgamma, float* dbeta,
                        const float* relu_output = nullptr);

}  // namespace tinycnn::kernels
