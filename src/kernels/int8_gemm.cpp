// The int8 product; see int8_gemm.hpp.
#include "kernels/int8_gemm.hpp"

#include <cstring>

#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#include <immintrin.h>
#define TINYCNN_VNNI 1
#endif

namespace tinycnn::kernels {

namespace {
void gemm_portable(int64_t m, int64_t n, int64_t k4, const int8_t* a, const uint8_t* bp,
                   int32_t* c) {
  for (int64_t i = 0; i < m; ++i) {
    int32_t* __restrict row = c + i * n;
    for (int64_t j = 0; j < n; ++j) row[j] = 0;
    const int8_t* ai = a + i * 4 * k4;
    for (int64_t q = 0; q < k4; ++q) {
      const uint8_t* __restrict b = bp + q * n * 4;
      // NOLINTNEXTLINE(bugprone-signed-char-misuse): int8 weights, sign-extended on purpose
      const int32_t a0 = ai[4 * q], a1 = ai[4 * q + 1], a2 = ai[4 * q + 2], a3 = ai[4 * q + 3];
      for (int64_t j = 0; j < n; ++j) {
        row[j] += a0 * b[4 * j] + a1 * b[4 * j + 1] + a2 * b[4 * j + 2] + a3 * b[4 * j + 3];
      }
    }
  }
}

#if defined(TINYCNN_VNNI)
// Rows [i, i + rows) (rows <= 4) by columns [j, j + 32): 4 x 2 accumulators of 16 int32, the
// last column block masked.
template <int kRows>
void block_vnni(int64_t n, int64_t k4, const int8_t* a, const uint8_t* bp, int32_t* c, int64_t j,
                __mmask16 m0, __mmask16 m1) {
  __m512i acc[kRows][2];
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  const int64_t stride = 4 * k4;
  for (int64_t q = 0; q < k4; ++q) {
    const uint8_t* b = bp + (q * n + j) * 4;
    const __m512i b0 = _mm512_maskz_loadu_epi32(m0, b);
    const __m512i b1 = _mm512_maskz_loadu_epi32(m1, b + 64);
    for (int r = 0; r < kRows; ++r) {
      int32_t w;
      std::memcpy(&w, a + r * stride + 4 * q, 4);
      const __m512i wv = _mm512_set1_epi32(w);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], b0, wv);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], b1, wv);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    _mm512_mask_storeu_epi32(c + r * n + j, m0, acc[r][0]);
    _mm512_mask_storeu_epi32(c + r * n + j + 16, m1, acc[r][1]);
  }
}

__mmask16 lanes(int64_t count) {
  if (count <= 0) return 0;
  if (count >= 16) return 0xFFFF;
  return static_cast<__mmask16>((1u << count) - 1);
}

void gemm_vnni(int64_t m, int64_t n, int64_t k4, const int8_t* a, const uint8_t* bp, int32_t* c) {
  const int64_t stride = 4 * k4;
  for (int64_t j = 0; j < n; j += 32) {
    const __mmask16 m0 = lanes(n - j), m1 = lanes(n - j - 16);
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) block_vnni<4>(n, k4, a + i * stride, bp, c + i * n, j, m0, m1);
    for (; i < m; ++i) block_vnni<1>(n, k4, a + i * stride, bp, c + i * n, j, m0, m1);
  }
}
#endif
}  // namespace

bool int8_vnni_available() {
#if defined(TINYCNN_VNNI)
  return true;
#else
  return false;
#endif
}

void gemm_s8u8(int64_t m, int64_t n, int64_t k4, const int8_t* a, const uint8_t* bp, int32_t* c,
               bool portable) {
#if defined(TINYCNN_VNNI)
  if (!portable) {
    gemm_vnni(m, n, k4, a, bp, c);
    return;
  }
#endif
  (void)portable;
  gemm_portable(m, n, k4, a, bp, c);
}

}  // namespace tinycnn::kernels
