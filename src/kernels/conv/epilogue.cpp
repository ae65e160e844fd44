// The implicit convolution's output and gradient ends; see epilogue.hpp.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/epilogue.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "kernels/pooling.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
using simd::IVec;
using simd::kLanes;
using simd::Vec;

int64_t pooled_plane(const Wide& w) { return (w.oh / 2) * (w.ow / 2); }

// gradient where key > 0, else 0, without a branch: GCC compiles the float ?: to a compare and
// jump, and on a ReLU's output the jump mispredicts half the time.
inline float where_positive(float key, float gradient) {
  const uint32_t mask = 0u - static_cast<uint32_t>(key > 0.0f);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(gradient) & mask);
}

// The pooled gradient that reaches the convolution: none where the pooled (ReLU'd) value is 0.
inline float pooled_gradient(const ConvGradient& d, int64_t i) {
  return where_positive(d.pooled[i], d.dpooled[i]);
}
}  // namespace

void store_wide(const Wide& w, const ConvOutput& o, int64_t plane0, const float* wide) {
  if (o.pooled) {
    const int64_t ph = w.oh / 2, pw = w.ow / 2;
    const float* read_end = wide + w.wide_floats;
    for (int64_t m = 0; m < w.cout; ++m) {
      const int64_t at = (plane0 + m) * ph * pw;
      for (int64_t py = 0; py < ph; ++py) {
        const float* top = wide + m * w.nq + 2 * py * w.wp;
        maxpool2x2_row(top, top + w.wp, pw, static_cast<int32_t>(2 * py * w.ow),
                       static_cast<int32_t>(w.ow), true, read_end, o.pooled + at + py * pw,
                       o.argmax + at + py * pw);
      }
    }
    return;
  }
  float* out = o.output + plane0 * w.oh * w.ow;
  for (int64_t m = 0; m < w.cout; ++m) {
    for (int64_t y = 0; y < w.oh; ++y) {
      const float* src = wide + m * w.nq + y * w.wp;
      if (o.relu) {
        simd::copy_relu(out + (m * w.oh + y) * w.ow, src, w.ow);
      } else {
        simd::copy(out + (m * w.oh + y) * w.ow, src, w.ow);
      }
    }
  }
}

void store_pixel_major(const Wide& w, const ConvOutput& o, int64_t plane0, int64_t m0,
                       float* out_t) {
  const int64_t pixels = w.oh * w.ow;
  if (o.relu || o.pooled) {
    for (int64_t i = 0; i < pixels; ++i) {
      const Vec v = simd::load(out_t + i * kLanes);
      simd::store(out_t + i * kLanes, simd::select(v > Vec{}, v, Vec{}));
    }
  }
  if (o.pooled) {
    // A window's four pixels are four vectors of channels: the pool is lane-wise. The first
    // maximum wins (no NaN after the ReLU), as maxpool2d_forward's.
    const int64_t ph = w.oh / 2, pw = w.ow / 2, pp_n = ph * pw;
    const auto ow32 = static_cast<int32_t>(w.ow);
    for (int64_t py = 0; py < ph; ++py) {
      for (int64_t px = 0; px < pw; ++px) {
        const int64_t i0 = 2 * py * w.ow + 2 * px;
        const int32_t offsets[3] = {1, ow32, ow32 + 1};
        Vec best = simd::load(out_t + i0 * kLanes);
        IVec k = IVec{};
        for (int c = 0; c < 3; ++c) {
          const Vec v = simd::load(out_t + (i0 + offsets[c]) * kLanes);
          const IVec take = v > best;
          best = simd::select(take, v, best);
          k = simd::select(take, simd::splat_int(offsets[c]), k);
        }
        const IVec at = simd::splat_int(static_cast<int32_t>(i0)) + k;
        const int64_t pp = py * pw + px;
        for (int l = 0; l < kLanes; ++l) {
          o.pooled[(plane0 + m0 + l) * pp_n + pp] = best[l];
          o.argmax[(plane0 + m0 + l) * pp_n + pp] = at[l];
        }
      }
    }
    return;
  }
  float* out = o.output + plane0 * pixels;
  for (int64_t i = 0; i < pixels; ++i) {
    for (int l = 0; l < kLanes; ++l) out[(m0 + l) * pixels + i] = out_t[i * kLanes + l];
  }
}

void wide_gradient(const Wide& w, const ConvGradient& d, int64_t plane0, float* dwide) {
  if (d.dpooled) {
    // Each window's four pixels written at once (pooling.hpp's dense backward, into rows wp
    // apart). Pixels outside every window (an odd last row or column), like the thrown-away
    // columns, are never written: zero from the start.
    const int64_t ph = w.oh / 2, pw = w.ow / 2;
    for (int64_t m = 0; m < w.cout; ++m) {
      float* dm = dwide + m * w.nq;
      const int64_t at = (plane0 + m) * ph * pw;
      for (int64_t py = 0; py < ph; ++py) {
        float* top = dm + 2 * py * w.wp;
        maxpool2x2_backward_row(d.dpooled + at + py * pw, d.pooled + at + py * pw,
                                d.argmax + at + py * pw, pw, static_cast<int32_t>(2 * py * w.ow),
                                static_cast<int32_t>(w.ow), top, top + w.wp);
      }
    }
    return;
  }
  const int64_t first = plane0 * w.oh * w.ow;
  const float* dout = d.doutput + first;
  // The fused ReLU's output: doutput counts only where it is positive.
  const float* key = d.relu_output ? d.relu_output + first : nullptr;
  for (int64_t m = 0; m < w.cout; ++m) {
    for (int64_t y = 0; y < w.oh; ++y) {
      const int64_t at = (m * w.oh + y) * w.ow;
      if (key) {
        simd::copy_where_positive(dwide + m * w.nq + y * w.wp, dout + at, key + at, w.ow);
      } else {
        simd::copy(dwide + m * w.nq + y * w.wp, dout + at, w.ow);
      }
    }
  }
}

void pixel_gradient(const Wide& w, const ConvGradient& d, int64_t plane0, float* dt) {
  const int64_t pixels = w.oh * w.ow;
  if (d.dpooled) {
    const int64_t pp_n = pooled_plane(w);
    std::fill(dt, dt + pixels * w.cout, 0.0f);
    for (int64_t m = 0; m < w.cout; ++m) {
      const int64_t at = (plane0 + m) * pp_n;
      for (int64_t pp = 0; pp < pp_n; ++pp) {
        dt[d.argmax[at + pp] * w.cout + m] = pooled_gradient(d, at + pp);
      }
    }
    return;
  }
  const float* dout = d.doutput + plane0 * pixels;
  const float* key = d.relu_output ? d.relu_output + plane0 * pixels : nullptr;
  for (int64_t m = 0; m < w.cout; ++m) {
    if (key) {
      for (int64_t q = 0; q < pixels; ++q) {
        dt[q * w.cout + m] = where_positive(key[m * pixels + q], dout[m * pixels + q]);
      }
    } else {
      for (int64_t q = 0; q < pixels; ++q) dt[q * w.cout + m] = dout[m * pixels + q];
    }
  }
}

}  // namespace tinycnn::kernels
