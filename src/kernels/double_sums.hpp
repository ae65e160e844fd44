// Sums of float data in double, half a float vector at a time (kD doubles per lane group) over
// kAcc independent accumulators — one chain of dependent adds is latency-bound (4 cycles per
// value). Shared by the normalisation kernels (batch norm, group norm), whose statistics and
// gradient sums must not lose digits over a channel's or a group's values.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "kernels/relu_mask.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels::dsum {

inline constexpr int kD = simd::kLanes / 2;
inline constexpr int kAcc = 4;
typedef float Half __attribute__((vector_size(kD * sizeof(float))));
typedef double DVec __attribute__((vector_size(kD * sizeof(double))));
typedef int32_t HalfMask __attribute__((vector_size(kD * sizeof(int32_t))));

inline DVec load_d(const float* p) {
  Half h;
  std::memcpy(&h, p, sizeof h);
  return __builtin_convertvector(h, DVec);
}
// dy at p + i, zero where bit i.. of key (a fused ReLU's mask row, or null) is clear; i is a
// multiple of kD.
inline DVec load_masked_d(const float* p, const uint64_t* key, int64_t i) {
  Half h;
  std::memcpy(&h, p + i, sizeof h);
  if (key) {
    const auto bits = static_cast<int32_t>(mask_bits(key, i, kD));
    HalfMask lane{};
    for (int l = 0; l < kD; ++l) lane[l] = l;
    h = (Half)((HalfMask)h & -((bits - HalfMask{}) >> lane & 1));
  }
  return __builtin_convertvector(h, DVec);
}
inline double masked(const float* p, const uint64_t* key, int64_t i) {
  return key && !mask_bit(key, i) ? 0.0 : static_cast<double>(p[i]);
}
inline void store_d(float* p, DVec v) {
  const Half h = __builtin_convertvector(v, Half);
  std::memcpy(p, &h, sizeof h);
}
inline DVec splat_d(double x) { return x - DVec{}; }
inline double lane_sum(DVec v) {
  double s = 0;
  for (int i = 0; i < kD; ++i) s += v[i];
  return s;
}

// The sums over i < n of vec(i) (kD values at i) and, for the last n % kD, scalar(i); `terms`
// of them at once (vec and scalar return arrays of that many).
template <int terms, typename V, typename S>
std::array<double, terms> row_sums(int64_t n, V vec, S scalar) {
  std::array<DVec, terms> acc[kAcc] = {};
  int64_t i = 0;
  for (; i + kAcc * kD <= n; i += kAcc * kD) {
    for (int a = 0; a < kAcc; ++a) {
      const std::array<DVec, terms> v = vec(i + a * kD);
      for (int t = 0; t < terms; ++t) acc[a][t] += v[t];
    }
  }
  for (; i + kD <= n; i += kD) {
    const std::array<DVec, terms> v = vec(i);
    for (int t = 0; t < terms; ++t) acc[0][t] += v[t];
  }
  std::array<double, terms> out{};
  for (int t = 0; t < terms; ++t) {
    out[t] = lane_sum((acc[0][t] + acc[1][t]) + (acc[2][t] + acc[3][t]));
  }
  for (; i < n; ++i) {
    const std::array<double, terms> v = scalar(i);
    for (int t = 0; t < terms; ++t) out[t] += v[t];
  }
  return out;
}

}  // namespace tinycnn::kernels::dsum
