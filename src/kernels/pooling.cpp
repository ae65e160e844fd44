// Pooling kernels, parallel over the N*C planes.
#include "kernels/pooling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tinycnn::kernels {

void maxpool2d_forward(const Pool2dGeometry& g, const float* input, float* output,
                       int32_t* argmax) {
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
            const float v = in[ih * g.in_w + iw];
            if (v > best || std::isnan(v)) {  // NaN propagates, as in PyTorch
              best = v;
              best_idx = ih * g.in_w + iw;
              if (std::isnan(v)) break;
            }
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
