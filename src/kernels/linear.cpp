// Linear layer as three GEMMs. The forward is OpenBLAS's (single-threaded: the batch is split
// across threads, so results depend on the thread count, as the convolutions' do); the two
// backward GEMMs are our own broadcast kernel, which needs no packing of the operands and so beats
// OpenBLAS at the small slices of a data-parallel step (docs/performance.md); dinput and
// dweight (equal work at any shape: both are batch x in x out) run side by side.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/linear.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "kernels/bf16.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
using simd::kLanes;
using simd::Vec;

// C[r][j] = sum over k (in order) of A(r, k) * B[k][j], A(r, k) = a[r*a_r + k*a_k]: a register
// block of R rows x V vectors of j, one broadcast of A and V loads of B per k. Overwrites C.
// Masked: the block's last vector holds only `last` floats (masked loads and stores).
template <int R, int V, bool Masked>
void broadcast_block(const float* a, int64_t a_r, int64_t a_k, const float* b, int64_t ldb,
                     int64_t depth, float* c, int64_t ldc, int64_t last) {
  Vec acc[R][V] = {};
  for (int64_t k = 0; k < depth; ++k) {
    const float* bk = b + k * ldb;
    Vec bv[V];
    for (int v = 0; v < V; ++v) {
      bv[v] = Masked && v + 1 == V ? simd::load_first(bk + v * kLanes, last)
                                   : simd::load(bk + v * kLanes);
      simd::in_register(bv[v]);  // one load per vector, not one per row's multiply-add
    }
    const float* ak = a + k * a_k;
    for (int r = 0; r < R; ++r) {
      const Vec ar = simd::splat(ak[r * a_r]);
      for (int v = 0; v < V; ++v) acc[r][v] += ar * bv[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) {
      if (Masked && v + 1 == V) {
        simd::store_first(c + r * ldc + v * kLanes, acc[r][v], last);
      } else {
        simd::store(c + r * ldc + v * kLanes, acc[r][v]);
      }
    }
  }
}

constexpr int kBlockRows = 4, kBlockVectors = 4;
using BroadcastBlock = void (*)(const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                                float*, int64_t, int64_t);
template <int R, bool Masked, int... Vs>
constexpr std::array<BroadcastBlock, sizeof...(Vs)> block_row(std::integer_sequence<int, Vs...>) {
  return {&broadcast_block<R, Vs + 1, Masked>...};
}
template <bool Masked>
constexpr std::array<std::array<BroadcastBlock, kBlockVectors>, kBlockRows> block_table() {
  constexpr auto vs = std::make_integer_sequence<int, kBlockVectors>{};
  return {block_row<1, Masked>(vs), block_row<2, Masked>(vs), block_row<3, Masked>(vs),
          block_row<4, Masked>(vs)};
}
constexpr auto kBlocks = block_table<false>();
constexpr auto kMaskedBlocks = block_table<true>();

void broadcast_gemm(int64_t rows, int64_t cols, int64_t depth, const float* a, int64_t a_r,
                    int64_t a_k, const float* b, int64_t ldb, float* c, int64_t ldc) {
  constexpr int64_t kBlockCols = kBlockVectors * kLanes;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlockRows) {
    const int64_t nr = std::min<int64_t>(kBlockRows, rows - r0);
    for (int64_t j0 = 0; j0 < cols; j0 += kBlockCols) {
      const int64_t nj = std::min(kBlockCols, cols - j0);
      const int64_t nv = (nj + kLanes - 1) / kLanes, last = nj - (nv - 1) * kLanes;
      const auto& table = last == kLanes ? kBlocks : kMaskedBlocks;
      table[static_cast<size_t>(nr - 1)][static_cast<size_t>(nv - 1)](
          a + r0 * a_r, a_r, a_k, b + j0, ldb, depth, c + r0 * ldc + j0, ldc, last);
    }
  }
}
}  // namespace

namespace {
// In bf16: bfloat16-rounded copies of the operands, else none (the callers' pointers serve).
struct Rounded {
  std::vector<float> values;
  const float* of(const float* x, int64_t n, Precision p) {
    if (p != Precision::Bf16 || !x) return x;
    values = rounded_bf16(x, n);
    return values.data();
  }
};
}  // namespace

void linear_forward(const LinearGeometry& g, const float* input, const float* weight,
                    const float* bias, float* output) {
  Rounded ri, rw;
  input = ri.of(input, g.batch * g.in_features, g.precision);
  weight = rw.of(weight, g.out_features * g.in_features, g.precision);
  const bool parallel = g.batch * g.in_features * g.out_features >= kParallelMinElements * 8;
#pragma omp parallel if (parallel)
  {
    const Block rows = thread_block(g.batch);
    if (bias) {
      for (int64_t n = rows.begin; n < rows.end; ++n) {
        std::copy(bias, bias + g.out_features, output + n * g.out_features);
      }
    }
    gemm({.trans_b = Trans::Yes,
          .m = rows.end - rows.begin,
          .n = g.out_features,
          .k = g.in_features,
          .a = input + rows.begin * g.in_features,
          .lda = g.in_features,
          .b = weight,
          .ldb = g.in_features,
          .beta = bias ? 1.0f : 0.0f,
          .c = output + rows.begin * g.out_features,
          .ldc = g.out_features});
  }
}

void linear_backward(const LinearGeometry& g, const float* input, const float* weight,
                     const float* doutput, float* dinput, float* dweight, float* dbias) {
  Rounded ri, rw, rd;
  const float* dout_products = rd.of(doutput, g.batch * g.out_features, g.precision);
  const float* in = dweight ? ri.of(input, g.batch * g.in_features, g.precision) : input;
  const float* w = dinput ? rw.of(weight, g.out_features * g.in_features, g.precision) : weight;
  const bool parallel = g.batch * g.in_features * g.out_features >= kParallelMinElements * 8;
#pragma omp parallel sections if (parallel)
  {
#pragma omp section
    if (dinput) {
      // dinput[n][i] = sum_o doutput[n][o] weight[o][i]
      broadcast_gemm(g.batch, g.in_features, g.out_features, dout_products, g.out_features, 1, w,
                     g.in_features, dinput, g.in_features);
    }
#pragma omp section
    {
      if (dweight) {
        // dweight[o][i] = sum_n doutput[n][o] input[n][i]
        broadcast_gemm(g.out_features, g.in_features, g.batch, dout_products, 1, g.out_features, in,
                       g.in_features, dweight, g.in_features);
      }
      if (dbias) {
        std::fill(dbias, dbias + g.out_features, 0.0f);
        for (int64_t n = 0; n < g.batch; ++n) {
          for (int64_t j = 0; j < g.out_features; ++j) dbias[j] += doutput[n * g.out_features + j];
        }
      }
    }
  }
}

}  // namespace tinycnn::kernels
