// core: Shape arithmetic and overflow, the seeded Rng, Error.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/shape.hpp"

namespace tinycnn::core {
namespace {

TEST(Shape, NumelAndToString) {
  const Shape s{2, 3, 4};
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s[1], 3);
  EXPECT_EQ(s.to_string(), "[2, 3, 4]");
  EXPECT_EQ(Shape{}.numel(), 1);
}

TEST(Shape, RejectsNegativeAndOverflow) {
  EXPECT_THROW((Shape{2, -1}.numel()), Error);
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_THROW((Shape{big, 4}.numel()), Error);
  EXPECT_THROW((Shape{2, 3}[2]), Error);
}

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    if (i == 0) {
      EXPECT_NE(x, c.next_u64());
    }
  }
}

TEST(Rng, StateRoundTrip) {
  Rng a(1);
  a.next_u64();
  Rng b(999);
  b.set_state(a.state());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_THROW(b.set_state({0, 0, 0, 0}), Error);
}

TEST(Rng, UniformIntInRangeAndNormalMoments) {
  Rng rng(5);
  int counts[7] = {};
  for (int i = 0; i < 7000; ++i) {
    const uint64_t v = rng.uniform_int(7);
    ASSERT_LT(v, 7u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_GT(c, 800);
  double sum = 0, sq = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal(1.0, 2.0);
    sum += x;
    sq += x * x;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 1.0, 0.06);
  EXPECT_NEAR(std::sqrt(var), 2.0, 0.06);
  EXPECT_THROW(rng.uniform_int(0), Error);
}

TEST(Error, CheckCarriesKindMessageAndLocation) {
  try {
    TCNN_CHECK(1 + 1 == 3, "expected ", 3, ", got ", 2);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
    EXPECT_STREQ(e.what(), "expected 3, got 2");
    EXPECT_NE(e.where().find("core_test.cpp:"), std::string::npos) << e.where();
  }
  try {
    TCNN_CHECK_RUNTIME(false, "disk");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Runtime);
  }
}

}  // namespace
}  // namespace tinycnn::core
