// Row by row: each (c, kh, kw) row of the column matrix is a strided, shifted copy of one input
// plane. For stride 1 the inner copy is contiguous, which is LeNet's case and the common one.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/im2col.hpp"

#include <algorithm>

namespace tinycnn::kernels {

namespace {
// The range [lo, hi) of output positions o with 0 <= o*stride - pad + k < in.
void valid_range(int64_t in, int64_t out, int64_t stride, int64_t pad, int64_t k, int64_t& lo,
                 int64_t& hi) {
  const int64_t shift = k - pad;  // input position = o*stride + shift
  lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  hi = in - shift <= 0 ? 0 : (in - shift + stride - 1) / stride;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
}
}  // namespace

void im2col(const Conv2dGeometry& g, const float* image, float* col, int64_t ld) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  if (ld <= 0) ld = oh_n * ow_n;
  for (int64_t c = 0; c < g.in_per_group(); ++c) {
    const float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      int64_t oh_lo, oh_hi;
      valid_range(g.in_h, oh_n, g.stride_h, g.pad_h, kh, oh_lo, oh_hi);
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        int64_t ow_lo, ow_hi;
        valid_range(g.in_w, ow_n, g.stride_w, g.pad_w, kw, ow_lo, ow_hi);
        float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ld;
        std::fill(row, row + oh_lo * ow_n, 0.0f);
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          float* dst = row + oh * ow_n;
          const float* src = plane + (oh * g.stride_h - g.pad_h + kh) * g.in_w - g.pad_w + kw;
          std::fill(dst, dst + ow_lo, 0.0f);
          if (g.stride_w == 1) {
            std::copy(src + ow_lo, src + ow_hi, dst + ow_lo);
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) dst[ow] = src[ow * g.stride_w];
          }
          std::fill(dst + ow_hi, dst + ow_n, 0.0f);
        }
        std::fill(row + oh_hi * ow_n, row + ld, 0.0f);
      }
    }
  }
}

void col2im(const Conv2dGeometry& g, const float* col, float* image, int64_t ld) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  if (ld <= 0) ld = oh_n * ow_n;
  for (int64_t c = 0; c < g.in_per_group(); ++c) {
    float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      int64_t oh_lo, oh_hi;
      valid_range(g.in_h, oh_n, g.stride_h, g.pad_h, kh, oh_lo, oh_hi);
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        int64_t ow_lo, ow_hi;
        valid_range(g.in_w, ow_n, g.stride_w, g.pad_w, kw, ow_lo, ow_hi);
        const float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ld;
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          const float* src = row + oh * ow_n;
          float* dst = plane + (oh * g.stride_h - g.pad_h + kh) * g.in_w - g.pad_w + kw;
          for (int64_t ow = ow_lo; ow < ow_hi; ++ow) dst[ow * g.stride_w] += src[ow];
        }
      }
    }
  }
}

}  // namespace tinycnn::kernels
