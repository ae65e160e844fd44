// Pooling kernels, parallel over the N*C planes.
#include "kernels/pooling.hpp"

#include "kernels/simd.hpp"

#include <algorithm>
#include <limits>

namespace tinycnn::kernels {

namespace {
// The common 2x2 / stride 2 / no padding case: every window is inside the image. Selects only,
// no branches (on real data "is this the max?" is a coin flip; mispredicted branches made the
// loop 4x slower). A later element wins when it is larger, or NaN while the best so far is not:
// the first maximum, or the first NaN, as in PyTorch.
struct Winner {
  float value;
  int32_t offset;  // 0, 1, w, w + 1
};
inline Winner max4(float a, float b, float c, float d, int32_t w) {
  Winner best{a, 0};
  for (const Winner next : {Winner{b, 1}, Winner{c, w}, Winner{d, w + 1}}) {
    const bool take = (next.value > best.value) | ((next.value != next.value) & (best.value == best.value));
    best = take ? next : best;
  }
  return best;
}

// Vectors of kLanes outputs along a row (even / odd lanes of two loads give the window columns);
// a row's last vector may be partial: it reads into the next row (values unused) and stores only
// its valid lanes. Windows whose reads would leave the buffer, at its very end, go scalar.
void maxpool2x2_forward(const Pool2dGeometry& g, const float* input, float* output,
                        int32_t* argmax) {
  using namespace simd;
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), w = g.in_w;
  const int64_t rows = g.batch * g.channels * oh_n;  // output rows of all planes
  const float* input_end = input + g.batch * g.channels * g.in_h * w;
  const auto w32 = static_cast<int32_t>(w);
  const IVec lane2 = iota() + iota();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t plane = r / oh_n, oh = r % oh_n;
    const float* top = input + plane * g.in_h * w + 2 * oh * w;
    const float* bottom = top + w;
    float* out = output + r * ow_n;
    int32_t* idx = argmax + r * ow_n;
    const auto base = static_cast<int32_t>(2 * oh * w);
    int64_t ow = 0;
    for (; ow < ow_n && bottom + 2 * (ow + kLanes) <= input_end; ow += kLanes) {
      const Vec t0 = load(top + 2 * ow), t1 = load(top + 2 * ow + kLanes);
      const Vec b0 = load(bottom + 2 * ow), b1 = load(bottom + 2 * ow + kLanes);
      const Vec cand[3] = {odd(t0, t1), even(b0, b1), odd(b0, b1)};
      const int32_t cand_offset[3] = {1, w32, w32 + 1};
      Vec best = even(t0, t1);
      IVec k = IVec{};
      for (int i = 0; i < 3; ++i) {
        const IVec take = (cand[i] > best) | ((cand[i] != cand[i]) & (best == best));
        best = select(take, cand[i], best);
        k = select(take, splat_int(cand_offset[i]), k);
      }
      const IVec at = splat_int(base + static_cast<int32_t>(2 * ow)) + lane2 + k;
      const int64_t count = std::min<int64_t>(kLanes, ow_n - ow);
      store_first(out + ow, best, count);
      store_first(idx + ow, at, count);
    }
    for (; ow < ow_n; ++ow) {
      const Winner win = max4(top[2 * ow], top[2 * ow + 1], bottom[2 * ow], bottom[2 * ow + 1], w32);
      out[ow] = win.value;
      idx[ow] = base + static_cast<int32_t>(2 * ow) + win.offset;
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

namespace {
// The 2x2 / stride 2 / no padding backward, written densely: each window's four inputs get the
// gradient where the argmax points and zero elsewhere (the windows do not overlap), so no
// zero-fill pass before a scatter. Inputs outside every window (an odd last row or column) are 0.
void maxpool2x2_backward(const Pool2dGeometry& g, const float* doutput, const int32_t* argmax,
                         float* dinput) {
  using namespace simd;
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), w = g.in_w, in_plane = g.in_h * w;
  const auto w32 = static_cast<int32_t>(w);
  const IVec lane2 = iota() + iota();
  const int64_t planes = g.batch * g.channels;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    float* din = dinput + p * in_plane;
    std::fill(din + 2 * oh_n * w, din + in_plane, 0.0f);  // rows no window covers
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      float* top = din + 2 * oh * w;
      float* bottom = top + w;
      for (int64_t x = 2 * ow_n; x < w; ++x) top[x] = bottom[x] = 0.0f;
      const int64_t r = (p * oh_n + oh) * ow_n;
      const auto base = static_cast<int32_t>(2 * oh * w);
      for (int64_t ow = 0; ow < ow_n; ow += kLanes) {
        const int64_t count = std::min<int64_t>(kLanes, ow_n - ow);
        const Vec d = load_first(doutput + r + ow, count);
        // Where in its window each maximum was: 0, 1, w or w + 1.
        const IVec k = load_first(argmax + r + ow, count) -
                       (splat_int(base + static_cast<int32_t>(2 * ow)) + lane2);
        const Vec te = select(k == splat_int(0), d, Vec{}), to = select(k == splat_int(1), d, Vec{});
        const Vec be = select(k == splat_int(w32), d, Vec{});
        const Vec bo = select(k == splat_int(w32 + 1), d, Vec{});
        const int64_t n2 = 2 * count;  // floats of this chunk in each input row
        store_first(top + 2 * ow, zip_low(te, to), std::min<int64_t>(kLanes, n2));
        store_first(bottom + 2 * ow, zip_low(be, bo), std::min<int64_t>(kLanes, n2));
        if (n2 > kLanes) {
          store_first(top + 2 * ow + kLanes, zip_high(te, to), n2 - kLanes);
          store_first(bottom + 2 * ow + kLanes, zip_high(be, bo), n2 - kLanes);
        }
      }
    }
  }
}
}  // namespace

void maxpool2d_backward(const Pool2dGeometry& g, const float* doutput, const int32_t* argmax,
                        float* dinput) {
  if (g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_h == 0 &&
      g.pad_w == 0) {
    maxpool2x2_backward(g, doutput, argmax, dinput);
    return;
  }
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
