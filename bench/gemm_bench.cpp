// GEMM at the shapes one LeNet-5 image produces (per-image im2col), OpenBLAS vs the loops.
#include <benchmark/benchmark.h>

#include "core/rng.hpp"
#include "kernels/gemm.hpp"
#include "tensor/tensor.hpp"

namespace {

using tinycnn::kernels::GemmArgs;
using tinycnn::kernels::Trans;
using tinycnn::tensor::Tensor;

void BM_Gemm(benchmark::State& state, int64_t m, int64_t n, int64_t k, bool reference) {
  tinycnn::core::Rng rng(1);
  Tensor a = Tensor::randn({m * k}, rng), b = Tensor::randn({k * n}, rng),
         c = Tensor::empty({m * n});
  const GemmArgs args{.m = m,
                      .n = n,
                      .k = k,
                      .a = a.data(),
                      .lda = k,
                      .b = b.data(),
                      .ldb = n,
                      .c = c.data(),
                      .ldc = n};
  for (auto _ : state) {
    if (reference) {
      tinycnn::kernels::gemm_reference(args);
    } else {
      tinycnn::kernels::gemm(args);
    }
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOPS"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

// conv1 forward: [6 x 25] x [25 x 784]; conv2 forward: [16 x 150] x [150 x 100];
// fc1 at batch 64: [64 x 400] x [400 x 120].
BENCHMARK_CAPTURE(BM_Gemm, lenet_conv1_6x784x25_blas, 6, 784, 25, false);
BENCHMARK_CAPTURE(BM_Gemm, lenet_conv1_6x784x25_reference, 6, 784, 25, true);
BENCHMARK_CAPTURE(BM_Gemm, lenet_conv2_16x100x150_blas, 16, 100, 150, false);
BENCHMARK_CAPTURE(BM_Gemm, lenet_conv2_16x100x150_reference, 16, 100, 150, true);
BENCHMARK_CAPTURE(BM_Gemm, lenet_fc1_64x120x400_blas, 64, 120, 400, false);

}  // namespace
