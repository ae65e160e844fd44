// Geometry of 2-D convolution and pooling: every size a kernel needs, in one plain struct, and
// the output-size formula floor((in + 2*pad - kernel) / stride) + 1 they share.
// Validation with user-facing messages happens in nn (output_shape); here only sanity checks.
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

// floor((in + 2*pad - kernel) / stride) + 1; may be <= 0 for impossible shapes (callers check).
int64_t output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad);

struct Conv2dGeometry {
  int64_t batch = 1;
  int64_t in_channels = 1;
  int64_t in_h = 1;
  int64_t in_w = 1;
  int64_t out_channels = 1;
  int64_t kernel_h = 1;
  int64_t kernel_w = 1;
  int64_t stride_h = 1;
  int64_t stride_w = 1;
  int64_t pad_h = 0;
  int64_t pad_w = 0;
  int64_t groups = 1;

  int64_t out_h() const { return output_size(in_h, kernel_h, stride_h, pad_h); }
  int64_t out_w() const { return output_size(in_w, kernel_w, stride_w, pad_w); }
  int64_t in_per_group() const { return in_channels / groups; }
  int64_t out_per_group() const { return out_channels / groups; }
  // The im2col matrix of one image and one group: [col_rows, col_cols].
  int64_t col_rows() const { return in_per_group() * kernel_h * kernel_w; }
  int64_t col_cols() const { return out_h() * out_w(); }
  int64_t weight_numel() const { return out_channels * col_rows(); }
  int64_t output_numel() const { return batch * out_channels * out_h() * out_w(); }
  // Throws core::Error when sizes are non-positive, groups do not divide, or output is empty.
  void check() const;
};

// The convolution whose forward is a stride-1 convolution's dinput: doutput zero-padded by
// K - 1 - pad, input and output channels swapped (with the kernel flipped in space, which is the
// caller's to lay out). Its output is g's input size; it needs pad <= K - 1.
Conv2dGeometry transposed_convolution(const Conv2dGeometry& g);

struct Pool2dGeometry {
  int64_t batch = 1;
  int64_t channels = 1;
  int64_t in_h = 1;
  int64_t in_w = 1;
  int64_t kernel_h = 1;
  int64_t kernel_w = 1;
  int64_t stride_h = 1;
  int64_t stride_w = 1;
  int64_t pad_h = 0;
  int64_t pad_w = 0;

  int64_t out_h() const { return output_size(in_h, kernel_h, stride_h, pad_h); }
  int64_t out_w() const { return output_size(in_w, kernel_w, stride_w, pad_w); }
  void check() const;
};

}  // namespace tinycnn::kernels
