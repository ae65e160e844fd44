// kernels: GEMM against its loop reference, im2col by hand, pooling and loss by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <new>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.hpp"
#include "kernels/conv/im2col.hpp"
#include "kernels/conv/row_gemm.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/gemm.hpp"
#include "kernels/geometry.hpp"
#include "kernels/int8_gemm.hpp"
#include "kernels/linear.hpp"
#include "kernels/parallel.hpp"
#include "kernels/pooling.hpp"
#include "support/allclose.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::kernels {
namespace {

using tensor::Tensor;

TEST(OutputSize, Formula) {
  EXPECT_EQ(output_size(28, 5, 1, 2), 28);
  EXPECT_EQ(output_size(28, 2, 2, 0), 14);
  EXPECT_EQ(output_size(7, 2, 2, 0), 3);  // truncating division
  EXPECT_EQ(output_size(4, 5, 1, 0), 0);  // kernel larger than input
  EXPECT_EQ(output_size(4, 1, 0, 0), 0);  // invalid stride
}

struct GemmCase {
  Trans ta, tb;
  int64_t m, n, k;
};

class GemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmTest, MatchesReference) {
  const auto c = GetParam();
  core::Rng rng(11);
  Tensor a = Tensor::randn({c.m * c.k}, rng), b = Tensor::randn({c.k * c.n}, rng);
  Tensor c0 = Tensor::randn({c.m * c.n}, rng);
  Tensor fast = c0.clone(), ref = c0.clone();
  GemmArgs args{.trans_a = c.ta,
                .trans_b = c.tb,
                .m = c.m,
                .n = c.n,
                .k = c.k,
                .alpha = 0.5f,
                .a = a.data(),
                .lda = c.ta == Trans::Yes ? c.m : c.k,
                .b = b.data(),
                .ldb = c.tb == Trans::Yes ? c.k : c.n,
                .beta = 2.0f,
                .c = fast.data(),
                .ldc = c.n};
  gemm(args);
  args.c = ref.data();
  gemm_reference(args);
  EXPECT_TRUE(testing::all_close(fast, ref, 1e-4, 1e-4));
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(GemmCase{Trans::No, Trans::No, 6, 784, 25},
                                           GemmCase{Trans::No, Trans::Yes, 16, 150, 100},
                                           GemmCase{Trans::Yes, Trans::No, 150, 100, 16},
                                           GemmCase{Trans::Yes, Trans::Yes, 7, 5, 3},
                                           GemmCase{Trans::No, Trans::No, 1, 1, 1}));

// rows_gemm / rows_gemm_t against plain double loops, for every register-block remainder (rows
// 1..19, taps 1..13) and rows of B that overlap (offsets 1 apart, as the implicit path's do).
struct RowGemmData {
  int64_t rows, taps, nq;
  std::vector<float> a, b, init, d;
  std::vector<int64_t> off;
};
RowGemmData row_gemm_data(int64_t rows, int64_t taps, core::Rng& rng) {
  RowGemmData x{rows, taps, 2 * kRowBlock, {}, {}, {}, {}, {}};
  for (int64_t t = 0; t < taps; ++t) x.off.push_back(t % 2 ? t : 3 * t * kRowBlock / 2);
  const int64_t b_size = *std::max_element(x.off.begin(), x.off.end()) + x.nq;
  auto fill = [&](std::vector<float>& v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<float>(rng.normal(0.0, 1.0)));
  };
  fill(x.a, taps * rows);
  fill(x.b, b_size);
  fill(x.init, rows);
  fill(x.d, rows * x.nq);
  return x;
}

TEST(RowGemm, EveryBlockRemainderMatchesLoops) {
  core::Rng rng(5);
  for (int64_t rows = 1; rows < 20; ++rows) {
    for (int64_t taps : {1, 4, 5, 6, 13}) {
      const RowGemmData x = row_gemm_data(rows, taps, rng);
      std::vector<float> c(static_cast<size_t>(rows * x.nq), 9.0f);
      rows_gemm(rows, x.a.data(), rows, x.b.data(), x.off.data(), taps, x.init.data(), c.data(),
                x.nq, x.nq);
      std::vector<simd::Vec> s(static_cast<size_t>(rows * taps), simd::Vec{});
      rows_gemm_t(rows, x.d.data(), x.nq, x.b.data(), x.off.data(), taps, x.nq, s.data());
      std::vector<float> st(s.size());
      sum_lanes_in_thread_order(s.data(), 1, static_cast<int64_t>(s.size()),
                                static_cast<int64_t>(s.size()), st.data());
      for (int64_t m = 0; m < rows; ++m) {
        for (int64_t q = 0; q < x.nq; ++q) {
          double want = x.init[m];
          for (int64_t t = 0; t < taps; ++t) want += double{x.a[t * rows + m]} * x.b[x.off[t] + q];
          ASSERT_NEAR(c[m * x.nq + q], want, 1e-4 * (1 + std::abs(want)))
              << "rows_gemm rows " << rows << " taps " << taps << " at " << m << "," << q;
        }
        for (int64_t t = 0; t < taps; ++t) {
          double want = 0;
          for (int64_t q = 0; q < x.nq; ++q) want += double{x.d[m * x.nq + q]} * x.b[x.off[t] + q];
          ASSERT_NEAR(st[m * taps + t], want, 1e-4 * (1 + std::abs(want)))
              << "rows_gemm_t rows " << rows << " taps " << taps << " at " << m << "," << t;
        }
      }
    }
  }
}

TEST(RowGemm, SumsAreAddedNotOverwrittenAndThreadsSummedInOrder) {
  std::vector<simd::Vec> s(4, simd::splat(1.0f));  // 2 "threads" x 2 entries
  s[3] = simd::splat(2.0f);
  std::vector<float> out(2);
  sum_lanes_in_thread_order(s.data(), 2, 2, 2, out.data());
  EXPECT_EQ(out[0], 2.0f * simd::kLanes);
  EXPECT_EQ(out[1], 3.0f * simd::kLanes);
}

TEST(RowGemm, TransposeGroups) {
  const std::vector<float> a{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // 2 groups of [2, 3]
  EXPECT_EQ(transpose_groups(a.data(), 2, 2, 3),
            (std::vector<float>{1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12}));
}

// LeNet's fc1 shape: large enough that the forward calls the BLAS from both threads at once (the
// backward runs its own kernel, dinput and dweight side by side). A BLAS that is not safe to
// call concurrently (Debian's serial OpenBLAS is not) fails here; the smaller layers of the other
// tests never run the BLAS in parallel.
TEST(Linear, ConcurrentBlasCallsMatchLoops) {
  const LinearGeometry g{.batch = 64, .in_features = 400, .out_features = 120};
  core::Rng rng(3);
  const Tensor x = Tensor::randn({g.batch, g.in_features}, rng);
  const Tensor w = Tensor::randn({g.out_features, g.in_features}, rng);
  const Tensor b = Tensor::randn({g.out_features}, rng);
  const Tensor dy = Tensor::randn({g.batch, g.out_features}, rng);
  for (int repeat = 0; repeat < 20; ++repeat) {
    Tensor y = Tensor::empty({g.batch, g.out_features});
    linear_forward(g, x.data(), w.data(), b.data(), y.data());
    Tensor want = Tensor::empty(y.shape());
    for (int64_t n = 0; n < g.batch; ++n) {
      for (int64_t j = 0; j < g.out_features; ++j) want[n * g.out_features + j] = b[j];
    }
    gemm_reference({.trans_b = Trans::Yes,
                    .m = g.batch,
                    .n = g.out_features,
                    .k = g.in_features,
                    .a = x.data(),
                    .lda = g.in_features,
                    .b = w.data(),
                    .ldb = g.in_features,
                    .beta = 1.0f,
                    .c = want.data(),
                    .ldc = g.out_features});
    ASSERT_TRUE(testing::all_close(y, want, 1e-4, 1e-4)) << "forward, repeat " << repeat;

    Tensor dx = Tensor::empty(x.shape()), dw = Tensor::empty(w.shape());
    linear_backward(g, x.data(), w.data(), dy.data(), dx.data(), dw.data(), nullptr);
    Tensor want_dx = Tensor::empty(x.shape()), want_dw = Tensor::empty(w.shape());
    gemm_reference({.m = g.batch,
                    .n = g.in_features,
                    .k = g.out_features,
                    .a = dy.data(),
                    .lda = g.out_features,
                    .b = w.data(),
                    .ldb = g.in_features,
                    .c = want_dx.data(),
                    .ldc = g.in_features});
    gemm_reference({.trans_a = Trans::Yes,
                    .m = g.out_features,
                    .n = g.in_features,
                    .k = g.batch,
                    .a = dy.data(),
                    .lda = g.out_features,
                    .b = x.data(),
                    .ldb = g.in_features,
                    .c = want_dw.data(),
                    .ldc = g.in_features});
    ASSERT_TRUE(testing::all_close(dx, want_dx, 1e-4, 1e-4)) << "dinput, repeat " << repeat;
    ASSERT_TRUE(testing::all_close(dw, want_dw, 1e-4, 1e-4)) << "dweight, repeat " << repeat;
  }
}

TEST(Linear, BackwardKernelAtEveryBlockRemainder) {
  // The backward's own kernel: register blocks of up to 4 rows x 4 vectors; row counts 1..9 and
  // feature counts that leave 1..4 vectors with a partial (masked) last one, or whole ones.
  core::Rng rng(8);
  for (int64_t batch : {1, 3, 4, 5, 9}) {
    for (int64_t in : {1, 7, 16, 33, 64, 65, 100}) {
      for (int64_t out : {1, 2, 5, 8}) {
        const LinearGeometry g{.batch = batch, .in_features = in, .out_features = out};
        const Tensor x = Tensor::randn({batch, in}, rng), w = Tensor::randn({out, in}, rng);
        const Tensor dy = Tensor::randn({batch, out}, rng);
        Tensor dx = Tensor::full(x.shape(), 9.0f), dw = Tensor::full(w.shape(), 9.0f);
        Tensor db = Tensor::full({out}, 9.0f);
        linear_backward(g, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
        Tensor want_dx = Tensor::empty(x.shape()), want_dw = Tensor::empty(w.shape());
        gemm_reference({.m = batch,
                        .n = in,
                        .k = out,
                        .a = dy.data(),
                        .lda = out,
                        .b = w.data(),
                        .ldb = in,
                        .c = want_dx.data(),
                        .ldc = in});
        gemm_reference({.trans_a = Trans::Yes,
                        .m = out,
                        .n = in,
                        .k = batch,
                        .a = dy.data(),
                        .lda = out,
                        .b = x.data(),
                        .ldb = in,
                        .c = want_dw.data(),
                        .ldc = in});
        Tensor want_db = Tensor::zeros({out});
        for (int64_t n = 0; n < batch; ++n) {
          for (int64_t o = 0; o < out; ++o) want_db[o] += dy[n * out + o];
        }
        const std::string at =
            std::to_string(batch) + "x" + std::to_string(in) + "->" + std::to_string(out);
        ASSERT_TRUE(testing::all_close(dx, want_dx, 1e-5, 1e-5)) << "dinput " << at;
        ASSERT_TRUE(testing::all_close(dw, want_dw, 1e-5, 1e-5)) << "dweight " << at;
        ASSERT_TRUE(testing::all_close(db, want_db, 1e-5, 1e-5)) << "dbias " << at;
      }
    }
  }
}

TEST(Im2col, HandComputedWithPadding) {
  // One 3x3 channel 1..9, kernel 2x2, stride 1, padding 1 -> 4x4 outputs; col is [4, 16].
  Conv2dGeometry g{.in_h = 3, .in_w = 3, .kernel_h = 2, .kernel_w = 2, .pad_h = 1, .pad_w = 1};
  const std::vector<float> image{1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> col(4 * 16, -1.0f);
  im2col(g, image.data(), col.data());
  // Row (kh=0, kw=0) reads input (oh-1, ow-1).
  const std::vector<float> row0{0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9};
  // Row (kh=1, kw=1) reads input (oh, ow).
  const std::vector<float> row3{1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<float>(col.begin(), col.begin() + 16), row0);
  EXPECT_EQ(std::vector<float>(col.begin() + 48, col.end()), row3);

  // With a row stride of 20 the same rows, and each row's 4-float tail zeroed.
  std::vector<float> strided(4 * 20, std::numeric_limits<float>::quiet_NaN());
  im2col(g, image.data(), strided.data(), 20);
  for (int r = 0; r < 4; ++r) {
    EXPECT_TRUE(
        std::equal(col.begin() + r * 16, col.begin() + (r + 1) * 16, strided.begin() + r * 20))
        << "row " << r;
    EXPECT_EQ(std::vector<float>(strided.begin() + r * 20 + 16, strided.begin() + (r + 1) * 20),
              std::vector<float>(4, 0.0f))
        << "tail of row " << r;
  }
  std::vector<float> back(9, 0.0f), back_strided(9, 0.0f);
  col2im(g, col.data(), back.data());
  col2im(g, strided.data(), back_strided.data(), 20);
  EXPECT_EQ(back, back_strided);
}

TEST(Im2col, Col2imAddsEveryUseOfAPixel) {
  // With all-ones columns, col2im counts how many windows cover each pixel.
  Conv2dGeometry g{.in_h = 3, .in_w = 3, .kernel_h = 2, .kernel_w = 2};
  std::vector<float> col(4 * 4, 1.0f), image(9, 0.0f);
  col2im(g, col.data(), image.data());
  EXPECT_EQ(image, (std::vector<float>{1, 2, 1, 2, 4, 2, 1, 2, 1}));
}

TEST(Pooling, TwoByTwoOnOneToSixteen) {
  Pool2dGeometry g{
      .in_h = 4, .in_w = 4, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2};
  std::vector<float> in(16);
  for (int i = 0; i < 16; ++i) in[i] = static_cast<float>(i + 1);
  std::vector<float> out(4);
  std::vector<int32_t> argmax(4);
  maxpool2d_forward(g, in.data(), out.data(), argmax.data());
  EXPECT_EQ(out, (std::vector<float>{6, 8, 14, 16}));
  EXPECT_EQ(argmax, (std::vector<int32_t>{5, 7, 13, 15}));
  avgpool2d_forward(g, in.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{3.5f, 5.5f, 11.5f, 13.5f}));

  std::vector<float> dout{1, 2, 3, 4}, din(16, -1.0f);
  maxpool2d_backward(g, dout.data(), argmax.data(), din.data());
  EXPECT_EQ(din, (std::vector<float>{0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4}));
  avgpool2d_backward(g, dout.data(), din.data());
  EXPECT_EQ(din[0], 0.25f);
  EXPECT_EQ(din[15], 1.0f);
}

TEST(Pooling, TwoByTwoBackwardWritesEveryInputAsTheScatterWould) {
  // The 2x2 backward writes densely (no zero-fill + scatter): every input must be written, with
  // the gradient at the argmax of its window and 0 elsewhere, uncovered odd rows and columns 0.
  // Shapes: odd sizes, rows of more than one vector of outputs (a partial second one), LeNet's.
  for (auto [h, w] : {std::pair{5, 7}, std::pair{6, 40}, std::pair{3, 35}, std::pair{28, 28},
                      std::pair{10, 10}, std::pair{2, 2}}) {
    SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w));
    Pool2dGeometry g{.batch = 2,
                     .channels = 3,
                     .in_h = h,
                     .in_w = w,
                     .kernel_h = 2,
                     .kernel_w = 2,
                     .stride_h = 2,
                     .stride_w = 2};
    core::Rng rng(static_cast<uint64_t>(h * 100 + w));
    const int64_t in_n = g.batch * g.channels * h * w,
                  out_n = g.batch * g.channels * g.out_h() * g.out_w();
    std::vector<float> in(static_cast<size_t>(in_n)), out(static_cast<size_t>(out_n));
    std::vector<float> dout(static_cast<size_t>(out_n));
    for (float& v : in) v = static_cast<float>(rng.normal(0.0, 1.0));
    for (float& v : dout) v = static_cast<float>(rng.normal(0.0, 1.0));
    std::vector<int32_t> argmax(static_cast<size_t>(out_n));
    maxpool2d_forward(g, in.data(), out.data(), argmax.data());
    std::vector<float> want(static_cast<size_t>(in_n), 0.0f);
    std::set<int64_t> positions;
    const int64_t in_plane = h * w, out_plane = g.out_h() * g.out_w();
    for (int64_t o = 0; o < out_n; ++o) {
      const int64_t plane = o / out_plane, oh = o % out_plane / g.out_w(), ow = o % g.out_w();
      const int64_t at = argmax[static_cast<size_t>(o)];
      positions.insert(at - (2 * oh * w + 2 * ow));
      want[static_cast<size_t>(plane * in_plane + at)] += dout[static_cast<size_t>(o)];
    }
    if (out_n >= 16) {
      EXPECT_EQ(positions, (std::set<int64_t>{0, 1, w, w + 1}));
    }
    std::vector<float> din(static_cast<size_t>(in_n), std::numeric_limits<float>::quiet_NaN());
    maxpool2d_backward(g, dout.data(), argmax.data(), din.data());
    EXPECT_EQ(din, want);
  }
}

TEST(Pooling, MaxPadsWithMinusInfinity) {
  // All-negative input with padding: the padded zeros must never win.
  Pool2dGeometry g{.in_h = 2,
                   .in_w = 2,
                   .kernel_h = 2,
                   .kernel_w = 2,
                   .stride_h = 2,
                   .stride_w = 2,
                   .pad_h = 1,
                   .pad_w = 1};
  std::vector<float> in{-4, -3, -2, -1}, out(4);
  std::vector<int32_t> argmax(4);
  maxpool2d_forward(g, in.data(), out.data(), argmax.data());
  EXPECT_EQ(out, (std::vector<float>{-4, -3, -2, -1}));
}

TEST(Pooling, MaxPropagatesNaNOnBothPaths) {
  // 2x2/stride 2 takes the fast path; 3x3/stride 1 the general one. NaN wins, as in PyTorch.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> in{1, nan, 3, 4, 5, 6, 7, 8, 9};
  Pool2dGeometry fast{
      .in_h = 2, .in_w = 2, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2};
  std::vector<float> out(1);
  std::vector<int32_t> argmax(1);
  maxpool2d_forward(fast, in.data(), out.data(), argmax.data());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(argmax[0], 1);
  Pool2dGeometry general{
      .in_h = 3, .in_w = 3, .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1};
  maxpool2d_forward(general, in.data(), out.data(), argmax.data());
  EXPECT_TRUE(std::isnan(out[0]));
}

TEST(CrossEntropy, StableForHugeLogits) {
  const std::vector<float> logits{1000.0f, 0.0f, -1000.0f, 0.0f, 0.0f, 0.0f};
  const std::vector<int32_t> labels{1, 2};
  std::vector<float> probs(6), dlogits(6);
  const double loss =
      softmax_cross_entropy_forward(2, 3, logits.data(), labels.data(), probs.data());
  EXPECT_NEAR(loss, (1000.0 + std::log(3.0)) / 2.0, 1e-3);
  softmax_cross_entropy_backward(2, 3, probs.data(), labels.data(), 1.0f, dlogits.data());
  EXPECT_NEAR(dlogits[0], 0.5, 1e-6);
  EXPECT_NEAR(dlogits[1], -0.5, 1e-6);
  EXPECT_NEAR(dlogits[3], 1.0 / 6.0, 1e-6);
  EXPECT_NEAR(dlogits[5], -1.0 / 3.0, 1e-6);
  for (float d : dlogits) EXPECT_TRUE(std::isfinite(d));
}

// An exception thrown on any thread of a kernel's parallel region (a failed allocation) reaches
// the caller, instead of ending the process from inside the OpenMP region.
TEST(ParallelRegion, AThreadsExceptionReachesTheCaller) {
  for (const int thrower : {0, 1}) {
    EXPECT_THROW(parallel_region([&] {
                   if (omp_get_thread_num() == thrower % omp_get_num_threads())
                     throw std::bad_alloc();
                 }),
                 std::bad_alloc);
  }
  int ran = 0;
  parallel_region([&] {
#pragma omp atomic
    ++ran;
  });
  EXPECT_GE(ran, 1);
}

// The int8 sums against plain int32 sums on awkward sizes (pixel counts that leave remainders
// in every block shape, 64-, 32- and 16-channel blocks, more channel groups than a block's row
// holds, taps reading overlapping unaligned bytes), through vpdpbusd where the CPU has it and
// the portable loops; the fused epilogue's bytes against requantize_u8 of those sums, nothing
// written past a pixel's real channels; and the epilogue's vector lanes against its scalar tail.
TEST(Int8Kernels, ConvTapsMatchPlainSumsAndTheEpilogueRoundsHalfToEven) {
  core::Rng rng(77);
  for (const int64_t pixels : {1, 3, 9, 31}) {
    for (const int64_t taps : {1, 3}) {
      for (const int64_t c4 : {1, 3, 70}) {
        const int64_t n = 112, real = 101;  // blocks of 64, 32 and 16 channels
        std::vector<uint8_t> frame(static_cast<size_t>((pixels + taps) * 4 * c4 + 8));
        for (auto& v : frame) v = static_cast<uint8_t>(rng.uniform_int(256));
        std::vector<const uint8_t*> base;
        for (int64_t p = 0; p < pixels; ++p) base.push_back(frame.data() + p * 4 * c4);
        std::vector<int64_t> tap;
        for (int64_t t = 0; t < taps; ++t) tap.push_back(t * 4 * c4 + (t % 2));  // unaligned
        std::vector<int8_t> w(static_cast<size_t>(taps * c4 * n * 4), 0);
        for (int64_t t = 0; t < taps; ++t) {
          for (int64_t q = 0; q < c4; ++q) {
            for (int64_t f = 0; f < real; ++f) {
              for (int64_t u = 0; u < 4; ++u) {
                w[static_cast<size_t>(((t * c4 + q) * n + f) * 4 + u)] =
                    static_cast<int8_t>(static_cast<int64_t>(rng.uniform_int(255)) - 127);
              }
            }
          }
        }
        std::vector<int32_t> want(static_cast<size_t>(pixels * n), 0);
        for (int64_t p = 0; p < pixels; ++p) {
          for (int64_t f = 0; f < n; ++f) {
            for (int64_t t = 0; t < taps; ++t) {
              for (int64_t k = 0; k < 4 * c4; ++k) {
                want[static_cast<size_t>(p * n + f)] +=
                    base[static_cast<size_t>(p)][tap[static_cast<size_t>(t)] + k] *
                    w[static_cast<size_t>(((t * c4 + k / 4) * n + f) * 4 + k % 4)];
              }
            }
          }
        }
        std::vector<int32_t> offset(static_cast<size_t>(n));
        std::vector<float> scale(static_cast<size_t>(n));
        for (int64_t f = 0; f < n; ++f) {
          offset[static_cast<size_t>(f)] = static_cast<int32_t>(rng.uniform_int(2001)) - 1000;
          scale[static_cast<size_t>(f)] = static_cast<float>(0.5 + rng.uniform()) / 4096.0f;
        }
        const int64_t stride = real + 3;  // a pixel's bytes: real channels, then 3 not ours
        std::vector<uint8_t> bytes_want(static_cast<size_t>(pixels * stride), 7);
        for (int64_t p = 0; p < pixels; ++p) {
          requantize_u8(real, want.data() + p * n, offset.data(), scale.data(), 100, 20,
                        bytes_want.data() + p * stride);
        }
        for (const bool portable : {false, true}) {
          const std::string what = std::to_string(pixels) + " pixels, " + std::to_string(taps) +
                                   " taps, " + std::to_string(c4) + " groups, portable " +
                                   std::to_string(portable);
          std::vector<int32_t> c(static_cast<size_t>(pixels * n), -1);
          conv_taps_s8u8(pixels, taps, c4, n, base.data(), tap.data(), w.data(), c.data(), nullptr,
                         portable);
          ASSERT_EQ(c, want) << what;
          std::vector<uint8_t> bytes(static_cast<size_t>(pixels * stride), 7);
          const Requantize e{.offset = offset.data(),
                             .scale = scale.data(),
                             .zero = 100,
                             .lo = 20,
                             .channels = real,
                             .y = bytes.data(),
                             .y_stride = stride};
          conv_taps_s8u8(pixels, taps, c4, n, base.data(), tap.data(), w.data(), c.data(), &e,
                         portable);
          ASSERT_EQ(bytes, bytes_want) << what;
        }
      }
    }
  }
  // 0.5 and 1.5 round to 0 and 2; 20 values, so 16 in the vector lanes and 4 in the tail.
  std::vector<int32_t> acc(20), offset(20, 0);
  std::vector<float> scale(20, 0.5f);
  for (int i = 0; i < 20; ++i) acc[static_cast<size_t>(i)] = (i % 4) + 600 * (i / 10) - 4;
  std::vector<uint8_t> y(20);
  requantize_u8(20, acc.data(), offset.data(), scale.data(), 3, 1, y.data());
  for (int i = 0; i < 20; ++i) {
    const float v = static_cast<float>(acc[static_cast<size_t>(i)]) * 0.5f;
    const auto want = std::clamp(static_cast<int32_t>(std::nearbyint(v)) + 3, 1, 255);
    EXPECT_EQ(y[static_cast<size_t>(i)], want) << i;
  }
  EXPECT_EQ(y[2], 2);  // -2 * 0.5 = -1, + 3 = 2
  EXPECT_EQ(y[1], 1);  // -1.5 -> -2 (half to even), + 3 = 1
  EXPECT_EQ(y[3], 3);  // -0.5 -> 0 (half to even), + 3 = 3
  EXPECT_EQ(y[0], 1);  // 1 clamped up to lo
  EXPECT_EQ(y[19], 255);
}

// Max pooling on channels-last bytes against plain loops: channel counts below, at and above
// a vector of 64, padding (left out of the max), strides, windows wider than the stride.
TEST(Int8Kernels, MaxPoolMatchesPlainLoops) {
  core::Rng rng(5);
  for (const int64_t cp : {4, 64, 68, 132}) {
    for (const auto& [k, s, p] :
         std::vector<std::array<int64_t, 3>>{{2, 2, 0}, {3, 1, 1}, {3, 2, 1}}) {
      PoolGeometry g{
          .h = 7, .w = 6, .cp = cp, .kh = k, .kw = k, .sh = s, .sw = s, .ph = p, .pw = p};
      g.oh = (g.h + 2 * p - k) / s + 1;
      g.ow = (g.w + 2 * p - k) / s + 1;
      std::vector<uint8_t> x(static_cast<size_t>(g.h * g.w * cp));
      for (auto& v : x) v = static_cast<uint8_t>(rng.uniform_int(256));
      std::vector<uint8_t> y(static_cast<size_t>(g.oh * g.ow * cp), 9), want(y.size());
      for (int64_t i = 0; i < g.oh; ++i) {
        for (int64_t j = 0; j < g.ow; ++j) {
          for (int64_t c = 0; c < cp; ++c) {
            int v = 0;
            for (int64_t a = 0; a < k; ++a) {
              for (int64_t b = 0; b < k; ++b) {
                const int64_t ih = i * s - p + a, iw = j * s - p + b;
                if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) {
                  v = std::max<int>(v, x[static_cast<size_t>((ih * g.w + iw) * cp + c)]);
                }
              }
            }
            want[static_cast<size_t>((i * g.ow + j) * cp + c)] = static_cast<uint8_t>(v);
          }
        }
      }
      max_pool_u8(g, x.data(), y.data());
      EXPECT_EQ(y, want) << "cp " << cp << " kernel " << k << " stride " << s << " pad " << p;
    }
  }
}

// The depthwise kernel against plain int32 sums requantized by requantize_u8: channel counts
// below, at and above a vector of 16, the vector lanes and the portable loops alike.
TEST(Int8Kernels, DepthwiseMatchesPlainSums) {
  core::Rng rng(9);
  for (const int64_t channels : {3, 16, 37}) {
    const int64_t cp = (channels + 3) / 4 * 4, n = (channels + 15) / 16 * 16, taps = 9;
    const int64_t pixels = 5;
    std::vector<uint8_t> frame(static_cast<size_t>((pixels + taps) * cp));
    for (auto& v : frame) v = static_cast<uint8_t>(rng.uniform_int(256));
    std::vector<const uint8_t*> base;
    for (int64_t p = 0; p < pixels; ++p) base.push_back(frame.data() + p * cp);
    std::vector<int64_t> tap;
    for (int64_t t = 0; t < taps; ++t) tap.push_back(t * cp);
    std::vector<int8_t> w(static_cast<size_t>(taps * n), 0);
    for (int64_t t = 0; t < taps; ++t) {
      for (int64_t f = 0; f < channels; ++f) {
        w[static_cast<size_t>(t * n + f)] =
            static_cast<int8_t>(static_cast<int64_t>(rng.uniform_int(255)) - 127);
      }
    }
    std::vector<int32_t> offset(static_cast<size_t>(n), -3000);
    std::vector<float> scale(static_cast<size_t>(n), 1.0f / 300.0f);
    const int64_t stride = cp + 4;
    std::vector<uint8_t> want(static_cast<size_t>(pixels * stride), 7);
    for (int64_t p = 0; p < pixels; ++p) {
      std::vector<int32_t> acc(static_cast<size_t>(channels), 0);
      for (int64_t t = 0; t < taps; ++t) {
        for (int64_t f = 0; f < channels; ++f) {
          acc[static_cast<size_t>(f)] +=
              base[static_cast<size_t>(p)][tap[static_cast<size_t>(t)] + f] *
              w[static_cast<size_t>(t * n + f)];
        }
      }
      requantize_u8(channels, acc.data(), offset.data(), scale.data(), 50, 50,
                    want.data() + p * stride);
    }
    for (const bool portable : {false, true}) {
      std::vector<uint8_t> got(want.size(), 7);
      const Requantize e{.offset = offset.data(),
                         .scale = scale.data(),
                         .zero = 50,
                         .lo = 50,
                         .channels = channels,
                         .y = got.data(),
                         .y_stride = stride};
      depthwise_s8u8(pixels, taps, n, base.data(), tap.data(), w.data(), e, portable);
      EXPECT_EQ(got, want) << channels << " channels, portable " << portable;
    }
  }
}

}  // namespace
}  // namespace tinycnn::kernels
