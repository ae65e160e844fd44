// Output-size arithmetic and the sanity checks shared by every conv / pool kernel.
#include "kernels/geometry.hpp"

#include "core/error.hpp"

namespace tinycnn::kernels {

int64_t output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  if (stride <= 0) return 0;
  const int64_t span = in + 2 * pad - kernel;
  if (span < 0) return 0;
  return span / stride + 1;
}

Conv2dGeometry transposed_convolution(const Conv2dGeometry& g) {
  return {.batch = g.batch,
          .in_channels = g.out_channels,
          .in_h = g.out_h(),
          .in_w = g.out_w(),
          .out_channels = g.in_channels,
          .kernel_h = g.kernel_h,
          .kernel_w = g.kernel_w,
          .pad_h = g.kernel_h - 1 - g.pad_h,
          .pad_w = g.kernel_w - 1 - g.pad_w,
          .groups = g.groups};
}

void Conv2dGeometry::check() const {
  TCNN_CHECK(batch > 0 && in_channels > 0 && in_h > 0 && in_w > 0 && out_channels > 0,
             "conv2d: expected positive sizes, got batch ", batch, ", input ", in_channels, "x",
             in_h, "x", in_w, ", out_channels ", out_channels);
  TCNN_CHECK(
      kernel_h > 0 && kernel_w > 0 && stride_h > 0 && stride_w > 0 && pad_h >= 0 && pad_w >= 0,
      "conv2d: expected kernel > 0, stride > 0, padding >= 0, got kernel ", kernel_h, "x", kernel_w,
      ", stride ", stride_h, "x", stride_w, ", padding ", pad_h, "x", pad_w);
  TCNN_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0,
             "conv2d: groups ", groups, " must divide in_channels ", in_channels,
             " and out_channels ", out_channels);
  TCNN_CHECK(out_h() > 0 && out_w() > 0, "conv2d: kernel ", kernel_h, "x", kernel_w,
             " with padding ", pad_h, "x", pad_w, " does not fit input ", in_h, "x", in_w);
}

void Pool2dGeometry::check() const {
  TCNN_CHECK(batch > 0 && channels > 0 && in_h > 0 && in_w > 0, "pool2d: expected positive sizes");
  TCNN_CHECK(
      kernel_h > 0 && kernel_w > 0 && stride_h > 0 && stride_w > 0 && pad_h >= 0 && pad_w >= 0,
      "pool2d: expected kernel > 0, stride > 0, padding >= 0");
  TCNN_CHECK(2 * pad_h <= kernel_h && 2 * pad_w <= kernel_w, "pool2d: padding ", pad_h, "x", pad_w,
             " must be at most half the kernel ", kernel_h, "x", kernel_w);
  TCNN_CHECK(out_h() > 0 && out_w() > 0, "pool2d: kernel ", kernel_h, "x", kernel_w,
             " does not fit input ", in_h, "x", in_w);
}

}  // namespace tinycnn::kernels
