// bfloat16 conversions and the choice of path; see bf16.hpp.
#include "kernels/bf16.hpp"

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define TINYCNN_AVX512_BF16 1
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized in the set-zero / widening intrinsics.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

namespace tinycnn::kernels {

namespace {
bool g_portable = false;
}  // namespace

void to_bf16(const float* x, int64_t n, Bfloat16* y) {
  int64_t i = 0;
#if defined(TINYCNN_AVX512_BF16)
  if (!g_portable) {
    for (; i + 16 <= n; i += 16) {
      const __m256bh b = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), (__m256i)b);
    }
  }
#endif
  for (; i < n; ++i) y[i] = to_bf16(x[i]);
}

void from_bf16(const Bfloat16* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = from_bf16(x[i]);
}

void round_bf16(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = round_bf16(x[i]);
}

std::vector<float> rounded_bf16(const float* x, int64_t n) {
  std::vector<float> r(static_cast<size_t>(n));
  round_bf16(x, n, r.data());
  return r;
}

void pair_bf16(const float* lo, const float* hi, int64_t n, Bfloat16Pair* y) {
  int64_t i = 0;
#if defined(TINYCNN_AVX512_BF16)
  if (!g_portable) {
    for (; i + 16 <= n; i += 16) {
      // Each converted to 16 bfloat16, widened to 32-bit lanes, hi shifted into the upper halves.
      const __m512 l = _mm512_loadu_ps(lo + i);
      const __m512 h = hi ? _mm512_loadu_ps(hi + i) : _mm512_setzero_ps();
      const __m512i lw = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(l));
      const __m512i hw = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(h));
      _mm512_storeu_si512(y + i, _mm512_or_si512(lw, _mm512_slli_epi32(hw, 16)));
    }
  }
#endif
  for (; i < n; ++i) y[i] = pair_bf16(lo[i], hi ? hi[i] : 0.0f);
}

namespace {
using Lanes = float __attribute__((vector_size(64)));
using Pairs = uint32_t __attribute__((vector_size(64)));

template <bool Native>
double dot_loop(int64_t iterations, float seed) {
  Lanes acc[kBf16DotChains];
  for (int i = 0; i < kBf16DotChains; ++i) acc[i] = Lanes{} + (seed + static_cast<float>(i));
  Pairs a = Pairs{} + pair_bf16(0.999f, -0.999f), b = Pairs{} + pair_bf16(1e-3f, 1e-3f);
  asm("" : "+v"(a), "+v"(b));
  for (int64_t it = 0; it < iterations; ++it) {
    for (auto& c : acc) {
#if defined(TINYCNN_AVX512_BF16)
      if constexpr (Native) {
        c = (Lanes)_mm512_dpbf16_ps((__m512)c, (__m512bh)a, (__m512bh)b);
        continue;
      }
#endif
      const Pairs high = Pairs{} + 0xffff0000u;
      c += (Lanes)(a & high) * (Lanes)(b & high);
      c += (Lanes)(a << 16) * (Lanes)(b << 16);
    }
  }
  double sum = 0;
  for (const auto& c : acc) {
    for (int l = 0; l < 16; ++l) sum += c[l];
  }
  return sum;
}
}  // namespace

const int64_t kBf16DotFlops = int64_t{kBf16DotChains} * 16 * 4;

double bf16_dot_loop(int64_t iterations, float seed) {
  return bf16_native() ? dot_loop<true>(iterations, seed) : dot_loop<false>(iterations, seed);
}

bool bf16_native_build() {
#if defined(TINYCNN_AVX512_BF16)
  return true;
#else
  return false;
#endif
}

bool bf16_native() { return bf16_native_build() && !g_portable; }

void set_bf16_portable(bool portable) { g_portable = portable; }

std::string_view bf16_path_name() {
  return bf16_native() ? "AVX512-BF16 (vdpbf16ps)"
                       : "portable (float32 FMA on bfloat16-rounded operands)";
}

}  // namespace tinycnn::kernels
