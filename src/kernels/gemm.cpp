// GEMM through OpenBLAS's CBLAS interface, plus the loop reference.
#include "kernels/gemm.hpp"

#include <cblas.h>

namespace tinycnn::kernels {

namespace {
CBLAS_TRANSPOSE to_cblas(Trans t) { return t == Trans::Yes ? CblasTrans : CblasNoTrans; }
}  // namespace

void gemm(const GemmArgs& g) {
  if (g.m == 0 || g.n == 0) return;
  cblas_sgemm(CblasRowMajor, to_cblas(g.trans_a), to_cblas(g.trans_b), static_cast<int>(g.m),
              static_cast<int>(g.n), static_cast<int>(g.k), g.alpha, g.a, static_cast<int>(g.lda),
              g.b, static_cast<int>(g.ldb), g.beta, g.c, static_cast<int>(g.ldc));
}

void dgemm(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
           int64_t ldb, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0, c,
              static_cast<int>(ldc));
}

void gemm_reference(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < g.n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < g.k; ++p) {
        const float a = g.trans_a == Trans::Yes ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
        const float b = g.trans_b == Trans::Yes ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        acc += static_cast<double>(a) * b;
      }
      float& c = g.c[i * g.ldc + j];
      c = g.alpha * static_cast<float>(acc) + (g.beta == 0.0f ? 0.0f : g.beta * c);
    }
  }
}

const char* blas_core_name() { return openblas_get_corename(); }

}  // namespace tinycnn::kernels
