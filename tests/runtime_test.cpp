// runtime/team: the held team runs every job on all its threads, its barrier holds them
// together, errors come back to the caller, and the contention gauge turns on and off as its
// observations say; the run-queue wait it reads is the kernel's.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/team.hpp"

namespace tinycnn::runtime {
namespace {

TEST(ContentionGauge, OneStrayPreemptionDoesNotTurnItOn) {
  ContentionGauge gauge;
  gauge.observe(true);
  EXPECT_FALSE(gauge.contended());
  for (int i = 0; i < 20; ++i) gauge.observe(false);
  EXPECT_FALSE(gauge.contended());
}

TEST(ContentionGauge, RepeatedPreemptionsTurnItOnAndCleanJobsOffAgain) {
  ContentionGauge gauge;
  gauge.observe(true);
  gauge.observe(true);
  EXPECT_TRUE(gauge.contended());
  gauge.observe(false);  // hysteresis: one clean job is not enough
  EXPECT_TRUE(gauge.contended());
  int clean = 1;
  while (gauge.contended() && clean < 100) {
    gauge.observe(false);
    ++clean;
  }
  EXPECT_FALSE(gauge.contended());
  EXPECT_GT(clean, 5);
  EXPECT_LT(clean, 30);
}

TEST(RunQueueWait, GrowsWhenThreadsOutnumberTheCores) {
  // One more spinning thread than cores for 100 ms: the scheduler makes them take turns, so
  // together they wait for a core, and no thread's count goes back.
  if (runqueue_wait_ns() < 0) GTEST_SKIP() << "no /proc/thread-self/schedstat here";
  const int threads = static_cast<int>(std::thread::hardware_concurrency()) + 1;
  std::atomic<int64_t> waited{0};
  std::atomic<bool> decreased{false};
  std::vector<std::thread> spinners;
  for (int i = 0; i < threads; ++i) {
    spinners.emplace_back([&] {
      const int64_t first = runqueue_wait_ns();
      int64_t last = first;
      const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
      while (std::chrono::steady_clock::now() < end) {
        const int64_t now = runqueue_wait_ns();
        if (now < last) decreased = true;
        last = now;
      }
      waited += last - first;
    });
  }
  for (auto& t : spinners) t.join();
  EXPECT_FALSE(decreased);
  EXPECT_GT(waited.load(), 0);
}

TEST(Team, EveryJobRunsOnEveryThreadWithTheBarrierBetweenItsHalves) {
  std::vector<int> counts(2, 0);
  Team::hold(2, [&] {
    Team* team = Team::current();
    ASSERT_NE(team, nullptr);
    ASSERT_EQ(team->size(), 2);
    for (int job = 0; job < 500; ++job) {
      std::vector<int> first(2, 0);
      bool saw_other = true;
      team->run(
          [&](const Crew& crew) {
            EXPECT_EQ(Team::current(), nullptr);  // inside a job: no team to hand work to
            first[static_cast<size_t>(crew.thread)] = job + 1;
            crew.sync();
            if (first[static_cast<size_t>(1 - crew.thread)] != job + 1) saw_other = false;
            ++counts[static_cast<size_t>(crew.thread)];
          },
          2);
      ASSERT_TRUE(saw_other) << "job " << job;
    }
  });
  EXPECT_EQ(counts, (std::vector<int>{500, 500}));
  EXPECT_EQ(Team::current(), nullptr);
}

// While contended a waiter spins briefly, then sleeps: partners that arrive at once, and ones
// that arrive long after the spin (the waiter asleep), both reach it.
TEST(Team, WhileContendedEveryWaitStillEnds) {
  std::vector<int> counts(2, 0);
  Team::hold(2, [&] {
    Team* team = Team::current();
    ASSERT_NE(team, nullptr);
    for (int job = 0; job < 300; ++job) {
      for (int i = 0; i < 4; ++i) observe_contention(true);
      ASSERT_TRUE(machine_contended());
      std::vector<int> first(2, 0);
      bool saw_other = true;
      team->run(
          [&](const Crew& crew) {
            if (job % 3 == 0 && crew.thread == 1) {  // well past kContendedSpinLimit
              const auto until = std::chrono::steady_clock::now() + 4 * kContendedSpinLimit;
              while (std::chrono::steady_clock::now() < until) {
              }
            }
            first[static_cast<size_t>(crew.thread)] = job + 1;
            crew.sync();
            if (first[static_cast<size_t>(1 - crew.thread)] != job + 1) saw_other = false;
            ++counts[static_cast<size_t>(crew.thread)];
          },
          2);
      ASSERT_TRUE(saw_other) << "job " << job;
    }
  });
  clear_contention();
  EXPECT_EQ(counts, (std::vector<int>{300, 300}));
}

TEST(Team, AJobForFewerThreadsLeavesTheOthersOut) {
  std::atomic<int> ran{0};
  Team::hold(2, [&] {
    Team::current()->run(
        [&](const Crew& crew) {
          EXPECT_EQ(crew.size, 1);
          EXPECT_EQ(crew.barrier, nullptr);
          ++ran;
        },
        1);
  });
  EXPECT_EQ(ran.load(), 1);
}

TEST(Team, ErrorsFromAJobAndFromTheBodyReachTheCaller) {
  EXPECT_THROW(Team::hold(2,
                          [] {
                            parallel(2, [](const Crew& crew) {
                              if (crew.thread == 1) throw std::runtime_error("worker");
                            });
                          }),
               std::runtime_error);
  EXPECT_THROW(Team::hold(2, [] { throw std::logic_error("body"); }), std::logic_error);
  // And the next team works.
  std::atomic<int> ran{0};
  Team::hold(2, [&] { parallel(2, [&](const Crew&) { ++ran; }); });
  EXPECT_EQ(ran.load(), 2);
}

TEST(Parallel, WithoutATeamItIsOneOpenMPRegionAndInsideAJobItRunsInline) {
  std::atomic<int> ran{0}, inner{0};
  parallel(2, [&](const Crew& crew) {
    EXPECT_EQ(crew.size, omp_get_num_threads());
    crew.sync();
    ++ran;
    parallel(2, [&](const Crew& nested) {
      EXPECT_EQ(nested.size, 1);
      ++inner;
    });
  });
  EXPECT_EQ(ran.load(), omp_get_max_threads() >= 2 ? 2 : 1);
  EXPECT_EQ(inner.load(), ran.load());
}

TEST(Barrier, HoldsEveryThreadUntilAllArrive) {
  Barrier barrier(2);
  std::atomic<int> phase{0};
  bool ordered = true;
#pragma omp parallel num_threads(2)
  {
    for (int round = 0; round < 200; ++round) {
      if (omp_get_num_threads() == 2) {
        phase.fetch_add(1);
        barrier.arrive_and_wait();
        if (phase.load() < 2 * (round + 1)) ordered = false;
        barrier.arrive_and_wait();
      }
    }
  }
  EXPECT_TRUE(ordered);
}

}  // namespace
}  // namespace tinycnn::runtime
