// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T.
// gemm() calls Debian's OpenMP build of OpenBLAS: single-threaded inside tinycnn's parallel
// regions (tinycnn splits the work across its threads), safe to call from several threads at
// once. Never call openblas_set_num_threads: in this build it sets the OpenMP thread count of
// the whole program. The linear layers use gemm(); the convolutions use row_gemm.hpp.
// gemm_reference() is plain loops, the test oracle for gemm().
#pragma once

#include <cstdint>

namespace tinycnn::kernels {

enum class Trans { No, Yes };

struct GemmArgs {
  Trans trans_a = Trans::No;
  Trans trans_b = Trans::No;
  int64_t m = 0, n = 0, k = 0;  // op(A) is m x k, op(B) is k x n, C is m x n
  float alpha = 1.0f;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float beta = 0.0f;
  float* c = nullptr;
  int64_t ldc = 0;
};

void gemm(const GemmArgs& args);
void gemm_reference(const GemmArgs& args);

// Double precision, row-major, no transposes: C (m x n) = A (m x k) * B (k x n), through
// OpenBLAS (the gradient check's double-precision forward).
void dgemm(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
           int64_t ldb, double* c, int64_t ldc);

// The BLAS core OpenBLAS picked for this CPU (e.g. "Haswell", "SkylakeX").
const char* blas_core_name();

}  // namespace tinycnn::kernels
