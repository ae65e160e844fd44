// naive == im2col == implicit on a sweep of awkward convolutions: forward, dinput, dweight and
// dbias, stride 1 and strided (implicit's phases).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/bf16.hpp"
#include "kernels/conv/im2col_gemm.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_reference.hpp"
#include "kernels/pooling.hpp"
#include "support/allclose.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::kernels {
namespace {

using tensor::Tensor;

struct ConvCase {
  std::string name;
  Conv2dGeometry g;
};

class ConvEquivalence : public ::testing::TestWithParam<ConvCase> {};

// Random operands of a case, drawn in this order from `seed`.
struct Operands {
  Tensor input, weight, bias, dout;
  tensor::Shape out_shape;
};
Operands random_operands(const Conv2dGeometry& g, uint64_t seed) {
  core::Rng rng(seed);
  Operands o;
  o.input = Tensor::randn({g.batch, g.in_channels, g.in_h, g.in_w}, rng);
  o.weight = Tensor::randn({g.out_channels, g.in_per_group(), g.kernel_h, g.kernel_w}, rng);
  o.bias = Tensor::randn({g.out_channels}, rng);
  o.out_shape = {g.batch, g.out_channels, g.out_h(), g.out_w()};
  o.dout = Tensor::randn(o.out_shape, rng);
  return o;
}

TEST_P(ConvEquivalence, ForwardAndAllGradientsAgree) {
  const Conv2dGeometry& g = GetParam().g;
  g.check();
  const auto [input, weight, bias, dout, out_shape] = random_operands(g, 2024);

  Tensor out_naive = Tensor::empty(out_shape);
  conv2d_naive_forward(g, input.data(), weight.data(), bias.data(), out_naive.data());
  Tensor dx_n = Tensor::full(input.shape(), 9.0f), dw_n = Tensor::full(weight.shape(), 9.0f);
  Tensor db_n = Tensor::full(bias.shape(), 9.0f);
  conv2d_naive_backward(g, input.data(), weight.data(), dout.data(), dx_n.data(), dw_n.data(),
                        db_n.data());
  for (ConvAlgo algo : {ConvAlgo::Im2col, ConvAlgo::Implicit}) {
    SCOPED_TRACE(std::string(to_string(algo)));
    Tensor out_fast = Tensor::full(out_shape, 9.0f);
    conv2d_forward(algo, g, input.data(), weight.data(), bias.data(), out_fast.data());
    EXPECT_TRUE(testing::all_close(out_fast, out_naive, 1e-4, 1e-4)) << "forward";
    Tensor dx_f = Tensor::full(input.shape(), 9.0f), dw_f = Tensor::full(weight.shape(), 9.0f);
    Tensor db_f = Tensor::full(bias.shape(), 9.0f);
    conv2d_backward(algo, g, input.data(), weight.data(), dout.data(), dx_f.data(), dw_f.data(),
                    db_f.data());
    EXPECT_TRUE(testing::all_close(dx_f, dx_n, 1e-4, 1e-4)) << "dinput";
    EXPECT_TRUE(testing::all_close(dw_f, dw_n, 1e-4, 1e-4)) << "dweight";
    EXPECT_TRUE(testing::all_close(db_f, db_n, 1e-4, 1e-4)) << "dbias";
  }
}

TEST_P(ConvEquivalence, SkippedGradientsAreSkipped) {
  // dweight alone and dinput alone must give the same values as all three together.
  const Conv2dGeometry& g = GetParam().g;
  const auto [input, weight, bias, dout, out_shape] = random_operands(g, 7);
  for (ConvAlgo algo : {ConvAlgo::Im2col, ConvAlgo::Implicit}) {
    SCOPED_TRACE(std::string(to_string(algo)));
    Tensor dx_all = Tensor::empty(input.shape()), dw_all = Tensor::empty(weight.shape());
    conv2d_backward(algo, g, input.data(), weight.data(), dout.data(), dx_all.data(), dw_all.data(),
                    nullptr);
    Tensor dx = Tensor::empty(input.shape()), dw = Tensor::empty(weight.shape());
    conv2d_backward(algo, g, input.data(), weight.data(), dout.data(), dx.data(), nullptr, nullptr);
    conv2d_backward(algo, g, input.data(), weight.data(), dout.data(), nullptr, dw.data(), nullptr);
    EXPECT_TRUE(testing::all_close(dx, dx_all, 0, 0));
    EXPECT_TRUE(testing::all_close(dw, dw_all, 0, 0));
  }
}

TEST_P(ConvEquivalence, SavedColumnsGiveIdenticalResults) {
  // Backward reading the forward's saved column matrices must equal recomputing them, bit for bit.
  const Conv2dGeometry& g = GetParam().g;
  const auto [input, weight, bias, dout, out_shape] = random_operands(g, 11);
  std::vector<float> columns(static_cast<size_t>(conv2d_columns_numel(g)) + 1);
  Tensor out_saved = Tensor::empty(dout.shape()), out_plain = Tensor::empty(dout.shape());
  conv2d_im2col_forward(g, input.data(), weight.data(), nullptr, out_saved.data(), columns.data());
  conv2d_im2col_forward(g, input.data(), weight.data(), nullptr, out_plain.data());
  EXPECT_TRUE(testing::all_close(out_saved, out_plain, 0, 0));
  Tensor dx_s = Tensor::empty(input.shape()), dw_s = Tensor::empty(weight.shape());
  Tensor dx_p = Tensor::empty(input.shape()), dw_p = Tensor::empty(weight.shape());
  conv2d_im2col_backward(g, input.data(), weight.data(), dout.data(), dx_s.data(), dw_s.data(),
                         nullptr, columns.data());
  conv2d_im2col_backward(g, input.data(), weight.data(), dout.data(), dx_p.data(), dw_p.data(),
                         nullptr);
  EXPECT_TRUE(testing::all_close(dw_s, dw_p, 0, 0));
  EXPECT_TRUE(testing::all_close(dx_s, dx_p, 0, 0));
}

TEST_P(ConvEquivalence, FusedReluIsReluAfterAndItsMaskBefore) {
  // conv2d_forward(relu) == relu(conv2d_forward) and conv2d_backward(relu_output) == backward of
  // the masked doutput, bit for bit, for every algorithm (implicit in its stores and copies, the
  // others by separate passes).
  const Conv2dGeometry& g = GetParam().g;
  const auto [input, weight, bias, dout, out_shape] = random_operands(g, 13);
  for (ConvAlgo algo : kConvAlgos) {
    SCOPED_TRACE(std::string(to_string(algo)));
    Tensor plain = Tensor::empty(out_shape), fused = Tensor::full(out_shape, 9.0f);
    conv2d_forward(algo, g, input.data(), weight.data(), bias.data(), plain.data());
    conv2d_forward(algo, g, input.data(), weight.data(), bias.data(), fused.data(), nullptr, true);
    Tensor relu = plain.clone(), masked = dout.clone();
    int64_t negative = 0;
    for (int64_t i = 0; i < relu.numel(); ++i) {
      if (!(relu[i] > 0.0f)) {
        relu[i] = 0.0f;
        masked[i] = 0.0f;
        ++negative;
      }
    }
    if (relu.numel() >= 8) {  // the mask has something to do (one_pixel has one output)
      EXPECT_GT(negative, 0);
      EXPECT_LT(negative, relu.numel());
    }
    EXPECT_TRUE(testing::all_close(fused, relu, 0, 0)) << "forward";
    Tensor dx_p = Tensor::empty(input.shape()), dw_p = Tensor::empty(weight.shape());
    Tensor db_p = Tensor::empty(bias.shape());
    conv2d_backward(algo, g, input.data(), weight.data(), masked.data(), dx_p.data(), dw_p.data(),
                    db_p.data());
    Tensor dx_f = Tensor::full(input.shape(), 9.0f), dw_f = Tensor::full(weight.shape(), 9.0f);
    Tensor db_f = Tensor::full(bias.shape(), 9.0f);
    conv2d_backward(algo, g, input.data(), weight.data(), dout.data(), dx_f.data(), dw_f.data(),
                    db_f.data(), nullptr, fused.data());
    EXPECT_TRUE(testing::all_close(dx_f, dx_p, 0, 0)) << "dinput";
    EXPECT_TRUE(testing::all_close(dw_f, dw_p, 0, 0)) << "dweight";
    EXPECT_TRUE(testing::all_close(db_f, db_p, 0, 0)) << "dbias";
    // dweight and dbias alone (the first layer's backward): the same.
    Tensor dw_only = Tensor::full(weight.shape(), 9.0f), db_only = Tensor::full(bias.shape(), 9.0f);
    conv2d_backward(algo, g, input.data(), weight.data(), dout.data(), nullptr, dw_only.data(),
                    db_only.data(), nullptr, fused.data());
    EXPECT_TRUE(testing::all_close(dw_only, dw_p, 0, 0)) << "dweight alone";
    EXPECT_TRUE(testing::all_close(db_only, db_p, 0, 0)) << "dbias alone";
  }
}

TEST_P(ConvEquivalence, FusedReluPoolIsTheThreeKernelsInTurn) {
  // conv2d_relu_pool_forward == conv (ReLU fused) then maxpool2d_forward, argmax included, and
  // its backward == maxpool2d_backward, ReLU mask, conv2d_backward: bit for bit, every algorithm.
  const Conv2dGeometry& g = GetParam().g;
  if (g.out_h() < 2 || g.out_w() < 2) GTEST_SKIP() << "output smaller than one 2x2 window";
  const auto [input, weight, bias, dout, out_shape] = random_operands(g, 17);
  const Pool2dGeometry pg{.batch = g.batch,
                          .channels = g.out_channels,
                          .in_h = g.out_h(),
                          .in_w = g.out_w(),
                          .kernel_h = 2,
                          .kernel_w = 2,
                          .stride_h = 2,
                          .stride_w = 2};
  const tensor::Shape pooled_shape{g.batch, g.out_channels, pg.out_h(), pg.out_w()};
  core::Rng rng(18);
  const Tensor dpooled = Tensor::randn(pooled_shape, rng);
  for (ConvAlgo algo : kConvAlgos) {
    SCOPED_TRACE(std::string(to_string(algo)));
    // The three kernels in turn.
    Tensor relu = Tensor::empty(out_shape), pooled = Tensor::empty(pooled_shape);
    std::vector<int32_t> argmax(static_cast<size_t>(pooled.numel()));
    conv2d_forward(algo, g, input.data(), weight.data(), bias.data(), relu.data(), nullptr, true);
    maxpool2d_forward(pg, relu.data(), pooled.data(), argmax.data());
    Tensor drelu = Tensor::empty(out_shape);
    maxpool2d_backward(pg, dpooled.data(), argmax.data(), drelu.data());
    Tensor dx_p = Tensor::empty(input.shape()), dw_p = Tensor::empty(weight.shape());
    Tensor db_p = Tensor::empty(bias.shape());
    conv2d_backward(algo, g, input.data(), weight.data(), drelu.data(), dx_p.data(), dw_p.data(),
                    db_p.data(), nullptr, relu.data());
    // Fused.
    Tensor pooled_f = Tensor::full(pooled_shape, 9.0f);
    std::vector<int32_t> argmax_f(argmax.size(), -1);
    conv2d_relu_pool_forward(algo, g, input.data(), weight.data(), bias.data(), pooled_f.data(),
                             argmax_f.data());
    EXPECT_TRUE(testing::all_close(pooled_f, pooled, 0, 0)) << "pooled";
    EXPECT_EQ(argmax_f, argmax);
    Tensor dx_f = Tensor::full(input.shape(), 9.0f), dw_f = Tensor::full(weight.shape(), 9.0f);
    Tensor db_f = Tensor::full(bias.shape(), 9.0f);
    conv2d_relu_pool_backward(algo, g, input.data(), weight.data(), pooled_f.data(),
                              argmax_f.data(), dpooled.data(), dx_f.data(), dw_f.data(),
                              db_f.data());
    EXPECT_TRUE(testing::all_close(dx_f, dx_p, 0, 0)) << "dinput";
    EXPECT_TRUE(testing::all_close(dw_f, dw_p, 0, 0)) << "dweight";
    EXPECT_TRUE(testing::all_close(db_f, db_p, 0, 0)) << "dbias";
    Tensor dw_only = Tensor::full(weight.shape(), 9.0f), db_only = Tensor::full(bias.shape(), 9.0f);
    conv2d_relu_pool_backward(algo, g, input.data(), weight.data(), pooled_f.data(),
                              argmax_f.data(), dpooled.data(), nullptr, dw_only.data(),
                              db_only.data());
    EXPECT_TRUE(testing::all_close(dw_only, dw_p, 0, 0)) << "dweight alone";
    EXPECT_TRUE(testing::all_close(db_only, db_p, 0, 0)) << "dbias alone";
  }
}

// Restores the bf16 kernels' path when it goes out of scope.
struct Bf16Path {
  explicit Bf16Path(bool portable) { set_bf16_portable(portable); }
  ~Bf16Path() { set_bf16_portable(false); }
  Bf16Path(const Bf16Path&) = delete;
  Bf16Path& operator=(const Bf16Path&) = delete;
};

struct Results {
  Tensor out, dx, dw, db, relu_out, pooled, dx_pool, dw_pool;
  std::vector<int32_t> argmax;
};

// Every direction of `plan` on the operands (doutput through a fused ReLU, the pooled form too).
Results run_plan(const ConvPlan& plan, const Conv2dGeometry& g, const Operands& o,
                 const Tensor& dpooled) {
  Results r;
  r.out = Tensor::full(o.out_shape, 9.0f);
  conv2d_forward(plan, g, o.input.data(), o.weight.data(), o.bias.data(), r.out.data());
  r.dx = Tensor::full(o.input.shape(), 9.0f);
  r.dw = Tensor::full(o.weight.shape(), 9.0f);
  r.db = Tensor::full(o.bias.shape(), 9.0f);
  conv2d_backward(plan, g, o.input.data(), o.weight.data(), o.dout.data(), r.dx.data(), r.dw.data(),
                  r.db.data());
  r.relu_out = Tensor::full(o.out_shape, 9.0f);
  conv2d_forward(plan, g, o.input.data(), o.weight.data(), o.bias.data(), r.relu_out.data(),
                 nullptr, true);
  if (g.out_h() >= 2 && g.out_w() >= 2) {
    r.pooled = Tensor::full({g.batch, g.out_channels, g.out_h() / 2, g.out_w() / 2}, 9.0f);
    r.argmax.assign(static_cast<size_t>(r.pooled.numel()), -1);
    conv2d_relu_pool_forward(plan, g, o.input.data(), o.weight.data(), o.bias.data(),
                             r.pooled.data(), r.argmax.data());
    r.dx_pool = Tensor::full(o.input.shape(), 9.0f);
    r.dw_pool = Tensor::full(o.weight.shape(), 9.0f);
    conv2d_relu_pool_backward(plan, g, o.input.data(), o.weight.data(), r.pooled.data(),
                              r.argmax.data(), dpooled.data(), r.dx_pool.data(), r.dw_pool.data(),
                              nullptr);
  }
  return r;
}

TEST_P(ConvEquivalence, Bf16KernelsAgreeWithTheReferenceOnRoundedOperands) {
  // The bf16 kernels (AVX512-BF16 where the build has it, and the portable path) against the
  // naive float32 loops on bfloat16-rounded operands. Products of two bfloat16 are exact in
  // float32, so the two differ only in summation order: bound |bf16 - ref| <= 1e-4 + 1e-4 |ref|,
  // the direct algorithms' bound. The fused ReLU and pool forms agree with the plain ones
  // through the reference too.
  const Conv2dGeometry& g = GetParam().g;
  const Operands o = random_operands(g, 31);
  core::Rng rng(32);
  const Tensor dpooled =
      Tensor::randn({g.batch, g.out_channels, std::max<int64_t>(g.out_h() / 2, 1),
                     std::max<int64_t>(g.out_w() / 2, 1)},
                    rng);
  const ConvPlan naive = plan_conv2d(ConvAlgo::Naive, g, Precision::Bf16);
  EXPECT_EQ(naive.forward_kernel(), "naive bf16");
  const Results ref = run_plan(naive, g, o, dpooled);
  // The reference really is float32 arithmetic on rounded operands: not the float32 result.
  Tensor rounded_in = o.input.clone(), rounded_w = o.weight.clone();
  round_bf16(rounded_in.data(), rounded_in.numel(), rounded_in.data());
  round_bf16(rounded_w.data(), rounded_w.numel(), rounded_w.data());
  Tensor by_hand = Tensor::empty(o.out_shape);
  conv2d_naive_forward(g, rounded_in.data(), rounded_w.data(), o.bias.data(), by_hand.data());
  EXPECT_TRUE(testing::all_close(ref.out, by_hand, 0, 0));

  std::vector<Results> paths;
  for (bool portable : {false, true}) {
    SCOPED_TRACE(portable ? "portable" : "native");
    const Bf16Path path(portable);
    for (ConvAlgo algo : {ConvAlgo::Implicit, ConvAlgo::Winograd, ConvAlgo::Auto}) {
      const ConvPlan plan = plan_conv2d(algo, g, Precision::Bf16);
      ASSERT_TRUE(plan.bf16) << to_string(algo);
      EXPECT_EQ(plan.algo, ConvAlgo::Implicit);
    }
    const ConvPlan plan = plan_conv2d(ConvAlgo::Implicit, g, Precision::Bf16);
    EXPECT_EQ(plan.forward_kernel(),
              plan.implicit->pixel_major ? "implicit pixel-major bf16" : "implicit wide bf16");
    const Results r = run_plan(plan, g, o, dpooled);
    const double tol = plan.error_bound();
    EXPECT_TRUE(testing::all_close(r.out, ref.out, tol, tol)) << "forward";
    EXPECT_TRUE(testing::all_close(r.dx, ref.dx, tol, tol)) << "dinput";
    EXPECT_TRUE(testing::all_close(r.dw, ref.dw, tol, tol)) << "dweight";
    EXPECT_TRUE(testing::all_close(r.db, ref.db, tol, tol)) << "dbias";
    EXPECT_TRUE(testing::all_close(r.relu_out, ref.relu_out, tol, tol)) << "relu";
    if (r.pooled.defined()) {
      EXPECT_TRUE(testing::all_close(r.pooled, ref.pooled, tol, tol)) << "pooled";
      EXPECT_TRUE(testing::all_close(r.dx_pool, ref.dx_pool, tol, tol)) << "pooled dinput";
      EXPECT_TRUE(testing::all_close(r.dw_pool, ref.dw_pool, tol, tol)) << "pooled dweight";
    }
    paths.push_back(r);
  }
  // The two paths against each other: the same products, summed in the same order.
  EXPECT_TRUE(testing::all_close(paths[0].out, paths[1].out, 1e-6, 1e-6)) << "forward";
  EXPECT_TRUE(testing::all_close(paths[0].dx, paths[1].dx, 1e-6, 1e-6)) << "dinput";
  EXPECT_TRUE(testing::all_close(paths[0].dw, paths[1].dw, 1e-6, 1e-6)) << "dweight";
}

TEST_P(ConvEquivalence, Bf16BackwardTakesTheInputAsItsBfloat16Rounding) {
  // What a bf16 node saves: the input's bfloat16 values. Every bf16 plan rounds its input to
  // those anyway, so the backward given them computes the same bits; a float32 plan refuses them.
  const Conv2dGeometry& g = GetParam().g;
  const Operands o = random_operands(g, 41);
  std::vector<Bfloat16> kept(static_cast<size_t>(o.input.numel()));
  to_bf16(o.input.data(), o.input.numel(), kept.data());
  for (ConvAlgo algo : {ConvAlgo::Naive, ConvAlgo::Implicit}) {
    SCOPED_TRACE(to_string(algo));
    const ConvPlan plan = plan_conv2d(algo, g, Precision::Bf16);
    Tensor dx = Tensor::full(o.input.shape(), 9.0f), dw = Tensor::full(o.weight.shape(), 9.0f);
    Tensor dx_kept = dx.clone(), dw_kept = dw.clone();
    conv2d_backward(plan, g, o.input.data(), o.weight.data(), o.dout.data(), dx.data(), dw.data(),
                    nullptr);
    conv2d_backward(plan, g, kept.data(), o.weight.data(), o.dout.data(), dx_kept.data(),
                    dw_kept.data(), nullptr);
    EXPECT_TRUE(testing::all_close(dx_kept, dx, 0, 0)) << "dinput";
    EXPECT_TRUE(testing::all_close(dw_kept, dw, 0, 0)) << "dweight";
  }
  const ConvPlan f32 = plan_conv2d(ConvAlgo::Implicit, g);
  Tensor dw = Tensor::empty(o.weight.shape());
  EXPECT_THROW(conv2d_backward(f32, g, kept.data(), o.weight.data(), o.dout.data(), nullptr,
                               dw.data(), nullptr),
               core::Error);
}

ConvCase make(std::string name, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oc, int64_t kh,
              int64_t kw, int64_t s, int64_t p, int64_t groups = 1) {
  return {std::move(name),
          {.batch = n,
           .in_channels = c,
           .in_h = h,
           .in_w = w,
           .out_channels = oc,
           .kernel_h = kh,
           .kernel_w = kw,
           .stride_h = s,
           .stride_w = s,
           .pad_h = p,
           .pad_w = p,
           .groups = groups}};
}

// Different strides and paddings across and down.
ConvCase make_rect(std::string name, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh,
                   int64_t sw, int64_t ph, int64_t pw) {
  ConvCase c = make(std::move(name), 2, 3, h, w, 4, kh, kw, 1, 0);
  c.g.stride_h = sh;
  c.g.stride_w = sw;
  c.g.pad_h = ph;
  c.g.pad_w = pw;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Sweep, ConvEquivalence,
    ::testing::Values(make("lenet_c1", 3, 1, 28, 28, 6, 5, 5, 1, 2),
                      make("lenet_c2", 3, 6, 14, 14, 16, 5, 5, 1, 0),
                      make("nonsquare_input", 2, 3, 7, 11, 4, 3, 3, 1, 1),
                      make("rect_kernel_stride2", 2, 2, 9, 7, 3, 3, 2, 2, 0),
                      make("stride2_pad1", 2, 3, 8, 8, 5, 3, 3, 2, 1),
                      make("stride3_pad2", 1, 2, 10, 9, 2, 4, 4, 3, 2),
                      make("pointwise_1x1", 2, 5, 4, 6, 3, 1, 1, 1, 0),
                      make("pointwise_1x1_stride2", 2, 5, 5, 6, 3, 1, 1, 2, 0),
                      make("kernel_equals_input", 2, 3, 5, 5, 4, 5, 5, 1, 0),
                      make("groups2", 2, 4, 6, 6, 6, 3, 3, 1, 1, 2),
                      make("depthwise", 3, 4, 6, 5, 4, 3, 3, 1, 1, 4),
                      make("depthwise_multiplier2", 2, 3, 5, 5, 6, 3, 3, 2, 1, 3),
                      make("batch_larger_than_threads", 9, 2, 6, 6, 3, 3, 3, 1, 0),
                      make("one_pixel", 1, 1, 1, 1, 1, 1, 1, 1, 0),
                      // implicit's register blocks: channel and tap counts with remainders, a
                      // wide row longer than one block, one image for two threads
                      make("channels_13_to_11", 2, 13, 9, 9, 11, 3, 3, 1, 1),
                      make("wide_rows", 2, 2, 6, 40, 9, 3, 2, 1, 0),
                      make("kernel7_pad3", 1, 3, 12, 12, 5, 7, 7, 1, 3),
                      make("big_padding", 2, 2, 4, 4, 3, 3, 3, 1, 2),
                      // implicit's pixel-major forward (channels fill vectors, narrow rows):
                      // two channel vectors and an odd row count; rows longer than one block
                      make("pixel_major_32_channels", 2, 3, 9, 9, 32, 5, 5, 1, 0),
                      make("pixel_major_long_rows", 1, 2, 9, 20, 16, 7, 7, 1, 0),
                      make("pixel_major_3x3", 3, 4, 6, 6, 16, 3, 3, 1, 0),
                      make("pixel_major_groups", 2, 4, 7, 7, 32, 3, 3, 1, 0, 2),
                      // ResNet-20's 8x8 stage: rows 8 of 10 kept, the pixel-major boundary
                      make("pixel_major_resnet_8x8", 2, 64, 8, 8, 64, 3, 3, 1, 1),
                      // the fused 2x2 pool: odd output sizes (a row and a column no window
                      // covers), pixel-major with an odd output, rows of more than one vector
                      make("pool_odd_output", 2, 3, 9, 11, 5, 3, 3, 1, 1),
                      make("pool_pixel_major_odd", 2, 3, 11, 9, 16, 3, 3, 1, 0),
                      make("pool_long_rows", 1, 2, 6, 70, 3, 3, 3, 1, 1),
                      // implicit's phases: ResNet's downsampling 3x3 and its 1x1 shortcut, odd
                      // sizes (phases of different sizes), a kernel the size of the stride, a
                      // kernel smaller than the stride (phases never read), strides and
                      // paddings that differ across and down, wide rows, the fused pool
                      make("resnet_down_3x3", 2, 16, 16, 16, 32, 3, 3, 2, 1),
                      make("resnet_shortcut_1x1", 2, 16, 16, 16, 32, 1, 1, 2, 0),
                      make("stride2_odd_input", 2, 3, 9, 11, 5, 3, 3, 2, 1),
                      make("kernel2_stride2", 2, 3, 8, 9, 4, 2, 2, 2, 0),
                      make("pointwise_stride3", 1, 4, 10, 11, 3, 1, 1, 3, 1),
                      make_rect("stride_1x2", 7, 12, 3, 3, 1, 2, 1, 0),
                      make_rect("stride_3x1_kernel_5x2", 13, 6, 5, 2, 3, 1, 2, 1),
                      make("stride2_wide_rows", 1, 2, 5, 90, 6, 3, 3, 2, 1),
                      make("stride2_pool", 2, 3, 20, 22, 5, 3, 3, 2, 1)),
    [](const auto& test_param) { return test_param.param.name; });

}  // namespace
}  // namespace tinycnn::kernels
