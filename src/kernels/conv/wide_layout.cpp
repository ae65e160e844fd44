// The wide layout: its geometry and the padded image.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
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
  w.sh = g.stride_h;
  w.sw = g.stride_w;
  w.phases_h = std::min(g.kernel_h, w.sh);
  w.phases_w = std::min(g.kernel_w, w.sw);
  w.hp = (g.in_h + 2 * g.pad_h + w.sh - 1) / w.sh;
  w.wp = (g.in_w + 2 * g.pad_w + w.sw - 1) / w.sw;
  w.plane = w.hp * w.wp;
  w.oh = g.out_h();
  w.ow = g.out_w();
  w.nq = round_up(w.oh * w.wp, kRowBlock);
  w.off.reserve(static_cast<size_t>(w.taps));
  w.phase_taps.resize(static_cast<size_t>(w.phases_h * w.phases_w));
  for (int64_t c = 0; c < w.cin; ++c) {
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const int64_t phase = (c * w.phases_h + ky % w.sh) * w.phases_w + kx % w.sw;
        const int64_t in_plane = (ky / w.sh) * w.wp + kx / w.sw;
        w.off.push_back(phase * w.plane + in_plane);
        if (c == 0) {
          w.in_plane.push_back(in_plane);
          w.phase_taps[static_cast<size_t>(phase)].push_back(ky * g.kernel_w + kx);
        }
      }
    }
  }
  // Thrown-away wide columns read past their phase, the last ones past the image: room for it.
  const int64_t last_read = *std::max_element(w.off.begin(), w.off.end()) + w.nq;
  w.p_floats = std::max(w.cin * w.phases_h * w.phases_w * w.plane, last_read);
  for (int64_t m = 0; m < w.cout; ++m) w.cout_off.push_back(m * w.nq);
  w.dcol_front = round_up(*std::max_element(w.in_plane.begin(), w.in_plane.end()), kLanes);
  // Rows past the image's last (the gather's partial last row block) read up to kGatherRows - 1
  // rows further: margin for them too.
  w.dcol_stride =
      w.dcol_front + round_up(std::max(w.nq, w.plane + kGatherRows * w.wp + kLanes), kLanes);
  w.wide_floats = w.cout * w.nq + 2 * kLanes;
  return w;
}

int64_t phase_offset(const Conv2dGeometry& g, const Wide& w, int64_t y, int64_t x0) {
  const int64_t py = y + g.pad_h, px = x0 + g.pad_w;
  const int64_t a = py % w.sh, b = px % w.sw;
  if (a >= w.phases_h || b >= w.phases_w) return -1;
  return (a * w.phases_w + b) * w.plane + (py / w.sh) * w.wp + px / w.sw;
}

void deinterleave(const float* src, int64_t n, float* even, float* odd) {
  int64_t k = 0;
  for (; 2 * k + 2 * kLanes <= n; k += kLanes) {
    const simd::Vec a = simd::load(src + 2 * k), b = simd::load(src + 2 * k + kLanes);
    if (even) simd::store(even + k, simd::even(a, b));
    if (odd) simd::store(odd + k, simd::odd(a, b));
  }
  for (; 2 * k < n; ++k) {
    if (even) even[k] = src[2 * k];
    if (odd && 2 * k + 1 < n) odd[k] = src[2 * k + 1];
  }
}

void interleave(const float* even, const float* odd, int64_t n, float* dst) {
  int64_t k = 0;
  for (; 2 * k + 2 * kLanes <= n; k += kLanes) {
    const simd::Vec a = even ? simd::load(even + k) : simd::Vec{};
    const simd::Vec b = odd ? simd::load(odd + k) : simd::Vec{};
    simd::store(dst + 2 * k, simd::zip_low(a, b));
    simd::store(dst + 2 * k + kLanes, simd::zip_high(a, b));
  }
  for (; 2 * k < n; ++k) {
    dst[2 * k] = even ? even[k] : 0.0f;
    if (2 * k + 1 < n) dst[2 * k + 1] = odd ? odd[k] : 0.0f;
  }
}

void pad_image(const Conv2dGeometry& g, const Wide& w, const float* image, float* p) {
  if (w.sh == 1 && w.sw == 1) {
    for (int64_t c = 0; c < w.cin; ++c) {
      for (int64_t y = 0; y < g.in_h; ++y) {
        const float* src = image + (c * g.in_h + y) * g.in_w;
        simd::copy(p + c * w.plane + (y + g.pad_h) * w.wp + g.pad_w, src, g.in_w);
      }
    }
    return;
  }
  // Columns x0, x0 + sw, ... of a row go to one phase, consecutively (no division per pixel).
  const int64_t channel_floats = w.phases_h * w.phases_w * w.plane;
  for (int64_t c = 0; c < w.cin; ++c) {
    for (int64_t y = 0; y < g.in_h; ++y) {
      const float* src = image + (c * g.in_h + y) * g.in_w;
      auto at = [&](int64_t x0) {
        const int64_t o = phase_offset(g, w, y, x0);
        return o < 0 ? nullptr : p + c * channel_floats + o;
      };
      if (w.sw == 2) {
        deinterleave(src, g.in_w, at(0), at(1));
        continue;
      }
      for (int64_t x0 = 0; x0 < std::min(w.sw, g.in_w); ++x0) {
        float* to = at(x0);
        if (!to) continue;
        for (int64_t x = x0, j = 0; x < g.in_w; x += w.sw, ++j) to[j] = src[x];
      }
    }
  }
}

}  // namespace tinycnn::kernels
