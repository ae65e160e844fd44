// cluster::Group outside a launcher: a group of one whose collectives are the identity, whose
// agreement rethrows this process's own error (of its kind), and whose shared failure is an
// ordinary error naming what failed. The several-rank forms run under mpirun in tests/cli.
#include <gtest/gtest.h>

#include <exception>
#include <vector>

#include "cluster/group.hpp"

namespace tinycnn::cluster {
namespace {

TEST(Cluster, AloneTheGroupIsOneRankAndItsSumsAreTheValues) {
  ASSERT_FALSE(launched_by_mpi());
  Group& group = world();
  EXPECT_EQ(group.rank(), 0);
  EXPECT_EQ(group.size(), 1);
  std::vector<double> d{1.5, -2.0};
  group.sum(d);
  EXPECT_EQ(d, (std::vector<double>{1.5, -2.0}));
  std::vector<float> f{3.0f};
  group.sum(f);
  EXPECT_EQ(f[0], 3.0f);
  EXPECT_EQ(group.min(7), 7u);
  EXPECT_EQ(group.max(7), 7u);
}

TEST(Cluster, AgreementRethrowsThisProcesssErrorOfItsKind) {
  Group& group = world();
  EXPECT_NO_THROW(agree(group, nullptr));
  const auto failure = std::make_exception_ptr(core::Error(core::ErrorKind::Runtime, "no data"));
  try {
    agree(group, failure);
    FAIL() << "expected the error back";
  } catch (const ReportedElsewhere&) {
    FAIL() << "alone, no other rank reports";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::Runtime);
    EXPECT_STREQ(e.what(), "no data");
  }
}

TEST(Cluster, ASharedFailureIsAnErrorWithItsMessage) {
  try {
    fail_together(world(), core::ErrorKind::Invalid, "the ranks' weights differ");
  } catch (const ReportedElsewhere&) {
    FAIL() << "alone, this rank reports";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::Invalid);
    EXPECT_STREQ(e.what(), "the ranks' weights differ");
  }
}

}  // namespace
}  // namespace tinycnn::cluster
