// ReLU masks: the vector and scalar paths against a bit-by-bit reading of the definition, rows
// that do not fill a word, NaN and signed zeros; batch norm's backward reading a mask against
// the same backward fed a masked gradient.
#include "kernels/relu_mask.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/rng.hpp"
#include "kernels/batchnorm.hpp"

namespace tinycnn::kernels {
namespace {

std::vector<float> mixed_values(int64_t n, uint64_t seed) {
  core::Rng rng(seed);
  std::vector<float> y(static_cast<size_t>(n));
  for (float& v : y) v = rng.uniform() < 0.5 ? 0.0f : static_cast<float>(rng.uniform()) - 0.5f;
  if (n > 3) {
    y[1] = -0.0f;
    y[2] = std::numeric_limits<float>::quiet_NaN();
    y[3] = std::numeric_limits<float>::denorm_min();
  }
  return y;
}

TEST(ReluMask, EachBitIsWhetherItsValueIsPositive) {
  for (int64_t n : {0, 1, 15, 16, 17, 63, 64, 65, 100, 1000}) {
    const std::vector<float> y = mixed_values(n, static_cast<uint64_t>(n) + 1);
    ReluMask mask(3, n);
    for (int64_t r = 0; r < 3; ++r) relu_mask_row(y.data(), n, mask.row(r));
    for (int64_t r = 0; r < 3; ++r) {
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(mask_bit(mask.row(r), i), y[static_cast<size_t>(i)] > 0.0f)
            << "n " << n << " row " << r << " index " << i;
      }
    }
    EXPECT_EQ(mask.nbytes(), static_cast<size_t>(3 * ((n + 63) / 64) * 8));
  }
}

TEST(ReluMask, TheBackwardPassesTheGradientWhereTheBitIsSet) {
  for (int64_t n : {1, 16, 33, 130}) {
    const std::vector<float> y = mixed_values(n, 7);
    const std::vector<float> dy = mixed_values(n, 8);
    ReluMask mask(1, n);
    relu_mask_row(y.data(), n, mask.row(0));
    std::vector<float> dx(static_cast<size_t>(n), 42.0f);
    relu_mask_backward(mask.row(0), n, dy.data(), dx.data());
    for (size_t i = 0; i < dx.size(); ++i) {
      const float expected = y[i] > 0.0f ? dy[i] : 0.0f;
      ASSERT_TRUE(dx[i] == expected || (std::isnan(dx[i]) && std::isnan(expected))) << i;
    }
  }
}

TEST(ReluMask, BatchNormReadsTheMaskAsItsRelusOutput) {
  // spatial 49 (7x7): rows that neither fill a word nor a vector.
  const BatchNormShape s{.batch = 3, .channels = 2, .spatial = 49};
  const int64_t n = s.batch * s.channels * s.spatial;
  std::vector<float> x = mixed_values(n, 11), dy = mixed_values(n, 12);
  x[2] = dy[2] = 0.25f;  // finite sums to compare
  const std::vector<double> mean{0.01, -0.02}, invstd{1.5, 0.8};
  std::vector<float> y(static_cast<size_t>(n));
  ReluMask mask(s.batch * s.channels, s.spatial);
  batchnorm_normalize(s, x.data(), mean, invstd, nullptr, nullptr, y.data(), true, &mask);
  std::vector<float> masked(static_cast<size_t>(n));
  for (size_t i = 0; i < masked.size(); ++i) masked[i] = y[i] > 0.0f ? dy[i] : 0.0f;
  std::vector<double> with_mask, reference;
  batchnorm_backward_sums(s, x.data(), dy.data(), mean, invstd, &mask, with_mask);
  batchnorm_backward_sums(s, x.data(), masked.data(), mean, invstd, nullptr, reference);
  EXPECT_EQ(with_mask, reference);
  std::vector<float> dx(static_cast<size_t>(n)), dx_ref(static_cast<size_t>(n));
  batchnorm_backward_dx(s, x.data(), dy.data(), mean, invstd, nullptr, true, n / 2, reference,
                        &mask, dx.data());
  batchnorm_backward_dx(s, x.data(), masked.data(), mean, invstd, nullptr, true, n / 2, reference,
                        nullptr, dx_ref.data());
  EXPECT_EQ(dx, dx_ref);
}

}  // namespace
}  // namespace tinycnn::kernels
