// The wide layout: its geometry and the padded image.
#include "kernels/conv/wide_layout.hpp"

#include <algorithm>

#include "kernels/conv/row_gemm.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

using simd::kLanes;

Wide make_wide(const Conv2dGeometry& g) {
  Wide w;
  w.cin = g.in_per_group();
  w.cout = g.out_per_group();
  w.taps = g.col_rows();
  w.hp = g.in_h + 2 * g.pad_h;
  w.wp = g.in_w + 2 * g.pad_w;
  w.plane = w.hp * w.wp;
  w.oh = g.out_h();
  w.ow = g.out_w();
  w.nq = round_up(w.oh * w.wp, kRowBlock);
  w.off.reserve(static_cast<size_t>(w.taps));
  for (int64_t c = 0; c < w.cin; ++c) {
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) w.off.push_back(c * w.plane + ky * w.wp + kx);
    }
  }
  // Thrown-away wide columns read past their channel, the last ones past the plane: room for it.
  w.p_floats = std::max(w.cin * w.plane, w.off.back() + w.nq);
  for (int64_t m = 0; m < w.cout; ++m) w.cout_off.push_back(m * w.nq);
  w.dcol_front = round_up((g.kernel_h - 1) * w.wp + g.kernel_w - 1, kLanes);
  // Rows past the image's last (the gather's partial last row block) read up to kGatherRows - 1
  // rows further: margin for them too.
  w.dcol_stride =
      w.dcol_front + round_up(std::max(w.nq, w.plane + kGatherRows * w.wp + kLanes), kLanes);
  w.wide_floats = w.cout * w.nq + 2 * kLanes;
  return w;
}

void pad_image(const Conv2dGeometry& g, const Wide& w, const float* image, float* p) {
  for (int64_t c = 0; c < w.cin; ++c) {
    for (int64_t y = 0; y < g.in_h; ++y) {
      const float* src = image + (c * g.in_h + y) * g.in_w;
      simd::copy(p + c * w.plane + (y + g.pad_h) * w.wp + g.pad_w, src, g.in_w);
    }
  }
}

}  // namespace tinycnn::kernels
