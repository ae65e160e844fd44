// Fully connected layer: output[N, out] = input[N, in] x weight[out, in]^T + bias[out].
// Backward: dinput = doutput x weight, dweight = doutput^T x input, dbias = sum_n doutput.
// Backward overwrites; pass nullptr to skip a gradient.
// In bf16 (Precision::Bf16) the products run on bfloat16-rounded operands (input, weight,
// doutput) with float32 sums, the portable form of the bf16 products (bf16.hpp): the linear
// layers of these models are a few percent of a step, not worth kernels of their own. The bias
// and dbias stay float32.
#pragma once

#include <cstdint>

#include "kernels/precision.hpp"

namespace tinycnn::kernels {

struct LinearGeometry {
  int64_t batch = 1;
  int64_t in_features = 1;
  int64_t out_features = 1;
  Precision precision = Precision::Float32;
};

void linear_forward(const LinearGeometry& g, const float* input, const float* weight,
                    const float* bias, float* output);
void linear_backward(const LinearGeometry& g, const float* input, const float* weight,
                     const float* doutput, float* dinput, float* dweight, float* dbias);

}  // namespace tinycnn::kernels
