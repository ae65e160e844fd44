// Convolution forward and backward (dinput + dweight + dbias), naive vs im2col vs implicit GEMM
// (what configs/lenet5.json trains with), with FLOP/s.
// Cases: LeNet-5's conv1 and conv2 at batch 64, and a mid-size 16->32 3x3 layer at batch 32.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.hpp"
#include "kernels/conv2d.hpp"
#include "tensor/tensor.hpp"

namespace {

using tinycnn::kernels::Conv2dGeometry;
using tinycnn::kernels::ConvAlgo;
using tinycnn::tensor::Tensor;

const Conv2dGeometry kLenetConv1{.batch = 64,
                                 .in_channels = 1,
                                 .in_h = 28,
                                 .in_w = 28,
                                 .out_channels = 6,
                                 .kernel_h = 5,
                                 .kernel_w = 5,
                                 .pad_h = 2,
                                 .pad_w = 2};
const Conv2dGeometry kLenetConv2{.batch = 64,
                                 .in_channels = 6,
                                 .in_h = 14,
                                 .in_w = 14,
                                 .out_channels = 16,
                                 .kernel_h = 5,
                                 .kernel_w = 5};
const Conv2dGeometry kLarge{.batch = 8,
                            .in_channels = 64,
                            .in_h = 56,
                            .in_w = 56,
                            .out_channels = 64,
                            .kernel_h = 3,
                            .kernel_w = 3,
                            .pad_h = 1,
                            .pad_w = 1};
const Conv2dGeometry kMid{.batch = 32,
                          .in_channels = 16,
                          .in_h = 32,
                          .in_w = 32,
                          .out_channels = 32,
                          .kernel_h = 3,
                          .kernel_w = 3,
                          .pad_h = 1,
                          .pad_w = 1};

double forward_flops(const Conv2dGeometry& g) {
  return 2.0 * static_cast<double>(g.batch * g.out_channels * g.out_h() * g.out_w() * g.col_rows());
}

struct Operands {
  Tensor input, weight, bias, output, dinput, dweight, dbias;
  explicit Operands(const Conv2dGeometry& g) {
    tinycnn::core::Rng rng(1);
    input = Tensor::randn({g.batch, g.in_channels, g.in_h, g.in_w}, rng);
    weight = Tensor::randn({g.out_channels, g.in_per_group(), g.kernel_h, g.kernel_w}, rng);
    bias = Tensor::randn({g.out_channels}, rng);
    output = Tensor::randn({g.batch, g.out_channels, g.out_h(), g.out_w()}, rng);
    dinput = Tensor::empty(input.shape());
    dweight = Tensor::empty(weight.shape());
    dbias = Tensor::empty(bias.shape());
  }
};

void BM_ConvForward(benchmark::State& state, Conv2dGeometry g, ConvAlgo algo) {
  Operands op(g);
  for (auto _ : state) {
    tinycnn::kernels::conv2d_forward(algo, g, op.input.data(), op.weight.data(), op.bias.data(),
                                     op.output.data());
    benchmark::DoNotOptimize(op.output.data());
  }
  state.counters["FLOPS"] =
      benchmark::Counter(forward_flops(g), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ConvBackward(benchmark::State& state, Conv2dGeometry g, ConvAlgo algo) {
  Operands op(g);
  for (auto _ : state) {
    tinycnn::kernels::conv2d_backward(algo, g, op.input.data(), op.weight.data(), op.output.data(),
                                      op.dinput.data(), op.dweight.data(), op.dbias.data());
    benchmark::DoNotOptimize(op.dweight.data());
  }
  state.counters["FLOPS"] =
      benchmark::Counter(2.0 * forward_flops(g), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(BM_ConvForward, lenet_conv1_b64_naive, kLenetConv1, ConvAlgo::Naive)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, lenet_conv1_b64_im2col, kLenetConv1, ConvAlgo::Im2col)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, lenet_conv2_b64_naive, kLenetConv2, ConvAlgo::Naive)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, lenet_conv2_b64_im2col, kLenetConv2, ConvAlgo::Im2col)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, lenet_conv1_b64_implicit, kLenetConv1, ConvAlgo::Implicit)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, lenet_conv2_b64_implicit, kLenetConv2, ConvAlgo::Implicit)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, c16_32x32_k3_b32_naive, kMid, ConvAlgo::Naive)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, c16_32x32_k3_b32_im2col, kMid, ConvAlgo::Im2col)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// The profiler's largest default case; the naive loops take seconds there, so im2col only.
BENCHMARK_CAPTURE(BM_ConvForward, c64_56x56_k3_b8_im2col, kLarge, ConvAlgo::Im2col)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, c64_56x56_k3_b8_im2col, kLarge, ConvAlgo::Im2col)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvForward, c64_56x56_k3_b8_implicit, kLarge, ConvAlgo::Implicit)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, c64_56x56_k3_b8_implicit, kLarge, ConvAlgo::Implicit)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, lenet_conv1_b64_naive, kLenetConv1, ConvAlgo::Naive)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, lenet_conv1_b64_im2col, kLenetConv1, ConvAlgo::Im2col)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, lenet_conv2_b64_naive, kLenetConv2, ConvAlgo::Naive)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, lenet_conv2_b64_im2col, kLenetConv2, ConvAlgo::Im2col)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, lenet_conv1_b64_implicit, kLenetConv1, ConvAlgo::Implicit)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, lenet_conv2_b64_implicit, kLenetConv2, ConvAlgo::Implicit)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, c16_32x32_k3_b32_naive, kMid, ConvAlgo::Naive)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvBackward, c16_32x32_k3_b32_im2col, kMid, ConvAlgo::Im2col)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
