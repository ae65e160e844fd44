// Pooling kernels, parallel over the N*C planes.
#include "kernels/pooling.hpp"

#include <algorithm>
#include <bit>
#include <limits>

namespace tinycnn::kernels {

namespace {
// The common 2x2 / stride 2 / no padding case: every window is inside the image. The winner is
// found without data-dependent branches (on real data "is this the max?" is a coin flip, and
// mispredicted branches made this loop 4x slower): max of the four, then the first position
// holding it as the lowest set bit of a mask. NaN wins, as in PyTorch.
void maxpool2x2_forward(const Pool2dGeometry& g, const float* input, float* output,
                        int32_t* argmax) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), w = g.in_w;
  const int64_t planes = g.batch * g.channels;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = input + p * g.in_h * w;
    float* out = output + p * oh_n * ow_n;
    int32_t* idx = argmax + p * oh_n * ow_n;
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const int32_t i0 = static_cast<int32_t>(2 * oh * w + 2 * ow);
        const int32_t offset[4] = {i0, i0 + 1, i0 + static_cast<int32_t>(w),
                                   i0 + static_cast<int32_t>(w) + 1};
        const float a = in[offset[0]], b = in[offset[1]], c = in[offset[2]], d = in[offset[3]];
        const float m = std::max(std::max(a, b), std::max(c, d));
        const unsigned hit = static_cast<unsigned>(a == m) | static_cast<unsigned>(b == m) << 1 |
                             static_cast<unsigned>(c == m) << 2 | static_cast<unsigned>(d == m) << 3;
        const unsigned nan = static_cast<unsigned>(a != a) | static_cast<unsigned>(b != b) << 1 |
                             static_cast<unsigned>(c != c) << 2 | static_cast<unsigned>(d != d) << 3;
        const int k = std::countr_zero(nan ? nan : hit);
        out[oh * ow_n + ow] = in[offset[k]];
        idx[oh * ow_n + ow] = offset[k];
      }
    }
  }
}
}  // namespace

void maxpool2d_forward(const Pool2dGeometry& g, const float* input, float* output,
                       int32_t* argmax) {
  if (g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_h == 0 &&
      g.pad_w == 0) {
    maxpool2x2_forward(g, input, output, argmax);
    return;
  }
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  const int64_t planes = g.batch * g.channels;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = input + p * g.in_h * g.in_w;
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      const int64_t h0 = oh * g.stride_h - g.pad_h;
      const int64_t h_lo = std::max<int64_t>(h0, 0), h_hi = std::min(h0 + g.kernel_h, g.in_h);
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const int64_t w0 = ow * g.stride_w - g.pad_w;
        const int64_t w_lo = std::max<int64_t>(w0, 0), w_hi = std::min(w0 + g.kernel_w, g.in_w);
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_idx = h_lo * g.in_w + w_lo;
        for (int64_t ih = h_lo; ih < h_hi; ++ih) {
          for (int64_t iw = w_lo; iw < w_hi; ++iw) {
            // Selects, not branches: on real data the comparison is a coin flip, and
            // mispredicted branches made this loop 5x slower. NaN is taken and then kept.
            const float v = in[ih * g.in_w + iw];
            const bool take = (v > best) | (v != v);
            best = take ? v : best;
            best_idx = take ? ih * g.in_w + iw : best_idx;
          }
        }
        const int64_t o = (p * oh_n + oh) * ow_n + ow;
        output[o] = best;
        argmax[o] = static_cast<int32_t>(best_idx);
      }
    }
  }
}

void maxpool2d_backward(const Pool2dGeometry& g, const float* doutput, const int32_t* argmax,
                        float* dinput) {
  const int64_t out_plane = g.out_h() * g.out_w(), in_plane = g.in_h * g.in_w;
  const int64_t planes = g.batch * g.channels;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    float* din = dinput + p * in_plane;
    std::fill(din, din + in_plane, 0.0f);
    for (int64_t o = 0; o < out_plane; ++o) din[argmax[p * out_plane + o]] += doutput[p * out_plane + o];
  }
}

void avgpool2d_forward(const Pool2dGeometry& g, const float* input, float* output) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  const int64_t planes = g.batch * g.channels;
  const float inv_window = 1.0f / static_cast<float>(g.kernel_h * g.kernel_w);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = input + p * g.in_h * g.in_w;
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      const int64_t h0 = oh * g.stride_h - g.pad_h;
      const int64_t h_lo = std::max<int64_t>(h0, 0), h_hi = std::min(h0 + g.kernel_h, g.in_h);
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const int64_t w0 = ow * g.stride_w - g.pad_w;
        const int64_t w_lo = std::max<int64_t>(w0, 0), w_hi = std::min(w0 + g.kernel_w, g.in_w);
        float sum = 0.0f;
        for (int64_t ih = h_lo; ih < h_hi; ++ih) {
          for (int64_t iw = w_lo; iw < w_hi; ++iw) sum += in[ih * g.in_w + iw];
        }
        output[(p * oh_n + oh) * ow_n + ow] = sum * inv_window;
      }
    }
  }
}

void avgpool2d_backward(const Pool2dGeometry& g, const float* doutput, float* dinput) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  const int64_t planes = g.batch * g.channels;
  const float inv_window = 1.0f / static_cast<float>(g.kernel_h * g.kernel_w);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    float* din = dinput + p * g.in_h * g.in_w;
    std::fill(din, din + g.in_h * g.in_w, 0.0f);
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      const int64_t h0 = oh * g.stride_h - g.pad_h;
      const int64_t h_lo = std::max<int64_t>(h0, 0), h_hi = std::min(h0 + g.kernel_h, g.in_h);
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const int64_t w0 = ow * g.stride_w - g.pad_w;
        const int64_t w_lo = std::max<int64_t>(w0, 0), w_hi = std::min(w0 + g.kernel_w, g.in_w);
        const float share = doutput[(p * oh_n + oh) * ow_n + ow] * inv_window;
        for (int64_t ih = h_lo; ih < h_hi; ++ih) {
          for (int64_t iw = w_lo; iw < w_hi; ++iw) din[ih * g.in_w + iw] += share;
        }
      }
    }
  }
}

}  // namespace tinycnn::kernels
