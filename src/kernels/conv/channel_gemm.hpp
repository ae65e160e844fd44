// The GEMM of the Winograd path (conv/winograd.hpp), one tile position at a time: rows of
// transformed input (one tile each, channels side by side) times the transformed filters, on
// vectors of output channels. Each output's sum runs over the channels in order, whatever the
// row block, so results do not depend on how many rows a call holds.
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

// The most rows a register block holds: a call computes up to this many - 1 rows past `rows`,
// which `v` and `out` must have room for (their values there are never meaningful).
inline constexpr int64_t kChannelGemmMostRows = 14;

// out[t][0..kv) = sum over c < cin of v[t * ldv + c] * u[c * kv + 0..kv), for t < rows (rounded
// up to the register block); kv a multiple of the vector width.
void channel_gemm(int64_t rows, int64_t cin, int64_t kv, const float* v, int64_t ldv,
                  const float* u, float* out);

}  // namespace tinycnn::kernels
