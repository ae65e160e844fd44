// The int8 product; see int8_gemm.hpp.
#include "kernels/int8_gemm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

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

#if defined(__AVX512BW__)
// The requantizing epilogue on 16 lanes of sums, stored as up to 16 bytes (`lanes`).
inline void requantize_lanes(__m512i acc, const Requantize& e, int64_t f, uint8_t* y,
                             int64_t lanes) {
  const __m512i a = _mm512_add_epi32(acc, _mm512_loadu_si512(e.offset + f));
  const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_loadu_ps(e.scale + f));
  const __m512i q = _mm512_min_epi32(
      _mm512_max_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(e.zero)),
                       _mm512_set1_epi32(e.lo)),
      _mm512_set1_epi32(255));
  const auto mask = static_cast<__mmask16>(lanes >= 16 ? 0xffff : (1u << lanes) - 1);
  _mm_mask_storeu_epi8(y, mask, _mm512_cvtepi32_epi8(q));
}

#endif

#if defined(TINYCNN_VNNI)
// kPixels output pixels by kVecs x 16 output channels from f0: each channel group's weights
// loaded once into registers, each pixel's four bytes broadcast once from memory, kPixels x
// kVecs accumulators. The sums go to c, or through the epilogue to bytes.
template <int kPixels, int kVecs>
void taps_block_vnni(int64_t taps, int64_t c4, int64_t n, const uint8_t* const* base,
                     const int64_t* tap, const int8_t* w, int32_t* c, const Requantize* e,
                     int64_t p0, int64_t f0) {
  __m512i acc[kPixels][kVecs];
  for (int p = 0; p < kPixels; ++p) {
    for (int v = 0; v < kVecs; ++v) acc[p][v] = _mm512_setzero_si512();
  }
  for (int64_t t = 0; t < taps; ++t) {
    const uint8_t* xt[kPixels];
    for (int p = 0; p < kPixels; ++p) xt[p] = base[p0 + p] + tap[t];
    const int8_t* wt = w + (t * c4 * n + f0) * 4;
    for (int64_t q = 0; q < c4; ++q) {
      __m512i wv[kVecs];
      for (int v = 0; v < kVecs; ++v) {
        wv[v] = _mm512_loadu_si512(wt + q * n * 4 + 64 * v);
        __asm__("" : "+v"(wv[v]));  // one load per group, not one per product
      }
      for (int p = 0; p < kPixels; ++p) {
        int32_t x;
        std::memcpy(&x, xt[p] + 4 * q, 4);
        const __m512i xv = _mm512_set1_epi32(x);
        for (int v = 0; v < kVecs; ++v) acc[p][v] = _mm512_dpbusd_epi32(acc[p][v], xv, wv[v]);
      }
    }
  }
  for (int p = 0; p < kPixels; ++p) {
    for (int v = 0; v < kVecs; ++v) {
      const int64_t f = f0 + 16 * v;
      if (e == nullptr) {
        _mm512_storeu_si512(c + (p0 + p) * n + f, acc[p][v]);
      } else {
        requantize_lanes(acc[p][v], *e, f, e->y + (p0 + p) * e->y_stride + f,
                         std::max<int64_t>(0, e->channels - f));
      }
    }
  }
}

// Blocks of kPixels, then of 4, then single pixels, for the kVecs x 16 channels from f0.
template <int kPixels, int kVecs>
void taps_columns_vnni(int64_t pixels, int64_t taps, int64_t c4, int64_t n,
                       const uint8_t* const* base, const int64_t* tap, const int8_t* w, int32_t* c,
                       const Requantize* e, int64_t f0) {
  int64_t p = 0;
  for (; p + kPixels <= pixels; p += kPixels) {
    taps_block_vnni<kPixels, kVecs>(taps, c4, n, base, tap, w, c, e, p, f0);
  }
  if (kPixels > 4) {
    for (; p + 4 <= pixels; p += 4) {
      taps_block_vnni<4, kVecs>(taps, c4, n, base, tap, w, c, e, p, f0);
    }
  }
  for (; p < pixels; ++p) taps_block_vnni<1, kVecs>(taps, c4, n, base, tap, w, c, e, p, f0);
}

// 64 channels by 4 pixels, 32 by 8, 16 by 8: a pointer per pixel (general registers) and
// 16 or 8 accumulators.
void conv_taps_vnni(int64_t pixels, int64_t taps, int64_t c4, int64_t n, const uint8_t* const* base,
                    const int64_t* tap, const int8_t* w, int32_t* c, const Requantize* e) {
  int64_t f0 = 0;
  for (; f0 + 64 <= n; f0 += 64) {
    taps_columns_vnni<4, 4>(pixels, taps, c4, n, base, tap, w, c, e, f0);
  }
  if (f0 + 32 <= n) {
    taps_columns_vnni<8, 2>(pixels, taps, c4, n, base, tap, w, c, e, f0);
    f0 += 32;
  }
  if (f0 < n) taps_columns_vnni<8, 1>(pixels, taps, c4, n, base, tap, w, c, e, f0);
}
#endif
}  // namespace

void conv_taps_s8u8(int64_t pixels, int64_t taps, int64_t c4, int64_t n, const uint8_t* const* base,
                    const int64_t* tap, const int8_t* w, int32_t* c, const Requantize* epilogue,
                    bool portable) {
#if defined(TINYCNN_VNNI)
  if (!portable) {
    conv_taps_vnni(pixels, taps, c4, n, base, tap, w, c, epilogue);
    return;
  }
#endif
  (void)portable;
  conv_taps_portable(pixels, taps, c4, n, base, tap, w, c);
  if (epilogue == nullptr) return;
  for (int64_t p = 0; p < pixels; ++p) {
    requantize_u8(epilogue->channels, c + p * n, epilogue->offset, epilogue->scale, epilogue->zero,
                  epilogue->lo, epilogue->y + p * epilogue->y_stride);
  }
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

void depthwise_s8u8(int64_t pixels, int64_t taps, int64_t n, const uint8_t* const* base,
                    const int64_t* tap, const int8_t* w, const Requantize& e, bool portable) {
#if defined(__AVX512BW__)
  if (!portable) {
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t f0 = 0; f0 < e.channels; f0 += 16) {
        const int64_t lanes = std::min<int64_t>(16, e.channels - f0);
        const auto mask = static_cast<__mmask16>(lanes >= 16 ? 0xffff : (1u << lanes) - 1);
        __m512i acc = _mm512_setzero_si512();
        for (int64_t t = 0; t < taps; ++t) {
          const __m512i x = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, base[p] + tap[t] + f0));
          const __m512i wv = _mm512_cvtepi8_epi32(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + t * n + f0)));
          acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, wv));
        }
        requantize_lanes(acc, e, f0, e.y + p * e.y_stride + f0, lanes);
      }
    }
    return;
  }
#endif
  (void)portable;
  std::vector<int32_t> acc(static_cast<size_t>(e.channels));
  for (int64_t p = 0; p < pixels; ++p) {
    std::fill(acc.begin(), acc.end(), 0);
    for (int64_t t = 0; t < taps; ++t) {
      const uint8_t* x = base[p] + tap[t];
      for (int64_t f = 0; f < e.channels; ++f) {
        acc[static_cast<size_t>(f)] += x[f] * w[t * n + f];  // NOLINT(bugprone-signed-char-misuse)
      }
    }
    requantize_u8(e.channels, acc.data(), e.offset, e.scale, e.zero, e.lo, e.y + p * e.y_stride);
  }
}

void max_pool_u8(const PoolGeometry& g, const uint8_t* x, uint8_t* y) {
  for (int64_t i = 0; i < g.oh; ++i) {
    const int64_t a0 = std::max<int64_t>(0, g.ph - i * g.sh);
    const int64_t a1 = std::min(g.kh, g.h + g.ph - i * g.sh);
    for (int64_t j = 0; j < g.ow; ++j) {
      const int64_t b0 = std::max<int64_t>(0, g.pw - j * g.sw);
      const int64_t b1 = std::min(g.kw, g.w + g.pw - j * g.sw);
      uint8_t* o = y + (i * g.ow + j) * g.cp;
      const uint8_t* corner = x + ((i * g.sh - g.ph) * g.w + (j * g.sw - g.pw)) * g.cp;
      int64_t c = 0;
#if defined(__AVX512BW__)
      for (; c < g.cp; c += 64) {
        const int64_t left = g.cp - c;
        const __mmask64 m = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
        __m512i acc = _mm512_setzero_si512();
        for (int64_t a = a0; a < a1; ++a) {
          for (int64_t b = b0; b < b1; ++b) {
            acc =
                _mm512_max_epu8(acc, _mm512_maskz_loadu_epi8(m, corner + (a * g.w + b) * g.cp + c));
          }
        }
        _mm512_mask_storeu_epi8(o + c, m, acc);
      }
#endif
      for (; c < g.cp; ++c) {
        uint8_t v = 0;
        for (int64_t a = a0; a < a1; ++a) {
          for (int64_t b = b0; b < b1; ++b) v = std::max(v, corner[(a * g.w + b) * g.cp + c]);
        }
        o[c] = v;
      }
    }
  }
}

}  // namespace tinycnn::kernels
