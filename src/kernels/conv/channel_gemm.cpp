// The Winograd path's GEMM on vectors of output channels; see channel_gemm.hpp.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/channel_gemm.hpp"

#include <algorithm>
#include <array>

#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
using simd::kLanes;
using simd::Vec;

// The register block per count of output-channel vectors (1 to 4): rows x vectors accumulators,
// plus the vectors of filter and one broadcast, within 32 registers.
constexpr std::array<int, 5> kRowsFor = {0, 14, 14, 8, 6};
static_assert(kRowsFor[1] == kChannelGemmMostRows && kRowsFor[2] <= kChannelGemmMostRows);

// out[t][kv] = sum_c v[t][c] u[c][kv] for R rows and NV vectors of channels.
template <int R, int NV>
void gemm_block(const float* v, int64_t ldv, const float* u, int64_t ldu, int64_t cin, float* out,
                int64_t ldo) {
  Vec acc[R][NV] = {};
  for (int64_t c = 0; c < cin; ++c) {
    Vec w[NV];
    for (int j = 0; j < NV; ++j) w[j] = simd::load(u + c * ldu + j * kLanes);
    for (int r = 0; r < R; ++r) {
      const Vec b = simd::splat(v[r * ldv + c]);
      for (int j = 0; j < NV; ++j) acc[r][j] += b * w[j];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int j = 0; j < NV; ++j) simd::store(out + r * ldo + j * kLanes, acc[r][j]);
  }
}

template <int NV>
void gemm_columns(int64_t rows, int64_t cin, int64_t kv, const float* v, int64_t ldv,
                  const float* u, float* out) {
  constexpr int kR = kRowsFor[NV];
  for (int64_t t = 0; t < rows; t += kR) {
    gemm_block<kR, NV>(v + t * ldv, ldv, u, kv, cin, out + t * kv, kv);
  }
}
}  // namespace

void channel_gemm(int64_t rows, int64_t cin, int64_t kv, const float* v, int64_t ldv,
                  const float* u, float* out) {
  for (int64_t k0 = 0; k0 < kv; k0 += 4 * kLanes) {
    switch (std::min<int64_t>(4, (kv - k0) / kLanes)) {
      case 1:
        gemm_columns<1>(rows, cin, kv, v, ldv, u + k0, out + k0);
        break;
      case 2:
        gemm_columns<2>(rows, cin, kv, v, ldv, u + k0, out + k0);
        break;
      case 3:
        gemm_columns<3>(rows, cin, kv, v, ldv, u + k0, out + k0);
        break;
      default:
        gemm_columns<4>(rows, cin, kv, v, ldv, u + k0, out + k0);
        break;
    }
  }
}

}  // namespace tinycnn::kernels
