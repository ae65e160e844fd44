// Winograd F(2x2,3x3) and F(4x4,3x3) against the naive float32 convolution: forward, dinput
// (and the implicit dweight the plan pairs them with) within each tile's stated error bound,
// max |winograd - naive| <= bound * max |naive| per tensor; the plan's choices.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_reference.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::kernels {
namespace {

using tensor::Tensor;

// The bounds docs/design.md states. The largest errors on this sweep: 7.8e-7 for F(2x2), 7.4e-6
// for F(4x4) (both at 64 channels; the error grows with the channels summed).
double bound_for(int tile) { return tile == 2 ? 1e-5 : 5e-5; }

TEST(WinogradBound, TheLibraryStatesTheBoundsTheTestsHold) {
  EXPECT_EQ(winograd_error_bound(2), bound_for(2));
  EXPECT_EQ(winograd_error_bound(4), bound_for(4));
}

double relative_error(const Tensor& got, const Tensor& want) {
  double most = 0, scale = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    most = std::max(most, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
    if (!std::isfinite(got[i])) return INFINITY;
  }
  return scale > 0 ? most / scale : most;
}

struct Case {
  std::string name;
  Conv2dGeometry g;
};

Case make(std::string name, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oc, int64_t pad_h,
          int64_t pad_w, int64_t groups = 1) {
  return {std::move(name),
          {.batch = n,
           .in_channels = c,
           .in_h = h,
           .in_w = w,
           .out_channels = oc,
           .kernel_h = 3,
           .kernel_w = 3,
           .pad_h = pad_h,
           .pad_w = pad_w,
           .groups = groups}};
}

class WinogradSweep : public ::testing::TestWithParam<Case> {};

TEST_P(WinogradSweep, EachTileIsWithinItsBoundInEveryDirection) {
  const Conv2dGeometry& g = GetParam().g;
  core::Rng rng(31);
  const Tensor input = Tensor::randn({g.batch, g.in_channels, g.in_h, g.in_w}, rng);
  const Tensor weight = Tensor::randn({g.out_channels, g.in_per_group(), 3, 3}, rng);
  const Tensor bias = Tensor::randn({g.out_channels}, rng);
  const tensor::Shape out_shape{g.batch, g.out_channels, g.out_h(), g.out_w()};
  const Tensor dout = Tensor::randn(out_shape, rng);
  Tensor out_n = Tensor::empty(out_shape), dx_n = Tensor::empty(input.shape());
  Tensor dw_n = Tensor::empty(weight.shape()), db_n = Tensor::empty(bias.shape());
  conv2d_naive_forward(g, input.data(), weight.data(), bias.data(), out_n.data());
  conv2d_naive_backward(g, input.data(), weight.data(), dout.data(), dx_n.data(), dw_n.data(),
                        db_n.data());
  for (int tile : {2, 4}) {
    SCOPED_TRACE("F(" + std::to_string(tile) + "x" + std::to_string(tile) + ",3x3)");
    const ConvPlan plan = plan_winograd_conv2d(g, tile);
    ASSERT_TRUE(plan.winograd);
    EXPECT_EQ(plan.winograd->dinput, g.pad_h <= 2 && g.pad_w <= 2);
    Tensor out = Tensor::full(out_shape, 9.0f);
    conv2d_forward(plan, g, input.data(), weight.data(), bias.data(), out.data());
    EXPECT_LE(relative_error(out, out_n), bound_for(tile)) << "forward";
    Tensor dx = Tensor::full(input.shape(), 9.0f), dw = Tensor::full(weight.shape(), 9.0f);
    Tensor db = Tensor::full(bias.shape(), 9.0f);
    conv2d_backward(plan, g, input.data(), weight.data(), dout.data(), dx.data(), dw.data(),
                    db.data());
    EXPECT_LE(relative_error(dx, dx_n), bound_for(tile)) << "dinput";
    EXPECT_LE(relative_error(dw, dw_n), 1e-5) << "dweight (implicit)";
    EXPECT_LE(relative_error(db, db_n), 1e-5) << "dbias";
    // dinput alone is the same bits as with the others.
    Tensor dx_alone = Tensor::full(input.shape(), 7.0f);
    conv2d_backward(plan, g, input.data(), weight.data(), dout.data(), dx_alone.data(), nullptr,
                    nullptr);
    for (int64_t i = 0; i < dx.numel(); ++i) ASSERT_EQ(dx_alone[i], dx[i]) << i;
  }
}

TEST_P(WinogradSweep, ResultsDoNotDependOnTheThreadCount) {
  const Conv2dGeometry& g = GetParam().g;
  core::Rng rng(5);
  const Tensor input = Tensor::randn({g.batch, g.in_channels, g.in_h, g.in_w}, rng);
  const Tensor weight = Tensor::randn({g.out_channels, g.in_per_group(), 3, 3}, rng);
  const tensor::Shape out_shape{g.batch, g.out_channels, g.out_h(), g.out_w()};
  const Tensor dout = Tensor::randn(out_shape, rng);
  const ConvPlan plan = plan_winograd_conv2d(g, 4);
  const int threads = omp_get_max_threads();
  std::vector<Tensor> outs, dxs;
  for (int t : {1, 2, 3}) {
    omp_set_num_threads(t);
    outs.push_back(Tensor::empty(out_shape));
    dxs.push_back(Tensor::empty(input.shape()));
    conv2d_forward(plan, g, input.data(), weight.data(), nullptr, outs.back().data());
    conv2d_backward(plan, g, input.data(), weight.data(), dout.data(), dxs.back().data(), nullptr,
                    nullptr);
  }
  omp_set_num_threads(threads);
  for (size_t t = 1; t < outs.size(); ++t) {
    for (int64_t i = 0; i < outs[0].numel(); ++i)
      ASSERT_EQ(outs[t][i], outs[0][i]) << t << " " << i;
    for (int64_t i = 0; i < dxs[0].numel(); ++i) ASSERT_EQ(dxs[t][i], dxs[0][i]) << t << " " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sweep, WinogradSweep,
    ::testing::Values(
        make("one_pixel", 1, 1, 1, 1, 1, 1, 1), make("one_channel", 2, 1, 7, 9, 1, 1, 1),
        make("odd_sizes", 2, 3, 7, 11, 5, 1, 1), make("no_padding", 2, 4, 9, 6, 3, 0, 0),
        make("padding_2", 1, 2, 5, 5, 3, 2, 2),
        make("padding_larger_than_kernel", 2, 2, 4, 5, 3, 4, 3),
        make("padding_differs_across_and_down", 2, 3, 6, 7, 4, 0, 2),
        make("channels_13_to_11", 2, 13, 9, 9, 11, 1, 1),
        make("channels_17_to_33", 1, 17, 6, 6, 33, 1, 1),
        make("resnet_16", 2, 16, 32, 32, 16, 1, 1), make("resnet_32", 2, 32, 16, 16, 32, 1, 1),
        make("resnet_64", 3, 64, 8, 8, 64, 1, 1),
        make("many_channels_small_map", 1, 80, 3, 3, 72, 1, 1),
        make("groups2", 2, 4, 6, 6, 6, 1, 1, 2), make("depthwise", 3, 4, 6, 5, 4, 1, 1, 4),
        make("batch_larger_than_threads", 9, 2, 6, 6, 3, 1, 1),
        // more tiles than one unit of work holds: an image split into rows of tiles
        make("large_map", 1, 4, 90, 70, 16, 1, 1)),
    [](const auto& test_param) { return test_param.param.name; });

Conv2dGeometry geometry(int64_t k, int64_t stride, int64_t h = 8, int64_t c = 16) {
  return {.in_channels = c,
          .in_h = h,
          .in_w = h,
          .out_channels = c,
          .kernel_h = k,
          .kernel_w = k,
          .stride_h = stride,
          .stride_w = stride,
          .pad_h = k / 2,
          .pad_w = k / 2};
}

TEST(WinogradPlan, ALayerItCannotServeRunsTheImplicitPathAndSaysWhy) {
  for (const auto& [g, why] : {std::pair{geometry(5, 1), "not a 3x3 kernel"},
                               std::pair{geometry(1, 1), "not a 3x3 kernel"},
                               std::pair{geometry(3, 2), "stride is not 1"}}) {
    const ConvPlan plan = plan_conv2d(ConvAlgo::Winograd, g);
    EXPECT_EQ(plan.algo, ConvAlgo::Implicit);
    EXPECT_FALSE(plan.winograd);
    EXPECT_EQ(plan.declined, why);
    EXPECT_NE(plan.summary().find(std::string("(winograd: ") + why + ")"), std::string::npos)
        << plan.summary();
    EXPECT_THROW(plan_winograd_conv2d(g, 4), core::Error);
  }
}

TEST(WinogradPlan, KernelsAreNamedPerDirection) {
  const ConvPlan plan = plan_conv2d(ConvAlgo::Winograd, geometry(3, 1, 32));
  ASSERT_TRUE(plan.winograd);
  EXPECT_EQ(plan.forward_kernel(), "winograd F(4x4,3x3)");
  EXPECT_EQ(plan.dinput_kernel(), "winograd F(4x4,3x3)");
  EXPECT_EQ(plan.dweight_kernel().substr(0, 8), "implicit");
  Conv2dGeometry padded = geometry(3, 1, 8);
  padded.pad_h = 3;
  const ConvPlan wide_pad = plan_conv2d(ConvAlgo::Winograd, padded);
  EXPECT_EQ(wide_pad.forward_kernel(), "winograd F(4x4,3x3)");
  EXPECT_EQ(wide_pad.dinput_kernel().substr(0, 8), "implicit");
}

TEST(WinogradPlan, TheTileIsTheOneWithLessWorkAndTiesGoToTheSmaller) {
  // 32x32 and 8x8 maps: 4x4 tiles; a 2x2 map is one 2x2 tile (a 4x4 tile would be mostly
  // padding); a 6x6 map costs the same multiplies either way (9 tiles of 16 or 4 of 36), so
  // the more accurate tile.
  EXPECT_EQ(plan_conv2d(ConvAlgo::Winograd, geometry(3, 1, 32)).winograd->tile, 4);
  EXPECT_EQ(plan_conv2d(ConvAlgo::Winograd, geometry(3, 1, 8)).winograd->tile, 4);
  EXPECT_EQ(plan_conv2d(ConvAlgo::Winograd, geometry(3, 1, 2)).winograd->tile, 2);
  EXPECT_EQ(plan_conv2d(ConvAlgo::Winograd, geometry(3, 1, 6)).winograd->tile, 2);
}

TEST(AutoPlan, WinogradFromThirtyTwoChannelsOnTheImplicitPathBelowAndElsewhere) {
  // ResNet-20's stages: 16 channels implicit, 32 and 64 Winograd; its downsampling and 1x1
  // layers implicit; a grouped layer counts channels per group.
  const auto chosen = [](const Conv2dGeometry& g) { return plan_conv2d(ConvAlgo::Auto, g); };
  EXPECT_EQ(chosen(geometry(3, 1, 32, 16)).algo, ConvAlgo::Implicit);
  EXPECT_EQ(chosen(geometry(3, 1, 16, 32)).algo, ConvAlgo::Winograd);
  EXPECT_EQ(chosen(geometry(3, 1, 8, 64)).algo, ConvAlgo::Winograd);
  EXPECT_EQ(chosen(geometry(3, 2, 16, 64)).algo, ConvAlgo::Implicit);
  EXPECT_EQ(chosen(geometry(1, 1, 16, 64)).algo, ConvAlgo::Implicit);
  Conv2dGeometry grouped = geometry(3, 1, 8, 64);
  grouped.groups = 4;  // 16 per group
  EXPECT_EQ(chosen(grouped).algo, ConvAlgo::Implicit);
  Conv2dGeometry narrow_in = geometry(3, 1, 8, 64);
  narrow_in.in_channels = 3;  // a first layer
  EXPECT_EQ(chosen(narrow_in).algo, ConvAlgo::Implicit);
  // The plan says it was chosen, and a plan asked for by name does not.
  const ConvPlan plan = chosen(geometry(3, 1, 8, 64));
  EXPECT_TRUE(plan.automatic);
  EXPECT_EQ(plan.summary().rfind("auto: winograd F(4x4,3x3)", 0), 0u) << plan.summary();
  EXPECT_EQ(chosen(geometry(3, 1, 32, 16)).summary().rfind("auto: implicit: ", 0), 0u);
  EXPECT_FALSE(plan_conv2d(ConvAlgo::Winograd, geometry(3, 1, 8, 64)).automatic);
  EXPECT_EQ(conv_algo_from_string("auto"), ConvAlgo::Auto);
  EXPECT_EQ(conv_algo_names().back(), "auto");
}

}  // namespace
}  // namespace tinycnn::kernels
