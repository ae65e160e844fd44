// conv2d as an autograd op: input [N, C, H, W], weight [OC, C/groups, KH, KW], optional bias [OC]
// -> [N, OC, OH, OW], computed by the naive or the im2col kernel.
#pragma once

#include <cstdint>

#include "autograd/variable.hpp"
#include "kernels/conv2d.hpp"

namespace tinycnn::ops {

using autograd::Variable;

struct Conv2dParams {
  int64_t stride_h = 1;
  int64_t stride_w = 1;
  int64_t pad_h = 0;
  int64_t pad_w = 0;
  int64_t groups = 1;
  kernels::ConvAlgo algo = kernels::ConvAlgo::Im2col;
  bool relu = false;  // a ReLU fused in: the output is max(0, convolution)
};

// While recording a graph, the im2col forward keeps its column matrices for the backward pass
// (saving an im2col per image there) when they hold at most this many floats (64 MiB).
inline constexpr int64_t kMaxSavedColumnFloats = int64_t{16} << 20;

// bias may be an undefined Variable (no bias).
Variable conv2d(const Variable& input, const Variable& weight, const Variable& bias,
                const Conv2dParams& params);

// conv2d, then ReLU, then a 2x2 / stride 2 max pool, as one op: [N, OC, OH/2, OW/2]. The values
// and gradients of the three ops in turn; params.relu is implied.
Variable conv2d_relu_maxpool2x2(const Variable& input, const Variable& weight, const Variable& bias,
                                const Conv2dParams& params);

// The kernel geometry for these operand shapes; throws on inconsistent shapes.
kernels::Conv2dGeometry conv2d_geometry(const tensor::Shape& input, const tensor::Shape& weight,
                                        const Conv2dParams& params);

}  // namespace tinycnn::ops
