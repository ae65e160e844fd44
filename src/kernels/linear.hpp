// Fully connected layer: output[N, out] = input[N, in] x weight[out, in]^T + bias[out].
// Backward: dinput = doutput x weight, dweight = doutput^T x input, dbias = sum_n doutput.
// Backward overwrites; pass nullptr to skip a gradient.
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

struct LinearGeometry {
  int64_t batch = 1;
  int64_t in_features = 1;
  int64_t out_features = 1;
};

void linear_forward(const LinearGeometry& g, const float* input, const float* weight,
                    const float* bias, float* output);
void linear_backward(const LinearGeometry& g, const float* input, const float* weight,
                     const float* doutput, float* dinput, float* dweight, float* dbias);

}  // namespace tinycnn::kernels
