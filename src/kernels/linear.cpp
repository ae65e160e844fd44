// Linear layer as three GEMMs. The BLAS is single-threaded (conv parallelises over images), so
// the forward splits the batch across threads (OpenBLAS then sums in another order than for the
// whole batch: results depend on the thread count, as the convolutions' do), and the backward
// runs dinput and dweight (equal work at any shape: both are batch x in x out) side by side.
#include "kernels/linear.hpp"

#include <algorithm>

#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"

namespace tinycnn::kernels {

void linear_forward(const LinearGeometry& g, const float* input, const float* weight,
                    const float* bias, float* output) {
  const bool parallel = g.batch * g.in_features * g.out_features >= kParallelMinElements * 8;
#pragma omp parallel if (parallel)
  {
    const Block rows = thread_block(g.batch);
    if (bias) {
      for (int64_t n = rows.begin; n < rows.end; ++n) {
        std::copy(bias, bias + g.out_features, output + n * g.out_features);
      }
    }
    gemm({.trans_b = Trans::Yes, .m = rows.end - rows.begin, .n = g.out_features,
          .k = g.in_features, .a = input + rows.begin * g.in_features, .lda = g.in_features,
          .b = weight, .ldb = g.in_features, .beta = bias ? 1.0f : 0.0f,
          .c = output + rows.begin * g.out_features, .ldc = g.out_features});
  }
}

void linear_backward(const LinearGeometry& g, const float* input, const float* weight,
                     const float* doutput, float* dinput, float* dweight, float* dbias) {
  const bool parallel = g.batch * g.in_features * g.out_features >= kParallelMinElements * 8;
#pragma omp parallel sections if (parallel)
  {
#pragma omp section
    if (dinput) {
      gemm({.m = g.batch, .n = g.in_features, .k = g.out_features, .a = doutput,
            .lda = g.out_features, .b = weight, .ldb = g.in_features, .c = dinput,
            .ldc = g.in_features});
    }
#pragma omp section
    {
      if (dweight) {
        gemm({.trans_a = Trans::Yes, .m = g.out_features, .n = g.in_features, .k = g.batch,
              .a = doutput, .lda = g.out_features, .b = input, .ldb = g.in_features,
              .c = dweight, .ldc = g.in_features});
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
