// maxpool2d and avgpool2d as autograd ops over [N, C, H, W].
#pragma once

#include <cstdint>

#include "autograd/variable.hpp"
#include "kernels/geometry.hpp"

namespace tinycnn::ops {

using autograd::Variable;

struct Pool2dParams {
  int64_t kernel_h = 2;
  int64_t kernel_w = 2;
  int64_t stride_h = 2;
  int64_t stride_w = 2;
  int64_t pad_h = 0;
  int64_t pad_w = 0;
};

kernels::Pool2dGeometry pool2d_geometry(const tensor::Shape& input, const Pool2dParams& params);

Variable maxpool2d(const Variable& input, const Pool2dParams& params);
Variable avgpool2d(const Variable& input, const Pool2dParams& params);

}  // namespace tinycnn::ops
