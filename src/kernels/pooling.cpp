// Pooling kernels, parallel over the N*C planes.
#include "kernels/pooling.hpp"

#include <algorithm>
#include <limits>

#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
// The input rows (or columns) window `o` of the output covers, clamped to the image: the padding
// contributes nothing (max) or zeros counted in the divisor (average).
struct Window {
  int64_t lo, hi;
};
Window window_rows(const Pool2dGeometry& g, int64_t oh) {
  const int64_t h0 = oh * g.stride_h - g.pad_h;
  return {std::max<int64_t>(h0, 0), std::min(h0 + g.kernel_h, g.in_h)};
}
Window window_cols(const Pool2dGeometry& g, int64_t ow) {
  const int64_t w0 = ow * g.stride_w - g.pad_w;
  return {std::max<int64_t>(w0, 0), std::min(w0 + g.kernel_w, g.in_w)};
}
bool is_2x2_stride2(const Pool2dGeometry& g) {
  return g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_h == 0 &&
         g.pad_w == 0;
}

// The common 2x2 / stride 2 / no padding case: every window is inside the image. Selects only,
// no branches (on real data "is this the max?" is a coin flip, and a mispredicted branch costs
// more than the select). A later element wins when it is larger, or NaN while the best so far is
// not: the first maximum, or the first NaN, as in PyTorch.
struct Winner {
  float value;
  int32_t offset;  // 0, 1, w, w + 1
};
inline Winner max4(float a, float b, float c, float d, int32_t w) {
  Winner best{a, 0};
  for (const Winner next : {Winner{b, 1}, Winner{c, w}, Winner{d, w + 1}}) {
    const bool take =
        (next.value > best.value) | ((next.value != next.value) & (best.value == best.value));
    best = take ? next : best;
  }
  return best;
}

// Vectors of kLanes outputs along the row (even / odd lanes of two loads give the window
// columns); the last vector may be partial: it reads further (values unused) and stores only its
// valid lanes. Windows whose reads would pass read_end go scalar.
void pool_row(const float* top, const float* bottom, int64_t count, int32_t base, int32_t w,
              bool relu, const float* read_end, float* out, int32_t* idx) {
  using namespace simd;
  const IVec lane2 = iota() + iota();
  int64_t ow = 0;
  for (;
       ow < count && bottom + 2 * (ow + kLanes) <= read_end && top + 2 * (ow + kLanes) <= read_end;
       ow += kLanes) {
    Vec t0 = load(top + 2 * ow), t1 = load(top + 2 * ow + kLanes);
    Vec b0 = load(bottom + 2 * ow), b1 = load(bottom + 2 * ow + kLanes);
    if (relu) {
      for (Vec* v : {&t0, &t1, &b0, &b1}) *v = select(*v > Vec{}, *v, Vec{});
    }
    const Vec cand[3] = {odd(t0, t1), even(b0, b1), odd(b0, b1)};
    const int32_t cand_offset[3] = {1, w, w + 1};
    Vec best = even(t0, t1);
    IVec k = IVec{};
    for (int i = 0; i < 3; ++i) {
      const IVec take = (cand[i] > best) | ((cand[i] != cand[i]) & (best == best));
      best = select(take, cand[i], best);
      k = select(take, splat_int(cand_offset[i]), k);
    }
    const IVec at = splat_int(base + static_cast<int32_t>(2 * ow)) + lane2 + k;
    const int64_t n = std::min<int64_t>(kLanes, count - ow);
    store_first(out + ow, best, n);
    store_first(idx + ow, at, n);
  }
  auto r = [relu](float v) { return !relu || v > 0.0f ? v : 0.0f; };
  for (; ow < count; ++ow) {
    const Winner win =
        max4(r(top[2 * ow]), r(top[2 * ow + 1]), r(bottom[2 * ow]), r(bottom[2 * ow + 1]), w);
    out[ow] = win.value;
    idx[ow] = base + static_cast<int32_t>(2 * ow) + win.offset;
  }
}

void maxpool2x2_forward(const Pool2dGeometry& g, const float* input, float* output,
                        int32_t* argmax) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), w = g.in_w;
  const int64_t rows = g.batch * g.channels * oh_n;  // output rows of all planes
  const float* input_end = input + g.batch * g.channels * g.in_h * w;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t plane = r / oh_n, oh = r % oh_n;
    const float* top = input + plane * g.in_h * w + 2 * oh * w;
    pool_row(top, top + w, ow_n, static_cast<int32_t>(2 * oh * w), static_cast<int32_t>(w), false,
             input_end, output + r * ow_n, argmax + r * ow_n);
  }
}
}  // namespace

void maxpool2x2_row(const float* top, const float* bottom, int64_t count, int32_t base, int32_t w,
                    bool relu, const float* read_end, float* out, int32_t* argmax) {
  pool_row(top, bottom, count, base, w, relu, read_end, out, argmax);
}

void maxpool2d_forward(const Pool2dGeometry& g, const float* input, float* output,
                       int32_t* argmax) {
  if (is_2x2_stride2(g)) {
    maxpool2x2_forward(g, input, output, argmax);
    return;
  }
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  const int64_t planes = g.batch * g.channels;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = input + p * g.in_h * g.in_w;
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      const Window rows = window_rows(g, oh);
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Window cols = window_cols(g, ow);
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_idx = rows.lo * g.in_w + cols.lo;
        for (int64_t ih = rows.lo; ih < rows.hi; ++ih) {
          for (int64_t iw = cols.lo; iw < cols.hi; ++iw) {
            // Selects, not branches: on real data the comparison is a coin flip. NaN is
            // taken and then kept.
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

void maxpool2x2_backward_row(const float* doutput, const float* key, const int32_t* argmax,
                             int64_t count, int32_t base, int32_t w, float* top, float* bottom) {
  using namespace simd;
  const IVec lane2 = iota() + iota();
  for (int64_t ow = 0; ow < count; ow += kLanes) {
    const int64_t n = std::min<int64_t>(kLanes, count - ow);
    Vec d = load_first(doutput + ow, n);
    if (key) d = select(load_first(key + ow, n) > Vec{}, d, Vec{});
    // Where in its window each maximum was: 0, 1, w or w + 1.
    const IVec k =
        load_first(argmax + ow, n) - (splat_int(base + static_cast<int32_t>(2 * ow)) + lane2);
    const Vec te = select(k == splat_int(0), d, Vec{}), to = select(k == splat_int(1), d, Vec{});
    const Vec be = select(k == splat_int(w), d, Vec{}),
              bo = select(k == splat_int(w + 1), d, Vec{});
    const int64_t n2 = 2 * n;  // floats of this chunk in each input row
    store_first(top + 2 * ow, zip_low(te, to), std::min<int64_t>(kLanes, n2));
    store_first(bottom + 2 * ow, zip_low(be, bo), std::min<int64_t>(kLanes, n2));
    if (n2 > kLanes) {
      store_first(top + 2 * ow + kLanes, zip_high(te, to), n2 - kLanes);
      store_first(bottom + 2 * ow + kLanes, zip_high(be, bo), n2 - kLanes);
    }
  }
}

namespace {
// The 2x2 / stride 2 / no padding backward, written densely: each window's four inputs get the
// gradient where the argmax points and zero elsewhere (the windows do not overlap), so no
// zero-fill pass before a scatter. Inputs outside every window (an odd last row or column) are 0.
void maxpool2x2_backward(const Pool2dGeometry& g, const float* doutput, const int32_t* argmax,
                         float* dinput) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), w = g.in_w, in_plane = g.in_h * w;
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
      maxpool2x2_backward_row(doutput + r, nullptr, argmax + r, ow_n,
                              static_cast<int32_t>(2 * oh * w), static_cast<int32_t>(w), top,
                              bottom);
    }
  }
}
}  // namespace

void maxpool2d_backward(const Pool2dGeometry& g, const float* doutput, const int32_t* argmax,
                        float* dinput) {
  if (is_2x2_stride2(g)) {
    maxpool2x2_backward(g, doutput, argmax, dinput);
    return;
  }
  const int64_t out_plane = g.out_h() * g.out_w(), in_plane = g.in_h * g.in_w;
  const int64_t planes = g.batch * g.channels;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    float* din = dinput + p * in_plane;
    std::fill(din, din + in_plane, 0.0f);
    for (int64_t o = 0; o < out_plane; ++o)
      din[argmax[p * out_plane + o]] += doutput[p * out_plane + o];
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
      const Window rows = window_rows(g, oh);
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Window cols = window_cols(g, ow);
        float sum = 0.0f;
        for (int64_t ih = rows.lo; ih < rows.hi; ++ih) {
          for (int64_t iw = cols.lo; iw < cols.hi; ++iw) sum += in[ih * g.in_w + iw];
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
      const Window rows = window_rows(g, oh);
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Window cols = window_cols(g, ow);
        const float share = doutput[(p * oh_n + oh) * ow_n + ow] * inv_window;
        for (int64_t ih = rows.lo; ih < rows.hi; ++ih) {
          for (int64_t iw = cols.lo; iw < cols.hi; ++iw) din[ih * g.in_w + iw] += share;
        }
      }
    }
  }
}

}  // namespace tinycnn::kernels
