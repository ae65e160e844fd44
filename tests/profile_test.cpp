// profile: analytic costs against hand-computed LeNet numbers, the agreement check, the
// timing harness, and the step profile's bookkeeping.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

#include "core/error.hpp"
#include "model/builder.hpp"
#include "model/cost_table.hpp"
#include "model/spec.hpp"
#include "optim/sgd.hpp"
#include "profile/conv_profile.hpp"
#include "profile/roofline.hpp"
#include "profile/step_profile.hpp"
#include "profile/timing.hpp"
#include "runtime/contention.hpp"

namespace tinycnn::profile {
namespace {

const std::string kConfigs = TINYCNN_CONFIG_DIR;

// 2 images of 3 channels, 8x8 -> 4 channels, 3x3, padding 1: a layer every algorithm serves.
ConvCase small_3x3_case() {
  return {"small_3x3",
          {.batch = 2,
           .in_channels = 3,
           .in_h = 8,
           .in_w = 8,
           .out_channels = 4,
           .kernel_h = 3,
           .kernel_w = 3,
           .pad_h = 1,
           .pad_w = 1}};
}

TEST(ConvCosts, LeNetConv1AndConv2ByHand) {
  const auto cases = default_conv_cases();
  ASSERT_EQ(cases.size(), 8u);
  // conv1, batch 64: 1 -> 6 channels, 5x5, pad 2, 28x28 -> 28x28.
  const ConvCosts c1 = conv_costs(cases[0].g);
  EXPECT_EQ(cases[0].name, "lenet5.conv1");
  EXPECT_EQ(c1.flops_forward, 2LL * 64 * 6 * 28 * 28 * 25);  // 15,052,800
  EXPECT_EQ(c1.weight_bytes, 6 * 25 * 4);
  EXPECT_EQ(c1.activation_bytes, 64LL * 6 * 28 * 28 * 4);  // 1,204,224
  EXPECT_EQ(c1.workspace_bytes, 64LL * 25 * 28 * 28 * 4);  // 5,017,600
  // conv2, batch 64: 6 -> 16 channels, 5x5, 14x14 -> 10x10.
  const ConvCosts c2 = conv_costs(cases[1].g);
  EXPECT_EQ(c2.flops_forward, 2LL * 64 * 16 * 10 * 10 * 150);  // 30,720,000
  EXPECT_EQ(c2.weight_bytes, 16 * 150 * 4);
  EXPECT_EQ(c2.activation_bytes, 64LL * 16 * 10 * 10 * 4);
  EXPECT_EQ(c2.workspace_bytes, 64LL * 150 * 100 * 4);  // 3,840,000
}

TEST(ConvCases, ModelLayersAndSweeps) {
  const auto cases = model_conv_cases(model::load_config(kConfigs + "/lenet5.json"), 64);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[1].name, "lenet5.layers.3");
  EXPECT_EQ(conv_costs(cases[1].g).flops_forward,
            conv_costs(default_conv_cases()[1].g).flops_forward);
  const auto sweep = sweep_cases("kernel", 2);
  ASSERT_EQ(sweep.size(), 5u);
  EXPECT_EQ(sweep_value("kernel", sweep[2].g), 5);
  EXPECT_EQ(sweep[2].g.pad_h, 2);
  EXPECT_EQ(sweep[2].g.batch, 2);
  EXPECT_THROW(sweep_cases("depth"), core::Error);
}

TEST(ProfileConv, AgreementCheckedAndTimesReported) {
  const ConvCase c{"small",
                   {.batch = 2,
                    .in_channels = 3,
                    .in_h = 9,
                    .in_w = 7,
                    .out_channels = 4,
                    .kernel_h = 3,
                    .kernel_w = 3,
                    .stride_h = 2,
                    .stride_w = 2,
                    .pad_h = 1,
                    .pad_w = 1}};
  const ConvResult r = profile_conv(c, {.warmup = 0, .repeats = 3, .threads = 2});
  EXPECT_LE(r.max_rel_diff, 1e-4);
  EXPECT_GT(r.max_abs_diff, 0.0);  // float summation order differs: exactly 0 would be suspicious
  // Stride 2: every algorithm runs as itself but Winograd, whose row is the implicit path's and
  // says why.
  ASSERT_EQ(r.results.size(), 4u);
  const AlgoResult& winograd = *r.find(kernels::ConvAlgo::Winograd);
  EXPECT_NE(winograd.plan_summary.find("(winograd: stride is not 1)"), std::string::npos)
      << winograd.plan_summary;
  EXPECT_EQ(winograd.forward_kernel, "implicit wide");
  const AlgoResult& naive = *r.find(kernels::ConvAlgo::Naive);
  const AlgoResult& im2col = *r.find(kernels::ConvAlgo::Im2col);
  const AlgoResult& implicit = *r.find(kernels::ConvAlgo::Implicit);
  EXPECT_GT(implicit.forward_ms_median, 0.0);
  EXPECT_LE(implicit.max_rel_diff, r.max_rel_diff);
  EXPECT_GT(naive.forward_ms_median, 0.0);
  EXPECT_LE(im2col.forward_ms_min, im2col.forward_ms_median);
  EXPECT_EQ(naive.workspace_bytes, 0);
  EXPECT_EQ(im2col.workspace_bytes, conv_costs(c.g).workspace_bytes);
  EXPECT_GT(im2col.workspace_bytes_allocated, 0);
  EXPECT_DOUBLE_EQ(naive.speedup_forward, 1.0);
  EXPECT_DOUBLE_EQ(im2col.speedup_forward, naive.forward_ms_median / im2col.forward_ms_median);
  EXPECT_EQ(im2col.max_rel_diff, r.max_rel_diff);
}

TEST(ProfileConv, WinogradRowsCountTheMultipliesTheyDoAndTheirBound) {
  // A 3x3 stride-1 layer on an 8x8 map: four 4x4 tiles of 36 multiplies per channel pair, against
  // 64 pixels of 9 (2.25x fewer with the padding's tiles); held to F(4x4)'s bound.
  const ConvCase c = small_3x3_case();
  const ConvResult r = profile_conv(c, {.warmup = 0, .repeats = 1, .threads = 2});
  const AlgoResult& winograd = *r.find(kernels::ConvAlgo::Winograd);
  const AlgoResult& implicit = *r.find(kernels::ConvAlgo::Implicit);
  EXPECT_EQ(implicit.flops_forward_performed, r.costs.flops_forward);
  EXPECT_EQ(winograd.flops_forward_performed, 2 * 2 * 4 * 36 * 3 * 4);
  EXPECT_EQ(r.costs.flops_forward, 2 * 2 * 64 * 9 * 3 * 4);
  EXPECT_EQ(winograd.error_bound, 5e-5);
  EXPECT_EQ(implicit.error_bound, 1e-4);
  EXPECT_LE(winograd.max_rel_diff, winograd.error_bound);
  EXPECT_EQ(winograd.forward_kernel, "winograd F(4x4,3x3)");
}

// The roofline's points of a conv case: each fast algorithm's three directions, carrying the
// direct convolution's FLOPs and the bytes of the three tensors, timed apart; a case profiled
// without its directions apart is refused, not drawn at zero.
TEST(Roofline, ConvPointsCarryTheDirectCostsAndTheirOwnTimes) {
  const ConvCase c = small_3x3_case();
  const ConvResult r = profile_conv(
      c, {.warmup = 0, .repeats = 1, .threads = 1, .probe = nullptr, .directions = true});
  const std::vector<RooflinePoint> points = conv_roofline_points({r});
  ASSERT_EQ(points.size(), 3u * 3u);  // im2col, implicit, winograd
  const int64_t bytes = 4 * (2 * 3 * 64 + 4 * 3 * 9 + 2 * 4 * 64);
  for (const auto& p : points) {
    EXPECT_EQ(p.flops, r.costs.flops_forward) << p.algorithm << " " << p.direction;
    EXPECT_EQ(p.bytes, bytes);
    EXPECT_GT(p.ms, 0.0);
    EXPECT_DOUBLE_EQ(p.intensity(), static_cast<double>(p.flops) / static_cast<double>(bytes));
  }
  EXPECT_EQ(points[3].algorithm, "implicit");
  EXPECT_EQ(points[4].direction, "dinput");
  EXPECT_EQ(points[4].ms, r.find(kernels::ConvAlgo::Implicit)->dinput_ms_median);
  EXPECT_EQ(points[5].ms, r.find(kernels::ConvAlgo::Implicit)->dweight_ms_median);
  const ConvResult without = profile_conv(c, {.warmup = 0, .repeats = 1, .threads = 1});
  EXPECT_THROW(conv_roofline_points({without}), core::Error);
}

TEST(Roofline, TheRoofIsTheLowerOfThePeakAndTheBandwidthsSlope) {
  EXPECT_DOUBLE_EQ(roof_gflops(100, 10, 2), 20);
  EXPECT_DOUBLE_EQ(roof_gflops(100, 10, 50), 100);
  Ceilings c;
  c.fma.gflops = 100;
  c.dram.gbps = 10;
  c.l2.gbps = 50;
  EXPECT_TRUE(memory_bound(c, 9.9));
  EXPECT_FALSE(memory_bound(c, 10.1));
  const std::string svg =
      render_roofline_svg("t", c,
                          {{"layers.0", "conv2d", "forward", "implicit", 2000, 100, 0.001},
                           {"layers.1", "relu", "backward", "", 10, 120, 0.01}},
                          "kind");
  for (const char* text :
       {"FMA 100 GFLOP/s, DRAM 10 GB/s", "L2 50 GB/s", "conv2d forward", "relu backward",
        "layers.0 forward (implicit): 20.00 FLOP/byte, 2.0 GFLOP/s, 0.001 ms"}) {
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  }
}

// The probe's bandwidths: measured, positive and finite (their size depends on the machine and
// on what shares it, so no figure is asserted).
TEST(Ceilings, TheTriadMeasuresABandwidth) {
  for (int64_t bytes : {kTriadL2BytesPerThread, int64_t{24} << 20}) {
    const Bandwidth b = measure_triad_gbps(2, bytes);
    EXPECT_GT(b.gbps, 0.0);
    EXPECT_TRUE(std::isfinite(b.gbps));
  }
}

TEST(Timing, MedianAndMin) {
  int calls = 0;
  const TimingStats t = time_it([&] { ++calls; }, 2, 5);
  EXPECT_EQ(calls, 7);
  EXPECT_EQ(t.repeats, 5);
  EXPECT_LE(t.min_ms, t.median_ms);
}

// The run-queue wait of an interval: threads of this process that outnumber the cores wait for
// one, and the watch sees it; a quiet interval's share is not asserted (CTest runs two tests at
// once, so this one may share its cores).
TEST(Contention, ThreadsThatOutnumberTheCoresWaitAndAreSeen) {
  const int spinners = 2 * std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::atomic<bool> stop{false};
  const runtime::ContentionWatch watch(spinners);
  std::vector<std::thread> threads;
  for (int i = 0; i < spinners; ++i) {
    threads.emplace_back([&] {
      volatile uint64_t x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = x + 1;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const runtime::Contention c = watch.stop();  // before the threads end: theirs is counted
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(c.known) << "/proc/self/task/*/schedstat";
  EXPECT_GE(c.wall_ms, 300.0);
  EXPECT_GT(c.wait_share(), 0.2);  // twice the threads of the cores: about half of it waiting
  EXPECT_TRUE(c.busy());
  runtime::Contention sum = c;
  sum += c;
  EXPECT_DOUBLE_EQ(sum.wait_share(), c.wait_share());
}

TEST(StepProfile, PercentagesAddUpAndMemoryIsHandComputed) {
  const model::ModelSpec spec = model::load_config(kConfigs + "/lenet5.json");
  auto net = model::build_model(spec);
  optim::SGD sgd(net->parameters(), {.lr = 0.01, .momentum = 0.9});
  const StepProfile p = profile_step(spec, *net, sgd, 4, 1, 2, 1);
  ASSERT_EQ(p.layers.size(), 12u);
  double percent = 100.0 * (p.loss_ms + p.optimizer_ms) / p.step_ms;
  for (const auto& l : p.layers) percent += l.percent;
  EXPECT_NEAR(percent, 100.0, 1e-6);
  EXPECT_EQ(p.memory.weights, 61706 * 4);
  EXPECT_EQ(p.memory.gradients, 61706 * 4);
  EXPECT_EQ(p.memory.optimizer_state, 61706 * 4);              // one momentum buffer per parameter
  EXPECT_EQ(p.memory.activations, 4 * (60008 / 4 + 784) * 4);  // 4 images: outputs + input
  EXPECT_EQ(p.memory.activation_gradients, p.memory.activations);
  // The convolutions' scratch is their plans', as they run: the larger layer's at 1 thread.
  int64_t scratch = 0;
  const model::CostTable table = model::cost_table(spec, 4);
  for (const auto& row : model::flatten_rows(table.layers)) {
    if (!row->plan) continue;
    const kernels::ConvWorkspace ws = row->plan->workspace(4, 1);
    scratch = std::max({scratch, ws.forward, ws.backward});
  }
  EXPECT_GT(scratch, 0);
  EXPECT_EQ(p.memory.workspace, scratch);
  ASSERT_FALSE(p.memory_by_batch.empty());
  EXPECT_EQ(p.memory_by_batch[0].batch, 1);
}

}  // namespace
}  // namespace tinycnn::profile
