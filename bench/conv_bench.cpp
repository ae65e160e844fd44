// Convolution forward and backward (dinput + dweight + dbias), naive vs im2col vs implicit GEMM
// (what configs/lenet5.json trains with) vs Winograd on ResNet-20's 3x3 stride-1 shapes, with
// FLOP/s.
// Cases: LeNet-5's conv1 and conv2 at batch 64, and a mid-size 16->32 3x3 layer at batch 32.
// ResNet-20's layers (one slice of batch 128: 64 images) implicit, with the backward's two
// gradients also timed alone (BM_ConvDinput, BM_ConvDweight) to see which one costs.
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

// ResNet-20 on CIFAR-10 shapes: a 3x3 layer of each stage, the downsampling 3x3 and the 1x1
// projection shortcut of the second stage.
constexpr Conv2dGeometry resnet(int64_t c, int64_t size, int64_t oc, int64_t k, int64_t s) {
  return {.batch = 64,
          .in_channels = c,
          .in_h = size,
          .in_w = size,
          .out_channels = oc,
          .kernel_h = k,
          .kernel_w = k,
          .stride_h = s,
          .stride_w = s,
          .pad_h = k / 2,
          .pad_w = k / 2};
}
const Conv2dGeometry kResnet16 = resnet(16, 32, 16, 3, 1);
const Conv2dGeometry kResnet32 = resnet(32, 16, 32, 3, 1);
const Conv2dGeometry kResnet64 = resnet(64, 8, 64, 3, 1);
const Conv2dGeometry kResnetDown = resnet(16, 32, 32, 3, 2);
const Conv2dGeometry kResnetShortcut = resnet(16, 32, 32, 1, 2);

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

// One gradient of the backward alone: dinput (dweight, dbias skipped) or dweight + dbias.
void BM_ConvDinput(benchmark::State& state, Conv2dGeometry g, ConvAlgo algo) {
  Operands op(g);
  for (auto _ : state) {
    tinycnn::kernels::conv2d_backward(algo, g, op.input.data(), op.weight.data(), op.output.data(),
                                      op.dinput.data(), nullptr, nullptr);
    benchmark::DoNotOptimize(op.dinput.data());
  }
  state.counters["FLOPS"] =
      benchmark::Counter(forward_flops(g), benchmark::Counter::kIsIterationInvariantRate);
}
void BM_ConvDweight(benchmark::State& state, Conv2dGeometry g) {
  Operands op(g);
  for (auto _ : state) {
    tinycnn::kernels::conv2d_backward(ConvAlgo::Implicit, g, op.input.data(), op.weight.data(),
                                      op.output.data(), nullptr, op.dweight.data(),
                                      op.dbias.data());
    benchmark::DoNotOptimize(op.dweight.data());
  }
  state.counters["FLOPS"] =
      benchmark::Counter(forward_flops(g), benchmark::Counter::kIsIterationInvariantRate);
}

#define TINYCNN_RESNET_CASE(name, geometry)                              \
  BENCHMARK_CAPTURE(BM_ConvForward, name, geometry, ConvAlgo::Implicit)  \
      ->Unit(benchmark::kMillisecond)                                    \
      ->UseRealTime();                                                   \
  BENCHMARK_CAPTURE(BM_ConvBackward, name, geometry, ConvAlgo::Implicit) \
      ->Unit(benchmark::kMillisecond)                                    \
      ->UseRealTime();                                                   \
  BENCHMARK_CAPTURE(BM_ConvDinput, name, geometry, ConvAlgo::Implicit)   \
      ->Unit(benchmark::kMillisecond)                                    \
      ->UseRealTime();                                                   \
  BENCHMARK_CAPTURE(BM_ConvDweight, name, geometry)->Unit(benchmark::kMillisecond)->UseRealTime()

TINYCNN_RESNET_CASE(resnet20_16x32x32_k3, kResnet16);
TINYCNN_RESNET_CASE(resnet20_32x16x16_k3, kResnet32);
TINYCNN_RESNET_CASE(resnet20_64x8x8_k3, kResnet64);
TINYCNN_RESNET_CASE(resnet20_down_16to32_k3_s2, kResnetDown);
TINYCNN_RESNET_CASE(resnet20_shortcut_16to32_k1_s2, kResnetShortcut);

// Winograd on the 3x3 stride-1 shapes: forward and dinput (its dweight is implicit's); FLOPS
// counts the direct convolution's FLOPs, so it may pass the FMA peak.
#define TINYCNN_WINOGRAD_CASE(name, geometry)                                      \
  BENCHMARK_CAPTURE(BM_ConvForward, name##_winograd, geometry, ConvAlgo::Winograd) \
      ->Unit(benchmark::kMillisecond)                                              \
      ->UseRealTime();                                                             \
  BENCHMARK_CAPTURE(BM_ConvDinput, name##_winograd, geometry, ConvAlgo::Winograd)  \
      ->Unit(benchmark::kMillisecond)                                              \
      ->UseRealTime()

TINYCNN_WINOGRAD_CASE(resnet20_16x32x32_k3, kResnet16);
TINYCNN_WINOGRAD_CASE(resnet20_32x16x16_k3, kResnet32);
TINYCNN_WINOGRAD_CASE(resnet20_64x8x8_k3, kResnet64);

}  // namespace
