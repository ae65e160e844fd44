// bfloat16: the top 16 bits of a float32 (sign, the 8 exponent bits, 7 mantissa bits), the
// operand format of mixed-precision training (conv_plan.hpp's Precision::Bfloat16). Conversion
// rounds to nearest even, as AVX512-BF16's vcvtneps2bf16 does, and like it flushes float32
// subnormals to a signed zero and keeps NaNs quiet; the two give the same bits. Two bfloat16
// side by side in 32 bits (`Bfloat16Pair`, the lower half first) are the operand unit of
// vdpbf16ps, which adds both products of a pair into one float32 lane; the product of two
// bfloat16 is exact in float32, so the result differs from float32 arithmetic on the rounded
// operands only in summation order.
// Where the build's CPU has AVX512-BF16 the bf16 kernels use it; otherwise, or when
// set_bf16_portable(true) asks for it, they run the portable path: the same products as
// float32 fused multiply-adds.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace tinycnn::kernels {

using Bfloat16 = uint16_t;
using Bfloat16Pair = uint32_t;

inline Bfloat16 to_bf16(float x) {
  uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0) return static_cast<Bfloat16>((u >> 16) & 0x8000u);  // 0, subnormal
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<Bfloat16>((u >> 16) | 0x0040u);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<Bfloat16>(u >> 16);
}
inline float from_bf16(Bfloat16 b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float x = 0.0f;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
// x rounded to the nearest bfloat16, as a float.
inline float round_bf16(float x) { return from_bf16(to_bf16(x)); }
inline Bfloat16Pair pair_bf16(float lo, float hi) {
  return static_cast<Bfloat16Pair>(to_bf16(lo)) | (static_cast<Bfloat16Pair>(to_bf16(hi)) << 16);
}

// A multiplicand's values as a backward is handed them: float32, or (in bf16) the bfloat16
// rounding a node saved. Exactly one pointer is set.
struct InputValues {
  const float* f32 = nullptr;
  const Bfloat16* bf16 = nullptr;
  InputValues(const float* values) : f32(values) {}      // NOLINT(google-explicit-constructor)
  InputValues(const Bfloat16* values) : bf16(values) {}  // NOLINT(google-explicit-constructor)
  // The values from index i on.
  InputValues at(int64_t i) const { return f32 ? InputValues(f32 + i) : InputValues(bf16 + i); }
};

// y[i] = to_bf16(x[i]), i < n (vcvtneps2bf16 where the build has it).
void to_bf16(const float* x, int64_t n, Bfloat16* y);
// y[i] = from_bf16(x[i]), i < n: exact.
void from_bf16(const Bfloat16* x, int64_t n, float* y);
// y[i] = round_bf16(x[i]), i < n (y may be x).
void round_bf16(const float* x, int64_t n, float* y);
// A rounded copy of n floats: the operands of the float32 kernels run as bf16's reference (the
// naive convolution) or as its portable form (the linear layers).
std::vector<float> rounded_bf16(const float* x, int64_t n);
// y[i] = pair_bf16(lo[i], hi[i]), i < n; a null hi gives zeros in the upper halves.
void pair_bf16(const float* lo, const float* hi, int64_t n, Bfloat16Pair* y);

// Whether this build's kernels can run on AVX512-BF16 (compiled for a CPU that has it).
bool bf16_native_build();
// Whether the bf16 kernels run on AVX512-BF16 now: a native build not forced portable.
bool bf16_native();
// Forces the portable path (tests compare the two; default false). Not thread-safe: set it
// before the kernels run.
void set_bf16_portable(bool portable);
// "AVX512-BF16 (vdpbf16ps)" or "portable (float32 FMA on bfloat16-rounded operands)".
std::string_view bf16_path_name();

// The bf16 products' peak probe (profile's ceilings): `iterations` rounds of
// kBf16DotChains independent dot-product chains of one vector each, on the path bf16_native()
// says; returns a sum that keeps the loop alive. FLOPs per round: kBf16DotFlops.
inline constexpr int kBf16DotChains = 12;
extern const int64_t kBf16DotFlops;
double bf16_dot_loop(int64_t iterations, float seed);

}  // namespace tinycnn::kernels
