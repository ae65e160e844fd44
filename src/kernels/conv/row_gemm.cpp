// The two register-blocked micro-kernels of row_gemm.hpp: a block of output rows x vectors of q
// (or of D rows x taps) stays in registers while the reduction streams through.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/row_gemm.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "kernels/parallel.hpp"

namespace tinycnn::kernels {

namespace {
using simd::kLanes;
using simd::Vec;

// rows_gemm register block: kRowsM output rows x kRowsV vectors of q (kRowBlock floats).
constexpr int kRowsM = simd::kRegisters >= 32 ? 8 : 4;
constexpr int kRowsV = kRowBlock / kLanes;
// rows_gemm_t register block: kTM rows of D x kTT taps.
constexpr int kTM = simd::kRegisters >= 32 ? 4 : 2;
constexpr int kTT = 5;

template <int M>
void rows_gemm_block(int64_t m0, const float* a, int64_t lda, const float* b, const int64_t* off,
                     int64_t taps, const float* init, float* c, int64_t ldc, int64_t nq) {
  for (int64_t q0 = 0; q0 < nq; q0 += kRowBlock) {
    Vec acc[M][kRowsV];
    for (int i = 0; i < M; ++i) {
      const Vec start = simd::splat(init ? init[m0 + i] : 0.0f);
      for (int v = 0; v < kRowsV; ++v) acc[i][v] = start;
    }
    for (int64_t t = 0; t < taps; ++t) {
      const float* row = b + off[t] + q0;
      Vec x[kRowsV];
      for (int v = 0; v < kRowsV; ++v) x[v] = simd::load(row + v * kLanes);
      const float* at = a + t * lda + m0;
      for (int i = 0; i < M; ++i) {
        const Vec wi = simd::splat(at[i]);
        for (int v = 0; v < kRowsV; ++v) acc[i][v] += wi * x[v];
      }
    }
    for (int i = 0; i < M; ++i) {
      for (int v = 0; v < kRowsV; ++v) simd::store(c + (m0 + i) * ldc + q0 + v * kLanes, acc[i][v]);
    }
  }
}

using RowsBlock = void (*)(int64_t, const float*, int64_t, const float*, const int64_t*, int64_t,
                           const float*, float*, int64_t, int64_t);
template <int... Ms>
constexpr std::array<RowsBlock, sizeof...(Ms)> rows_table(std::integer_sequence<int, Ms...>) {
  return {&rows_gemm_block<Ms + 1>...};
}
constexpr auto kRowsBlocks = rows_table(std::make_integer_sequence<int, kRowsM>{});

}  // namespace

void rows_gemm(int64_t rows, const float* a, int64_t lda, const float* b, const int64_t* off,
               int64_t taps, const float* init, float* c, int64_t ldc, int64_t nq) {
  for (int64_t m0 = 0; m0 < rows; m0 += kRowsM) {
    const int64_t m = std::min<int64_t>(kRowsM, rows - m0);
    kRowsBlocks[static_cast<size_t>(m - 1)](m0, a, lda, b, off, taps, init, c, ldc, nq);
  }
}

namespace {
template <int M, int T>
void rows_gemm_t_block(int64_t m0, int64_t t0, const float* d, int64_t ldd, const float* b,
                       const int64_t* off, int64_t taps, int64_t nq, Vec* s, ImageBatch batch) {
  Vec acc[M][T];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < T; ++j) acc[i][j] = s[(m0 + i) * taps + t0 + j];
  }
  // Image after image, the sums stay in registers: the same additions in the same order as one
  // call per image, without storing and reloading them in between.
  for (int64_t image = 0; image < batch.count; ++image) {
    const float* di = d + image * batch.d_stride;
    const float* row[T];
    for (int j = 0; j < T; ++j) row[j] = b + image * batch.b_stride + off[t0 + j];
    for (int64_t q = 0; q < nq; q += kLanes) {
      Vec dv[M];
      for (int i = 0; i < M; ++i) dv[i] = simd::load(di + (m0 + i) * ldd + q);
      for (int j = 0; j < T; ++j) {
        Vec x = simd::load(row[j] + q);
        simd::in_register(x);
        for (int i = 0; i < M; ++i) acc[i][j] += dv[i] * x;
      }
    }
  }
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < T; ++j) s[(m0 + i) * taps + t0 + j] = acc[i][j];
  }
}

using TBlock = void (*)(int64_t, int64_t, const float*, int64_t, const float*, const int64_t*,
                        int64_t, int64_t, Vec*, ImageBatch);
template <int M, int... Ts>
constexpr std::array<TBlock, sizeof...(Ts)> t_row(std::integer_sequence<int, Ts...>) {
  return {&rows_gemm_t_block<M, Ts + 1>...};
}
template <int... Ms>
constexpr std::array<std::array<TBlock, kTT>, sizeof...(Ms)> t_table(
    std::integer_sequence<int, Ms...>) {
  return {t_row<Ms + 1>(std::make_integer_sequence<int, kTT>{})...};
}
constexpr auto kTBlocks = t_table(std::make_integer_sequence<int, kTM>{});

}  // namespace

void rows_gemm_t(int64_t rows, const float* d, int64_t ldd, const float* b, const int64_t* off,
                 int64_t taps, int64_t nq, Vec* s, ImageBatch batch) {
  for (int64_t m0 = 0; m0 < rows; m0 += kTM) {
    const int64_t m = std::min<int64_t>(kTM, rows - m0);
    for (int64_t t0 = 0; t0 < taps; t0 += kTT) {
      const int64_t t = std::min<int64_t>(kTT, taps - t0);
      kTBlocks[static_cast<size_t>(m - 1)][static_cast<size_t>(t - 1)](m0, t0, d, ldd, b, off, taps,
                                                                       nq, s, batch);
    }
  }
}

std::vector<float> transpose_groups(const float* a, int64_t groups, int64_t rows, int64_t cols) {
  std::vector<float> t(static_cast<size_t>(groups * rows * cols));
  for (int64_t grp = 0; grp < groups; ++grp) {
    const float* src = a + grp * rows * cols;
    float* dst = t.data() + grp * rows * cols;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
    }
  }
  return t;
}

}  // namespace tinycnn::kernels
