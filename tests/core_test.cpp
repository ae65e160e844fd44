// core: Shape arithmetic and overflow, the seeded Rng, Error.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/file_kind.hpp"
#include "core/rng.hpp"
#include "core/shape.hpp"
#include "core/utf8.hpp"

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

// Well-formed UTF-8 (Unicode's table 3-7) and the offset of the first bad byte otherwise.
TEST(Utf8, FirstIllFormedByte) {
  EXPECT_FALSE(invalid_utf8_at(""));
  EXPECT_FALSE(invalid_utf8_at("plain ascii"));
  EXPECT_FALSE(invalid_utf8_at("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_EQ(invalid_utf8_at("ab\xff"), 2u);
  EXPECT_EQ(invalid_utf8_at("\xc3"), 0u);              // cut short
  EXPECT_EQ(invalid_utf8_at("x\xc0\xaf"), 1u);         // overlong '/'
  EXPECT_EQ(invalid_utf8_at("\xe0\x80\xaf"), 0u);      // overlong, 3 bytes
  EXPECT_EQ(invalid_utf8_at("\xed\xa0\x80"), 0u);      // a surrogate
  EXPECT_EQ(invalid_utf8_at("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(invalid_utf8_at("\xe2\x82x"), 0u);         // a bad continuation
  EXPECT_EQ(escape_invalid_utf8("a\xff"
                                "b\xc3\xa9"),
            "a\\xffb\xc3\xa9");
}

TEST(FileKind, NamesWhatAPathIs) {
  EXPECT_EQ(file_kind("/definitely/not/here"), "nothing");
  EXPECT_EQ(file_kind("/"), "a directory");
  EXPECT_EQ(file_kind("/dev/null"), "a character device");
  EXPECT_EQ(file_kind("/proc/self/status"), "");
}

// Beta(a, a) through two Gammas: the moments of 20,000 draws (mean 1/2, variance 1/(4(2a+1)))
// within a few standard errors, for shapes below, at and above 1; Gamma(k) has mean k.
TEST(Rng, BetaAndGammaHaveTheirMoments) {
  Rng rng(2024);
  constexpr int kDraws = 20000;
  for (const double a : {0.2, 1.0, 3.0}) {
    double sum = 0, squares = 0;
    for (int i = 0; i < kDraws; ++i) {
      const double x = rng.beta(a, a);
      ASSERT_GE(x, 0.0);
      ASSERT_LE(x, 1.0);
      sum += x;
      squares += x * x;
    }
    const double mean = sum / kDraws, var = squares / kDraws - mean * mean;
    const double want_var = 1.0 / (4.0 * (2.0 * a + 1.0));
    EXPECT_NEAR(mean, 0.5, 4 * std::sqrt(want_var / kDraws)) << a;
    EXPECT_NEAR(var, want_var, 0.05 * want_var) << a;
  }
  for (const double k : {0.5, 2.5}) {
    double sum = 0;
    for (int i = 0; i < kDraws; ++i) sum += rng.gamma(k);
    EXPECT_NEAR(sum / kDraws, k, 4 * std::sqrt(k / kDraws)) << k;
  }
  EXPECT_THROW(rng.gamma(0.0), Error);
}

}  // namespace
}  // namespace tinycnn::core
