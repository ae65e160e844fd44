// A float vector as wide as the target's registers (GCC/clang vector extensions): 16 lanes with
// AVX-512, 8 with AVX, 4 otherwise. Kernels written with it compile to the best this build's
// -march allows and stay portable. Loads and stores go through memcpy (unaligned, no aliasing
// questions; compiles to one move).
#pragma once

#include <cstring>

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

inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
// x - 0 is x for every x (0 + x is not, for x = -0), so this compiles to one broadcast.
inline Vec splat(float x) { return x - Vec{}; }
// Keeps v in a register: stops the compiler from folding a load into every use of it (it did so
// in a register-blocked loop, doubling the loads of an already load-bound kernel).
inline void in_register(Vec& v) {
#if defined(__x86_64__) || defined(__i386__)
  asm("" : "+v"(v));
#else
  (void)v;
#endif
}
inline float sum(Vec v) {
  float s = 0.0f;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

}  // namespace tinycnn::kernels::simd
