// The bfloat16 register-blocked kernels of bf16_gemm.hpp: the blocks of row_gemm.cpp, with each
// fused multiply-add of a float32 pair replaced by one dot of a bfloat16 pair.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/bf16_gemm.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define TINYCNN_AVX512_BF16 1
#endif

namespace tinycnn::kernels {

namespace {
using simd::IVec;
using simd::kLanes;
using simd::Vec;

constexpr int kRowsM = simd::kRegisters >= 32 ? 8 : 4;
constexpr int kRowsV = kRowBlock / kLanes;
constexpr int kTM = simd::kRegisters >= 32 ? 4 : 2;
constexpr int kTT = 5;

inline IVec load_pairs(const void* p) {
  IVec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// acc + a.hi*b.hi + a.lo*b.lo per lane, on AVX512-BF16 (Native) or as two float32 FMAs.
template <bool Native>
inline Vec dot(Vec acc, IVec a, IVec b) {
#if defined(TINYCNN_AVX512_BF16)
  if constexpr (Native) return (Vec)_mm512_dpbf16_ps((__m512)acc, (__m512bh)a, (__m512bh)b);
#endif
  const IVec high = simd::splat_int(static_cast<int32_t>(0xffff0000u));
  acc += (Vec)(a & high) * (Vec)(b & high);
  return acc + (Vec)(a << 16) * (Vec)(b << 16);
}

template <bool Native, int M>
void rows_block(int64_t m0, const Bfloat16Pair* a, int64_t lda, const Bfloat16Pair* b,
                const int64_t* off, int64_t pairs, const float* init, float* c, int64_t ldc,
                int64_t nq) {
  for (int64_t q0 = 0; q0 < nq; q0 += kRowBlock) {
    Vec acc[M][kRowsV];
    for (int i = 0; i < M; ++i) {
      const Vec start = simd::splat(init ? init[m0 + i] : 0.0f);
      for (int v = 0; v < kRowsV; ++v) acc[i][v] = start;
    }
    for (int64_t t = 0; t < pairs; ++t) {
      const Bfloat16Pair* row = b + off[t] + q0;
      IVec x[kRowsV];
      for (int v = 0; v < kRowsV; ++v) x[v] = load_pairs(row + v * kLanes);
      const Bfloat16Pair* at = a + t * lda + m0;
      for (int i = 0; i < M; ++i) {
        const IVec wi = simd::splat_int(static_cast<int32_t>(at[i]));
        for (int v = 0; v < kRowsV; ++v) acc[i][v] = dot<Native>(acc[i][v], wi, x[v]);
      }
    }
    for (int i = 0; i < M; ++i) {
      for (int v = 0; v < kRowsV; ++v) simd::store(c + (m0 + i) * ldc + q0 + v * kLanes, acc[i][v]);
    }
  }
}

template <bool Native, int M, int T>
void t_block(int64_t m0, int64_t t0, const Bfloat16* d, int64_t ldd, const Bfloat16* b,
             const int64_t* off, int64_t taps, int64_t nq, Vec* s, ImageBatch batch) {
  Vec acc[M][T];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < T; ++j) acc[i][j] = s[(m0 + i) * taps + t0 + j];
  }
  for (int64_t image = 0; image < batch.count; ++image) {
    const Bfloat16* di = d + image * batch.d_stride;
    const Bfloat16* row[T];
    for (int j = 0; j < T; ++j) row[j] = b + image * batch.b_stride + off[t0 + j];
    for (int64_t q = 0; q < nq; q += kBf16Block) {
      IVec dv[M];
      for (int i = 0; i < M; ++i) dv[i] = load_pairs(di + (m0 + i) * ldd + q);
      for (int j = 0; j < T; ++j) {
        IVec x = load_pairs(row[j] + q);
        asm("" : "+v"(x));  // in a register, not folded into each dot as a memory operand
        for (int i = 0; i < M; ++i) acc[i][j] = dot<Native>(acc[i][j], dv[i], x);
      }
    }
  }
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < T; ++j) s[(m0 + i) * taps + t0 + j] = acc[i][j];
  }
}

using RowsBlock = void (*)(int64_t, const Bfloat16Pair*, int64_t, const Bfloat16Pair*,
                           const int64_t*, int64_t, const float*, float*, int64_t, int64_t);
template <bool Native, int... Ms>
constexpr std::array<RowsBlock, sizeof...(Ms)> rows_table(std::integer_sequence<int, Ms...>) {
  return {&rows_block<Native, Ms + 1>...};
}

using TBlock = void (*)(int64_t, int64_t, const Bfloat16*, int64_t, const Bfloat16*, const int64_t*,
                        int64_t, int64_t, Vec*, ImageBatch);
template <bool Native, int M, int... Ts>
constexpr std::array<TBlock, sizeof...(Ts)> t_row(std::integer_sequence<int, Ts...>) {
  return {&t_block<Native, M, Ts + 1>...};
}
template <bool Native, int... Ms>
constexpr std::array<std::array<TBlock, kTT>, sizeof...(Ms)> t_table(
    std::integer_sequence<int, Ms...>) {
  return {t_row<Native, Ms + 1>(std::make_integer_sequence<int, kTT>{})...};
}

template <bool Native>
void rows_gemm_with(int64_t rows, const Bfloat16Pair* a, int64_t lda, const Bfloat16Pair* b,
                    const int64_t* off, int64_t pairs, const float* init, float* c, int64_t ldc,
                    int64_t nq) {
  static constexpr auto kBlocks = rows_table<Native>(std::make_integer_sequence<int, kRowsM>{});
  for (int64_t m0 = 0; m0 < rows; m0 += kRowsM) {
    const int64_t m = std::min<int64_t>(kRowsM, rows - m0);
    kBlocks[static_cast<size_t>(m - 1)](m0, a, lda, b, off, pairs, init, c, ldc, nq);
  }
}

template <bool Native>
void rows_gemm_t_with(int64_t rows, const Bfloat16* d, int64_t ldd, const Bfloat16* b,
                      const int64_t* off, int64_t taps, int64_t nq, Vec* s, ImageBatch batch) {
  static constexpr auto kBlocks = t_table<Native>(std::make_integer_sequence<int, kTM>{});
  for (int64_t m0 = 0; m0 < rows; m0 += kTM) {
    const int64_t m = std::min<int64_t>(kTM, rows - m0);
    for (int64_t t0 = 0; t0 < taps; t0 += kTT) {
      const int64_t t = std::min<int64_t>(kTT, taps - t0);
      kBlocks[static_cast<size_t>(m - 1)][static_cast<size_t>(t - 1)](m0, t0, d, ldd, b, off, taps,
                                                                      nq, s, batch);
    }
  }
}
template <bool Native, int KH, int KW>
void pixel_dweight(const Wide& w, const Bfloat16* pc, int64_t pc_stride, int64_t count,
                   const Bfloat16Pair* dt2, Vec* tsums) {
  const int64_t owp = (w.ow + 1) / 2, pairs = w.oh * owp, vectors = w.cout / kLanes;
  for (int64_t v = 0; v < vectors; ++v) {
    for (int64_t c = 0; c < w.cin; ++c) {
      Vec acc[KH * KW];
      for (int j = 0; j < KH * KW; ++j) acc[j] = tsums[(c * KH * KW + j) * vectors + v];
      for (int64_t i = 0; i < count; ++i) {
        const Bfloat16* p = pc + i * pc_stride + c * w.plane;
        const Bfloat16Pair* dt = dt2 + i * pairs * w.cout + v * kLanes;
        for (int64_t y = 0; y < w.oh; ++y) {
          for (int64_t xp = 0; xp < owp; ++xp) {
            IVec dv = load_pairs(dt + (y * owp + xp) * w.cout);
            asm("" : "+v"(dv));
            for (int ky = 0; ky < KH; ++ky) {
              const Bfloat16* src = simd::opaque(p + (y + ky) * w.wp + 2 * xp);
              for (int kx = 0; kx < KW; ++kx) {
                uint32_t two = 0;  // pixels 2xp and 2xp + 1 at this tap
                std::memcpy(&two, src + kx, sizeof two);
                acc[ky * KW + kx] =
                    dot<Native>(acc[ky * KW + kx], simd::splat_int(static_cast<int32_t>(two)), dv);
              }
            }
          }
        }
      }
      for (int j = 0; j < KH * KW; ++j) tsums[(c * KH * KW + j) * vectors + v] = acc[j];
    }
  }
}

// Pixel-major forward in bf16 (pixel_major.cpp's pixel_block): R x C output pixels, each a vector
// of output channels; per row pair (a channel pair at one tap) one load of the weights' pairs and
// one broadcast pair of the image per pixel.
constexpr int kPixelRows = 2;
constexpr int kPixelCols = simd::kRegisters >= 32 ? 12 : 6;

template <bool Native, int R, int C>
void pixel_block(const Bfloat16Pair* p2, int64_t wp, const int64_t* off, int64_t pairs,
                 const Bfloat16Pair* a2, int64_t lda, const float* bias, int64_t y0, int64_t x0,
                 int64_t ow, float* out_t) {
  Vec acc[R][C];
  const Vec start = bias ? simd::load(bias) : Vec{};
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = start;
  }
  const Bfloat16Pair* row[R];
  for (int r = 0; r < R; ++r) row[r] = p2 + (y0 + r) * wp + x0;
  for (int64_t t = 0; t < pairs; ++t) {
    IVec wv = load_pairs(a2 + t * lda);
    asm("" : "+v"(wv));
    for (int r = 0; r < R; ++r) {
      const Bfloat16Pair* src = row[r] + off[t];
      for (int c = 0; c < C; ++c) {
        acc[r][c] = dot<Native>(acc[r][c], wv, simd::splat_int(static_cast<int32_t>(src[c])));
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) simd::store(out_t + ((y0 + r) * ow + x0 + c) * kLanes, acc[r][c]);
  }
}

using PixelBlock = void (*)(const Bfloat16Pair*, int64_t, const int64_t*, int64_t,
                            const Bfloat16Pair*, int64_t, const float*, int64_t, int64_t, int64_t,
                            float*);
template <bool Native, int R, int... Cs>
constexpr std::array<PixelBlock, sizeof...(Cs)> pixel_row(std::integer_sequence<int, Cs...>) {
  return {&pixel_block<Native, R, Cs + 1>...};
}
template <bool Native>
constexpr std::array<std::array<PixelBlock, kPixelCols>, kPixelRows> kPixelBlocks = {
    pixel_row<Native, 1>(std::make_integer_sequence<int, kPixelCols>{}),
    pixel_row<Native, 2>(std::make_integer_sequence<int, kPixelCols>{})};

template <bool Native>
void pixel_forward(const Wide& w, const int64_t* off, int64_t pairs, const Bfloat16Pair* p2,
                   const Bfloat16Pair* a2, const float* bias, int64_t m0, float* out_t) {
  for (int64_t y0 = 0; y0 < w.oh; y0 += kPixelRows) {
    const int64_t r = std::min<int64_t>(kPixelRows, w.oh - y0);
    for (int64_t x0 = 0; x0 < w.ow; x0 += kPixelCols) {
      const int64_t c = std::min<int64_t>(kPixelCols, w.ow - x0);
      kPixelBlocks<Native>[static_cast<size_t>(r - 1)][static_cast<size_t>(c - 1)](
          p2, w.wp, off, pairs, a2 + m0, w.cout, bias ? bias + m0 : nullptr, y0, x0, w.ow, out_t);
    }
  }
}

template <int KH, int KW>
void pixel_dweight_any(const Wide& w, const Bfloat16* pc, int64_t pc_stride, int64_t count,
                       const Bfloat16Pair* dt2, Vec* tsums) {
#if defined(TINYCNN_AVX512_BF16)
  if (bf16_native()) {
    pixel_dweight<true, KH, KW>(w, pc, pc_stride, count, dt2, tsums);
    return;
  }
#endif
  pixel_dweight<false, KH, KW>(w, pc, pc_stride, count, dt2, tsums);
}
}  // namespace

PixelDweightBf16 select_pixel_dweight_bf16(const Conv2dGeometry& g, const Wide& w) {
  if (!select_pixel_dweight(g, w)) return nullptr;
  if (g.kernel_h == 5 && g.kernel_w == 5) return &pixel_dweight_any<5, 5>;
  if (g.kernel_h == 3 && g.kernel_w == 3) return &pixel_dweight_any<3, 3>;
  return nullptr;
}

void pixel_major_forward_bf16(const Wide& w, const int64_t* off, int64_t pairs,
                              const Bfloat16Pair* p2, const Bfloat16Pair* a2, const float* bias,
                              int64_t m0, float* out_t) {
#if defined(TINYCNN_AVX512_BF16)
  if (bf16_native()) {
    pixel_forward<true>(w, off, pairs, p2, a2, bias, m0, out_t);
    return;
  }
#endif
  pixel_forward<false>(w, off, pairs, p2, a2, bias, m0, out_t);
}

void rows_gemm_bf16(int64_t rows, const Bfloat16Pair* a, int64_t lda, const Bfloat16Pair* b,
                    const int64_t* off, int64_t pairs, const float* init, float* c, int64_t ldc,
                    int64_t nq) {
#if defined(TINYCNN_AVX512_BF16)
  if (bf16_native()) {
    rows_gemm_with<true>(rows, a, lda, b, off, pairs, init, c, ldc, nq);
    return;
  }
#endif
  rows_gemm_with<false>(rows, a, lda, b, off, pairs, init, c, ldc, nq);
}

void rows_gemm_t_bf16(int64_t rows, const Bfloat16* d, int64_t ldd, const Bfloat16* b,
                      const int64_t* off, int64_t taps, int64_t nq, Vec* s, ImageBatch batch) {
#if defined(TINYCNN_AVX512_BF16)
  if (bf16_native()) {
    rows_gemm_t_with<true>(rows, d, ldd, b, off, taps, nq, s, batch);
    return;
  }
#endif
  rows_gemm_t_with<false>(rows, d, ldd, b, off, taps, nq, s, batch);
}

}  // namespace tinycnn::kernels
