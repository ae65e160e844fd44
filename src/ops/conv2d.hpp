// conv2d as an autograd op: input [N, C, H, W], weight [OC, C/groups, KH, KW], optional bias [OC]
// -> [N, OC, OH, OW], computed as the layer's convolution plan says (kernels/conv_plan.hpp).
#pragma once

#include <cstdint>
#include <memory>

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
  kernels::Precision precision = kernels::Precision::Float32;
  // The plan made for these shapes (a layer's, made once); null: `algo` planned for this call.
  // The graph keeps it until the backward has run.
  std::shared_ptr<const kernels::ConvPlan> plan = nullptr;
  bool relu = false;  // a ReLU fused in: the output is max(0, convolution)
};

// The plan `params` carries, or `params.algo`'s in `params.precision` for `g`.
std::shared_ptr<const kernels::ConvPlan> conv_plan(const kernels::Conv2dGeometry& g,
                                                   const Conv2dParams& params);

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
