// The int8 product; see int8_gemm.hpp.
#include "kernels/int8_gemm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#define TINYCNN_VNNI 1
#endif

// GCC 12 reports the undefined vectors inside its own AVX-512 conversion and min / max
// intrinsics (_mm512_undefined_*) as maybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tinycnn::kernels {

namespace {
void conv_taps_portable(int64_t pixels, int64_t taps, int64_t c4, int64_t n,
                        const uint8_t* const* base, const int64_t* tap, const int8_t* w,
                        int32_t* c) {
  for (int64_t p = 0; p < pixels; ++p) {
    int32_t* __restrict out = c + p * n;
    std::fill(out, out + n, 0);
    for (int64_t t = 0; t < taps; ++t) {
      const uint8_t* xt = base[p] + tap[t];
      for (int64_t q = 0; q < c4; ++q) {
        const int8_t* wq = w + (t * c4 + q) * n * 4;
        const int32_t x0 = xt[4 * q], x1 = xt[4 * q + 1], x2 = xt[4 * q + 2], x3 = xt[4 * q + 3];
        for (int64_t f = 0; f < n; ++f) {
          out[f] += x0 * wq[4 * f] + x1 * wq[4 * f + 1] + x2 * wq[4 * f + 2] +  // NOLINT
                    x3 * wq[4 * f + 3];  // NOLINT(bugprone-signed-char-misuse): int8 weights
        }
      }
    }
  }
}

#if defined(TINYCNN_VNNI)
// kPixels output pixels by kVecs x 16 output channels from f0.
template <int kPixels, int kVecs>
void taps_block_vnni(int64_t taps, int64_t c4, int64_t n, const uint8_t* const* base,
                     const int64_t* tap, const int8_t* w, int32_t* c, int64_t f0) {
  __m512i acc[kPixels][kVecs];
  for (int p = 0; p < kPixels; ++p) {
    for (int v = 0; v < kVecs; ++v) acc[p][v] = _mm512_setzero_si512();
  }
  for (int64_t t = 0; t < taps; ++t) {
    const uint8_t* xt[kPixels];
    for (int p = 0; p < kPixels; ++p) xt[p] = base[p] + tap[t];
    const int8_t* wt = w + t * c4 * n * 4 + f0 * 4;
    for (int64_t q = 0; q < c4; ++q) {
      __m512i wv[kVecs];
      for (int v = 0; v < kVecs; ++v) wv[v] = _mm512_loadu_si512(wt + q * n * 4 + 64 * v);
      for (int p = 0; p < kPixels; ++p) {
        int32_t x;
        std::memcpy(&x, xt[p] + 4 * q, 4);
        const __m512i xv = _mm512_set1_epi32(x);
        for (int v = 0; v < kVecs; ++v) acc[p][v] = _mm512_dpbusd_epi32(acc[p][v], xv, wv[v]);
      }
    }
  }
  for (int p = 0; p < kPixels; ++p) {
    for (int v = 0; v < kVecs; ++v) _mm512_storeu_si512(c + p * n + f0 + 16 * v, acc[p][v]);
  }
}

// Blocks of 32 channels by 4 pixels; a last 16 channels by 8 pixels (a 16-channel layer fills
// every lane).
template <int kPixels, int kVecs>
void taps_columns_vnni(int64_t pixels, int64_t taps, int64_t c4, int64_t n,
                       const uint8_t* const* base, const int64_t* tap, const int8_t* w, int32_t* c,
                       int64_t f0) {
  int64_t p = 0;
  for (; p + kPixels <= pixels; p += kPixels) {
    taps_block_vnni<kPixels, kVecs>(taps, c4, n, base + p, tap, w, c + p * n, f0);
  }
  for (; p < pixels; ++p) taps_block_vnni<1, kVecs>(taps, c4, n, base + p, tap, w, c + p * n, f0);
}

void conv_taps_vnni(int64_t pixels, int64_t taps, int64_t c4, int64_t n, const uint8_t* const* base,
                    const int64_t* tap, const int8_t* w, int32_t* c) {
  int64_t f0 = 0;
  for (; f0 + 32 <= n; f0 += 32) taps_columns_vnni<4, 2>(pixels, taps, c4, n, base, tap, w, c, f0);
  if (f0 < n) taps_columns_vnni<8, 1>(pixels, taps, c4, n, base, tap, w, c, f0);
}
#endif
}  // namespace

void conv_taps_s8u8(int64_t pixels, int64_t taps, int64_t c4, int64_t n, const uint8_t* const* base,
                    const int64_t* tap, const int8_t* w, int32_t* c, bool portable) {
#if defined(TINYCNN_VNNI)
  if (!portable) {
    conv_taps_vnni(pixels, taps, c4, n, base, tap, w, c);
    return;
  }
#endif
  (void)portable;
  conv_taps_portable(pixels, taps, c4, n, base, tap, w, c);
}

void requantize_u8(int64_t n, const int32_t* acc, const int32_t* offset, const float* scale,
                   int32_t zero, int32_t lo, uint8_t* y) {
  int64_t f = 0;
#if defined(__AVX512F__)
  const __m512i zv = _mm512_set1_epi32(zero);
  const __m512i lov = _mm512_set1_epi32(lo), hiv = _mm512_set1_epi32(255);
  for (; f + 16 <= n; f += 16) {
    const __m512i a = _mm512_add_epi32(_mm512_loadu_si512(acc + f), _mm512_loadu_si512(offset + f));
    const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_loadu_ps(scale + f));
    const __m512i q =
        _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(v), zv), lov), hiv);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + f), _mm512_cvtepi32_epi8(q));
  }
#endif
  for (; f < n; ++f) {
    const float v = static_cast<float>(acc[f] + offset[f]) * scale[f];
    y[f] =
        static_cast<uint8_t>(std::clamp(static_cast<int32_t>(std::nearbyint(v)) + zero, lo, 255));
  }
}

}  // namespace tinycnn::kernels
