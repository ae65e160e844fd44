// A ReLU's mask: one bit per value, set where the ReLU's output is positive. It is what a
// backward keeps of a fused ReLU, a thirty-second of the output it stands for, so the output
// itself is freed once the next layers have read it. The values come in rows (a batch norm's
// [N][C] planes, or a whole tensor as one row) and each row starts on a 64-bit word, so the bits
// of a vector at an index that is a multiple of its width never straddle two words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tinycnn::kernels {

class ReluMask {
 public:
  ReluMask() = default;
  ReluMask(int64_t rows, int64_t row_size);

  bool defined() const { return !words_.empty(); }
  uint64_t* row(int64_t r) { return words_.data() + r * words_per_row_; }
  const uint64_t* row(int64_t r) const { return words_.data() + r * words_per_row_; }
  size_t nbytes() const { return words_.size() * sizeof(uint64_t); }

 private:
  int64_t words_per_row_ = 0;
  std::vector<uint64_t> words_;
};

inline bool mask_bit(const uint64_t* row, int64_t i) {
  return ((row[i >> 6] >> (i & 63)) & 1u) != 0;
}
// Bits [i, i + count) of a row: count divides 64 and i is a multiple of it.
inline uint32_t mask_bits(const uint64_t* row, int64_t i, int count) {
  return static_cast<uint32_t>((row[i >> 6] >> (i & 63)) & ((uint64_t{1} << count) - 1));
}

// Writes a row's bits for y[0, n): bit i is y[i] > 0 (NaN: 0). The row's words start zeroed.
void relu_mask_row(const float* y, int64_t n, uint64_t* row);
// dx[i] = dy[i] where bit i is set, else 0, for one row of n values (dx may be dy).
void relu_mask_backward(const uint64_t* row, int64_t n, const float* dy, float* dx);

}  // namespace tinycnn::kernels
