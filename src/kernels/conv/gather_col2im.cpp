// The gathering col2im of the implicit path's dinput; see gather_col2im.hpp.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/gather_col2im.hpp"

#include <algorithm>
#include <vector>

#include "kernels/conv/bf16_gemm.hpp"
#include "kernels/conv/row_gemm.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
using simd::kLanes;
using simd::Vec;

// dcol rows computed before the channels they complete are gathered.
constexpr int64_t kDcolRows = 40;

// The gathering col2im of channel c at stride 1: din[c][y][x] = sum over the channel's taps of
// dcol[(c,ky,kx)][(y+pad_h-ky)*wp + x+pad_w-kx]. kGatherRows rows at once: independent sums, so
// the adds do not wait on each other (one chain of 25 dependent adds per vector was
// latency-bound).
void gather_channel(const Conv2dGeometry& g, const Wide& w, const float* rows_c, float* din_c) {
  const int64_t taps_per_channel = w.taps / w.cin;
  for (int64_t y0 = 0; y0 < g.in_h; y0 += kGatherRows) {
    const int64_t ny = std::min<int64_t>(kGatherRows, g.in_h - y0);
    for (int64_t x = 0; x < g.in_w; x += kLanes) {
      Vec acc[kGatherRows] = {};
      const float* base = rows_c + (y0 + g.pad_h) * w.wp + g.pad_w + x;
      for (int64_t t = 0; t < taps_per_channel; ++t) {
        const float* src = base + t * w.dcol_stride - w.in_plane[t];
        for (int j = 0; j < kGatherRows; ++j) acc[j] += simd::load(src + j * w.wp);
      }
      for (int64_t j = 0; j < ny; ++j) {
        simd::store_first(din_c + (y0 + j) * g.in_w + x, acc[j],
                          std::min<int64_t>(kLanes, g.in_w - x));
      }
    }
  }
}

// The same with a stride: phase (a, b) of the padded gradient gathers the taps with ky%sh == a
// and kx%sw == b, at pixel (i, j) from dcol[t][(i - ky/sh)*wp + j - kx/sw], into `phases`
// (w.phases_h * w.phases_w planes, then a vector of slack); padded pixel (Y, X) of the input is
// then pixel (Y/sh, X/sw) of phase (Y%sh, X%sw), zero where that phase is not kept (no tap
// reads it).
void gather_channel_strided(const Conv2dGeometry& g, const Wide& w, const float* rows_c,
                            float* phases, float* din_c) {
  // Pixel (i, j) of a phase is its flat index q = i*wp + j, so each tap is one shifted run.
  for (size_t phase = 0; phase < w.phase_taps.size(); ++phase) {
    const std::vector<int64_t>& taps = w.phase_taps[phase];
    float* out = phases + static_cast<int64_t>(phase) * w.plane;
    for (int64_t q = 0; q < w.plane; q += kLanes) {
      Vec acc{};
      for (const int64_t t : taps) {
        acc += simd::load(rows_c + t * w.dcol_stride - w.in_plane[static_cast<size_t>(t)] + q);
      }
      simd::store_first(out + q, acc, std::min<int64_t>(kLanes, w.plane - q));
    }
  }
  for (int64_t y = 0; y < g.in_h; ++y) {
    float* din_row = din_c + y * g.in_w;
    auto at = [&](int64_t x0) -> const float* {
      const int64_t o = phase_offset(g, w, y, x0);
      return o < 0 ? nullptr : phases + o;
    };
    if (w.sw == 2) {
      interleave(at(0), at(1), g.in_w, din_row);
      continue;
    }
    for (int64_t x0 = 0; x0 < std::min(w.sw, g.in_w); ++x0) {  // columns x0, x0 + sw, ...
      const float* src = at(x0);
      for (int64_t x = x0, j = 0; x < g.in_w; x += w.sw, ++j) din_row[x] = src ? src[j] : 0.0f;
    }
  }
}

}  // namespace

int64_t phase_floats(const Wide& w) {
  return w.sh == 1 && w.sw == 1 ? 0 : w.phases_h * w.phases_w * w.plane + kLanes;
}

// dinput of one image and group from its wide D: dcol[t][q] = sum_m W[m][t] D[m][q] (rows_gemm
// with the roles of A swapped, into rows with zero margins), then col2im as a gather (no
// read-modify-write: stores overlapping the next tap's loads stall store forwarding).
// kDcolRows rows at a time, each channel gathered as soon as its rows are done: the rows are
// read back while they are still in L1 (all of dcol, 200 KiB for LeNet's conv2, is not).
// `phases`: the strided gather's scratch (unused at stride 1).
void input_gradient(const Conv2dGeometry& g, const Wide& w, const DcolOperands& op, float* dcol,
                    float* phases, float* dimage) {
  const int64_t taps_per_channel = w.taps / w.cin;
  const bool strided = w.sh != 1 || w.sw != 1;
  int64_t c = 0;  // the next channel to gather
  for (int64_t r0 = 0; r0 < w.taps; r0 += kDcolRows) {
    const int64_t rows = std::min(kDcolRows, w.taps - r0);
    float* out = dcol + w.dcol_front + r0 * w.dcol_stride;
    if (op.weight2) {
      // Paired rows of D are nq pairs apart, as D's rows are nq floats apart: cout_off serves.
      rows_gemm_bf16(rows, op.weight2 + r0, w.taps, op.d2, w.cout_off.data(), (w.cout + 1) / 2,
                     nullptr, out, w.dcol_stride, w.nq);
    } else {
      rows_gemm(rows, op.weight + r0, w.taps, op.d, w.cout_off.data(), w.cout, nullptr, out,
                w.dcol_stride, w.nq);
    }
    for (; c < w.cin && (c + 1) * taps_per_channel <= r0 + rows; ++c) {
      const float* rows_c = dcol + c * taps_per_channel * w.dcol_stride + w.dcol_front;
      float* din_c = dimage + c * g.in_h * g.in_w;
      if (strided) {
        gather_channel_strided(g, w, rows_c, phases, din_c);
      } else {
        gather_channel(g, w, rows_c, din_c);
      }
    }
  }
}

}  // namespace tinycnn::kernels
