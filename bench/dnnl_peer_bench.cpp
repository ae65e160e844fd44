// tinycnn's convolutions beside oneDNN's (Debian's libdnnl 2.6.3, the library PyTorch calls on
// the CPU) on ResNet-20's 3x3 stride-1 shapes at batch 64 (one thread's slice of batch 128), in
// one run: forward, backward-data (dinput) and backward-weights (dweight), oneDNN's direct and
// Winograd algorithms (where it has one for the direction and shape) against tinycnn's implicit,
// Winograd and auto plans. oneDNN runs on the layouts it prefers for each (format_tag::any: the
// reorders a framework pays around it are not timed). FLOPS counts the direct convolution's.
// Threads: OMP_NUM_THREADS (bench/dnnl_peer.sh runs 1 and 2).
#include <benchmark/benchmark.h>

#include <cstring>
#include <dnnl.hpp>
#include <string>
#include <unordered_map>

#include "core/rng.hpp"
#include "kernels/conv2d.hpp"
#include "tensor/tensor.hpp"

namespace {

using tinycnn::kernels::Conv2dGeometry;
using tinycnn::kernels::ConvAlgo;
using tinycnn::tensor::Tensor;

enum class Direction { Forward, Dinput, Dweight };

constexpr Conv2dGeometry resnet(int64_t channels, int64_t size) {
  return {.batch = 64,
          .in_channels = channels,
          .in_h = size,
          .in_w = size,
          .out_channels = channels,
          .kernel_h = 3,
          .kernel_w = 3,
          .pad_h = 1,
          .pad_w = 1};
}

double direct_flops(const Conv2dGeometry& g) {
  return 2.0 * static_cast<double>(g.output_numel() * g.col_rows());
}

void BM_Tinycnn(benchmark::State& state, Conv2dGeometry g, Direction d, ConvAlgo algo) {
  tinycnn::core::Rng rng(1);
  const Tensor input = Tensor::randn({g.batch, g.in_channels, g.in_h, g.in_w}, rng);
  const Tensor weight = Tensor::randn({g.out_channels, g.in_channels, 3, 3}, rng);
  const Tensor dout = Tensor::randn({g.batch, g.out_channels, g.out_h(), g.out_w()}, rng);
  Tensor out = Tensor::empty(dout.shape()), dx = Tensor::empty(input.shape());
  Tensor dw = Tensor::empty(weight.shape());
  const tinycnn::kernels::ConvPlan plan = tinycnn::kernels::plan_conv2d(algo, g);
  for (auto _ : state) {
    if (d == Direction::Forward) {
      tinycnn::kernels::conv2d_forward(plan, g, input.data(), weight.data(), nullptr, out.data());
    } else {
      tinycnn::kernels::conv2d_backward(plan, g, input.data(), weight.data(), dout.data(),
                                        d == Direction::Dinput ? dx.data() : nullptr,
                                        d == Direction::Dweight ? dw.data() : nullptr, nullptr);
    }
    benchmark::ClobberMemory();
  }
  state.SetLabel(plan.summary());
  state.counters["FLOPS"] =
      benchmark::Counter(direct_flops(g), benchmark::Counter::kIsIterationInvariantRate);
}

dnnl::memory filled(const dnnl::memory::desc& md, const dnnl::engine& engine) {
  dnnl::memory m(md, engine);
  auto* p = static_cast<float*>(m.get_data_handle());
  const size_t n = md.get_size() / sizeof(float);
  for (size_t i = 0; i < n; ++i) p[i] = 0.001f * static_cast<float>(i % 997) - 0.5f;
  return m;
}

void BM_Dnnl(benchmark::State& state, Conv2dGeometry g, Direction d, dnnl::algorithm algo) {
  using dnnl::memory;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::dims src{g.batch, g.in_channels, g.in_h, g.in_w};
  const memory::dims wei{g.out_channels, g.in_channels, 3, 3};
  const memory::dims dst{g.batch, g.out_channels, g.out_h(), g.out_w()};
  const memory::dims strides{1, 1}, pad{g.pad_h, g.pad_w};
  const auto any = [](const memory::dims& dims) {
    return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
  };
  try {
    const dnnl::convolution_forward::primitive_desc fwd(
        {dnnl::prop_kind::forward_training, algo, any(src), any(wei), any(dst), strides, pad, pad},
        engine);
    dnnl::primitive prim;
    std::unordered_map<int, memory> args;
    std::string implementation;
    if (d == Direction::Forward) {
      prim = dnnl::convolution_forward(fwd);
      implementation = fwd.impl_info_str();
      args = {{DNNL_ARG_SRC, filled(fwd.src_desc(), engine)},
              {DNNL_ARG_WEIGHTS, filled(fwd.weights_desc(), engine)},
              {DNNL_ARG_DST, memory(fwd.dst_desc(), engine)}};
    } else if (d == Direction::Dinput) {
      const dnnl::convolution_backward_data::primitive_desc bwd(
          {algo, any(src), any(wei), any(dst), strides, pad, pad}, engine, fwd);
      prim = dnnl::convolution_backward_data(bwd);
      implementation = bwd.impl_info_str();
      args = {{DNNL_ARG_DIFF_DST, filled(bwd.diff_dst_desc(), engine)},
              {DNNL_ARG_WEIGHTS, filled(bwd.weights_desc(), engine)},
              {DNNL_ARG_DIFF_SRC, memory(bwd.diff_src_desc(), engine)}};
    } else {
      const dnnl::convolution_backward_weights::primitive_desc bwd(
          {algo, any(src), any(wei), any(dst), strides, pad, pad}, engine, fwd);
      prim = dnnl::convolution_backward_weights(bwd);
      implementation = bwd.impl_info_str();
      args = {{DNNL_ARG_SRC, filled(bwd.src_desc(), engine)},
              {DNNL_ARG_DIFF_DST, filled(bwd.diff_dst_desc(), engine)},
              {DNNL_ARG_DIFF_WEIGHTS, memory(bwd.diff_weights_desc(), engine)}};
    }
    for (auto _ : state) {
      prim.execute(stream, args);
      stream.wait();
    }
    state.SetLabel(implementation);
  } catch (const dnnl::error& e) {
    state.SkipWithError((std::string("oneDNN has no such primitive: ") + e.what()).c_str());
    return;
  }
  state.counters["FLOPS"] =
      benchmark::Counter(direct_flops(g), benchmark::Counter::kIsIterationInvariantRate);
}

#define TINYCNN_PEER(name, g, dir)                                                              \
  BENCHMARK_CAPTURE(BM_Tinycnn, name##_tinycnn_implicit, g, dir, ConvAlgo::Implicit)            \
      ->Unit(benchmark::kMillisecond)                                                           \
      ->UseRealTime();                                                                          \
  BENCHMARK_CAPTURE(BM_Tinycnn, name##_tinycnn_winograd, g, dir, ConvAlgo::Winograd)            \
      ->Unit(benchmark::kMillisecond)                                                           \
      ->UseRealTime();                                                                          \
  BENCHMARK_CAPTURE(BM_Dnnl, name##_onednn_direct, g, dir, dnnl::algorithm::convolution_direct) \
      ->Unit(benchmark::kMillisecond)                                                           \
      ->UseRealTime();                                                                          \
  BENCHMARK_CAPTURE(BM_Dnnl, name##_onednn_winograd, g, dir,                                    \
                    dnnl::algorithm::convolution_winograd)                                      \
      ->Unit(benchmark::kMillisecond)                                                           \
      ->UseRealTime()

TINYCNN_PEER(fwd_16x32x32, resnet(16, 32), Direction::Forward);
TINYCNN_PEER(dinput_16x32x32, resnet(16, 32), Direction::Dinput);
TINYCNN_PEER(dweight_16x32x32, resnet(16, 32), Direction::Dweight);
TINYCNN_PEER(fwd_32x16x16, resnet(32, 16), Direction::Forward);
TINYCNN_PEER(dinput_32x16x16, resnet(32, 16), Direction::Dinput);
TINYCNN_PEER(dweight_32x16x16, resnet(32, 16), Direction::Dweight);
TINYCNN_PEER(fwd_64x8x8, resnet(64, 8), Direction::Forward);
TINYCNN_PEER(dinput_64x8x8, resnet(64, 8), Direction::Dinput);
TINYCNN_PEER(dweight_64x8x8, resnet(64, 8), Direction::Dweight);

}  // namespace
