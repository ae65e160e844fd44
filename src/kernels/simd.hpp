// A float vector as wide as the target's registers (GCC/clang vector extensions): 16 lanes with
// AVX-512, 8 with AVX, 4 otherwise. Kernels written with it compile to the best this build's
// -march allows and stay portable. Loads and stores go through memcpy (unaligned, no aliasing
// questions; compiles to one move).
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace tinycnn::kernels::simd {

#if defined(__AVX512F__)
inline constexpr int kLanes = 16;
inline constexpr int kRegisters = 32;
#elif defined(__AVX__)
inline constexpr int kLanes = 8;
inline constexpr int kRegisters = 16;
#else
inline constexpr int kLanes = 4;
inline constexpr int kRegisters = 16;
#endif

typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t IVec __attribute__((vector_size(kLanes * sizeof(int32_t))));  // lane masks: 0 / -1

inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
// x - 0 is x for every x (0 + x is not, for x = -0), so this compiles to one broadcast.
inline Vec splat(float x) { return x - Vec{}; }
// Hides where p points from the optimiser: in a sliding-window loop GCC otherwise carries the
// overlapping scalars of one iteration into the next (predictive commoning) and spills them.
template <typename T>
inline const T* opaque(const T* p) {
  asm("" : "+r"(p));
  return p;
}
// Keeps v in a register: stops the compiler from folding a load into every use of it (in a
// register-blocked loop that doubles the loads of an already load-bound kernel).
inline void in_register(Vec& v) {
#if defined(__x86_64__) || defined(__i386__)
  asm("" : "+v"(v));
#else
  (void)v;
#endif
}
inline void store(int32_t* p, IVec v) { std::memcpy(p, &v, sizeof v); }
#if defined(__AVX512F__)
// The mask of lanes [0, count), count <= kLanes.
inline __mmask16 first_lanes(int64_t count) { return static_cast<__mmask16>((1u << count) - 1); }
#endif
// The first `count` lanes only (count <= kLanes): a masked store with AVX-512 (a memcpy of a
// run-time length is a library call).
inline void store_first(float* p, Vec v, int64_t count) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, first_lanes(count), (__m512)v);
#else
  std::memcpy(p, &v, static_cast<size_t>(count) * sizeof(float));
#endif
}
inline void store_first(int32_t* p, IVec v, int64_t count) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_epi32(p, first_lanes(count), (__m512i)v);
#else
  std::memcpy(p, &v, static_cast<size_t>(count) * sizeof(int32_t));
#endif
}
// n <= kLanes floats from src to dst: one masked load and store with AVX-512, where a call to
// memmove for each short image row (10-28 floats here) cost more than the copy.
inline void copy_short(float* dst, const float* src, int64_t n) {
#if defined(__AVX512F__)
  const __mmask16 mask = first_lanes(n);
  _mm512_mask_storeu_ps(dst, mask, _mm512_maskz_loadu_ps(mask, src));
#else
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
#endif
}
// Any n: whole vectors, then one short copy.
inline void copy(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(dst + i, load(src + i));
  if (i < n) copy_short(dst + i, src + i, n - i);
}

inline IVec splat_int(int32_t x) { return x - IVec{}; }
// Lane-wise m ? a : b for a mask m of 0 / -1 lanes.
inline Vec select(IVec m, Vec a, Vec b) { return (Vec)((m & (IVec)a) | (~m & (IVec)b)); }
inline IVec select(IVec m, IVec a, IVec b) { return (m & a) | (~m & b); }

// The first `count` lanes from p (count <= kLanes), zeros in the others.
inline Vec load_first(const float* p, int64_t count) {
#if defined(__AVX512F__)
  return (Vec)_mm512_maskz_loadu_ps(first_lanes(count), p);
#else
  Vec v{};
  std::memcpy(&v, p, static_cast<size_t>(count) * sizeof(float));
  return v;
#endif
}
inline IVec load_first(const int32_t* p, int64_t count) {
#if defined(__AVX512F__)
  return (IVec)_mm512_maskz_loadu_epi32(first_lanes(count), p);
#else
  IVec v{};
  std::memcpy(&v, p, static_cast<size_t>(count) * sizeof(int32_t));
  return v;
#endif
}
// dst[i] = src[i] > 0 ? src[i] : 0 (ReLU, NaN -> 0 as kernels::relu_forward), any n.
inline void copy_relu(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Vec v = load(src + i);
    store(dst + i, select(v > Vec{}, v, Vec{}));
  }
  if (i < n) {
    const Vec v = load_first(src + i, n - i);
    store_first(dst + i, select(v > Vec{}, v, Vec{}), n - i);
  }
}
// dst[i] = key[i] > 0 ? src[i] : 0 (ReLU's backward: key is its output), any n.
inline void copy_where_positive(float* dst, const float* src, const float* key, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    store(dst + i, select(load(key + i) > Vec{}, load(src + i), Vec{}));
  }
  if (i < n) {
    const Vec k = load_first(key + i, n - i);
    store_first(dst + i, select(k > Vec{}, load_first(src + i, n - i), Vec{}), n - i);
  }
}
inline IVec iota() {
  IVec v = {};
  for (int i = 0; i < kLanes; ++i) v[i] = i;
  return v;
}

namespace detail {
template <int... Is>
Vec even(Vec a, Vec b, std::integer_sequence<int, Is...>) {
  return __builtin_shufflevector(a, b, (2 * Is)...);
}
template <int... Is>
Vec odd(Vec a, Vec b, std::integer_sequence<int, Is...>) {
  return __builtin_shufflevector(a, b, (2 * Is + 1)...);
}
template <int Offset, int... Is>
Vec zip(Vec a, Vec b, std::integer_sequence<int, Is...>) {
  return __builtin_shufflevector(a, b, ((Is % 2 ? kLanes : 0) + Offset + Is / 2)...);
}
}  // namespace detail
// Lanes 0, 2, 4, ... (even) or 1, 3, 5, ... (odd) of the 2*kLanes floats a:b.
inline Vec even(Vec a, Vec b) {
  return detail::even(a, b, std::make_integer_sequence<int, kLanes>{});
}
inline Vec odd(Vec a, Vec b) {
  return detail::odd(a, b, std::make_integer_sequence<int, kLanes>{});
}

// The inverse: a0 b0 a1 b1 ... of the first (zip_low) or second (zip_high) halves of a and b.
inline Vec zip_low(Vec a, Vec b) {
  return detail::zip<0>(a, b, std::make_integer_sequence<int, kLanes>{});
}
inline Vec zip_high(Vec a, Vec b) {
  return detail::zip<kLanes / 2>(a, b, std::make_integer_sequence<int, kLanes>{});
}

inline float sum(Vec v) {
  float s = 0.0f;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

#if defined(__AVX512F__)
// rows[i][j] -> rows[j][i]: a 16 x 16 block of floats transposed in registers (32-bit, then
// 64-bit interleaves within 128-bit lanes, then two rounds of 128-bit lane shuffles).
inline void transpose16(Vec* rows) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps((__m512)rows[i], (__m512)rows[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps((__m512)rows[i], (__m512)rows[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // u[4q + e], lane k: rows 4q..4q+3 of column 4k + e.
  for (int e = 0; e < 4; ++e) {
    const __m512 lo_a = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);
    const __m512 hi_a = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xDD);
    const __m512 lo_b = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);
    const __m512 hi_b = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xDD);
    rows[e] = (Vec)_mm512_shuffle_f32x4(lo_a, lo_b, 0x88);
    rows[8 + e] = (Vec)_mm512_shuffle_f32x4(lo_a, lo_b, 0xDD);
    rows[4 + e] = (Vec)_mm512_shuffle_f32x4(hi_a, hi_b, 0x88);
    rows[12 + e] = (Vec)_mm512_shuffle_f32x4(hi_a, hi_b, 0xDD);
  }
}
#endif

}  // namespace tinycnn::kernels::simd
