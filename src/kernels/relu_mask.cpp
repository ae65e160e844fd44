// ReLU masks; see relu_mask.hpp.
#include "kernels/relu_mask.hpp"

#include <cstring>

#include "kernels/simd.hpp"

namespace tinycnn::kernels {

ReluMask::ReluMask(int64_t rows, int64_t row_size)
    : words_per_row_((row_size + 63) / 64), words_(static_cast<size_t>(rows * words_per_row_)) {}

void relu_mask_row(const float* y, int64_t n, uint64_t* row) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    const __mmask16 bits =
        _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), _mm512_setzero_ps(), _CMP_GT_OQ);
    std::memcpy(reinterpret_cast<unsigned char*>(row) + i / 8, &bits, sizeof bits);
  }
#endif
  for (; i < n; ++i) {
    if (y[i] > 0.0f) row[i >> 6] |= uint64_t{1} << (i & 63);
  }
}

void relu_mask_backward(const uint64_t* row, int64_t n, const float* dy, float* dx) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    const auto bits = static_cast<__mmask16>(mask_bits(row, i, 16));
    _mm512_storeu_ps(dx + i, _mm512_maskz_loadu_ps(bits, dy + i));
  }
#endif
  for (; i < n; ++i) dx[i] = mask_bit(row, i) ? dy[i] : 0.0f;
}

}  // namespace tinycnn::kernels
