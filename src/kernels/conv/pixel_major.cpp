// The pixel-major kernels of the implicit convolution: see pixel_major.hpp.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/pixel_major.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace tinycnn::kernels {

namespace {
using simd::kLanes;
using simd::Vec;

// Pixel-major forward, for layers whose output channels fill whole vectors and whose wide rows
// throw much away (LeNet's conv2 keeps 10 of 14): a register block of kPixelRows x C output
// pixels, each one vector of output channels; per tap one weight-vector load and one broadcast
// per pixel. Per output element the same fused multiply-adds in the same tap order as
// rows_gemm, so the same bits.
constexpr int kPixelRows = 2;
constexpr int kPixelCols = simd::kRegisters >= 32 ? 12 : 6;

template <int R, int C>
void pixel_block(const float* p, int64_t wp, const int64_t* off, int64_t taps, const float* wt,
                 int64_t ldw, const float* bias, int64_t y0, int64_t x0, int64_t ow, float* out_t) {
  Vec acc[R][C];
  const Vec start = bias ? simd::load(bias) : Vec{};
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = start;
  }
  const float* row[R];
  for (int r = 0; r < R; ++r) row[r] = p + (y0 + r) * wp + x0;
  for (int64_t t = 0; t < taps; ++t) {
    const Vec wv = simd::load(wt + t * ldw);
    for (int r = 0; r < R; ++r) {
      const float* src = row[r] + off[t];
      for (int c = 0; c < C; ++c) acc[r][c] += simd::splat(src[c]) * wv;
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) simd::store(out_t + ((y0 + r) * ow + x0 + c) * kLanes, acc[r][c]);
  }
}

using PixelBlock = void (*)(const float*, int64_t, const int64_t*, int64_t, const float*, int64_t,
                            const float*, int64_t, int64_t, int64_t, float*);
template <int R, int... Cs>
constexpr std::array<PixelBlock, sizeof...(Cs)> pixel_row(std::integer_sequence<int, Cs...>) {
  return {&pixel_block<R, Cs + 1>...};
}
constexpr std::array<std::array<PixelBlock, kPixelCols>, kPixelRows> kPixelBlocks = {
    pixel_row<1>(std::make_integer_sequence<int, kPixelCols>{}),
    pixel_row<2>(std::make_integer_sequence<int, kPixelCols>{})};

}  // namespace

bool use_pixel_major(const Wide& w) {
  return w.sh == 1 && w.sw == 1 && w.cout % kLanes == 0 && w.ow * 10 <= w.wp * 8;
}

void pixel_major_forward(const Wide& w, const float* p, const float* wt, const float* bias,
                         int64_t m0, float* out_t) {
  for (int64_t y0 = 0; y0 < w.oh; y0 += kPixelRows) {
    const int64_t r = std::min<int64_t>(kPixelRows, w.oh - y0);
    for (int64_t x0 = 0; x0 < w.ow; x0 += kPixelCols) {
      const int64_t c = std::min<int64_t>(kPixelCols, w.ow - x0);
      kPixelBlocks[static_cast<size_t>(r - 1)][static_cast<size_t>(c - 1)](
          p, w.wp, w.off.data(), w.taps, wt + m0, w.cout, bias ? bias + m0 : nullptr, y0, x0, w.ow,
          out_t);
    }
  }
}

namespace {
// Pixel-major dweight (where the forward is pixel-major and the kernel is 3x3 or 5x5): for one
// vector of output channels and one input channel, all KH x KW taps' sums stay in registers
// while the chunk's pixels stream through: per pixel one load of doutput (transposed: the
// channels of a pixel side by side) and one broadcast of the input per tap. No thrown-away
// columns and no lane sums; sums [taps][cout] as vectors of channels.
template <int KH, int KW>
void pixel_dweight(const Wide& w, const float* pc, int64_t count, const float* dtc, Vec* tsums) {
  const int64_t pixels = w.oh * w.ow, vectors = w.cout / kLanes;
  for (int64_t v = 0; v < vectors; ++v) {
    for (int64_t c = 0; c < w.cin; ++c) {
      Vec acc[KH * KW];
      for (int j = 0; j < KH * KW; ++j) acc[j] = tsums[(c * KH * KW + j) * vectors + v];
      for (int64_t i = 0; i < count; ++i) {
        const float* p = pc + i * w.p_floats + c * w.plane;
        const float* dt = dtc + i * pixels * w.cout + v * kLanes;
        for (int64_t y = 0; y < w.oh; ++y) {
          for (int64_t x = 0; x < w.ow; ++x) {
            const Vec dv = simd::load(dt + (y * w.ow + x) * w.cout);
            for (int ky = 0; ky < KH; ++ky) {
              const float* src = simd::opaque(p + (y + ky) * w.wp + x);
              for (int kx = 0; kx < KW; ++kx) acc[ky * KW + kx] += simd::splat(src[kx]) * dv;
            }
          }
        }
      }
      for (int j = 0; j < KH * KW; ++j) tsums[(c * KH * KW + j) * vectors + v] = acc[j];
    }
  }
}

}  // namespace

PixelDweight select_pixel_dweight(const Conv2dGeometry& g, const Wide& w) {
  if (!use_pixel_major(w)) return nullptr;
  if (g.kernel_h == 5 && g.kernel_w == 5) return &pixel_dweight<5, 5>;
  if (g.kernel_h == 3 && g.kernel_w == 3) return &pixel_dweight<3, 3>;
  return nullptr;
}

}  // namespace tinycnn::kernels
