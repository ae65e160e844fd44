// Max pooling forward + backward at LeNet-5's first pooling layer, batch 64.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.hpp"
#include "kernels/pooling.hpp"
#include "tensor/tensor.hpp"

namespace {

void BM_MaxPoolLenet(benchmark::State& state) {
  const tinycnn::kernels::Pool2dGeometry g{.batch = 64,
                                           .channels = 6,
                                           .in_h = 28,
                                           .in_w = 28,
                                           .kernel_h = 2,
                                           .kernel_w = 2,
                                           .stride_h = 2,
                                           .stride_w = 2};
  tinycnn::core::Rng rng(1);
  auto input = tinycnn::tensor::Tensor::randn({64, 6, 28, 28}, rng);
  auto output = tinycnn::tensor::Tensor::empty({64, 6, 14, 14});
  auto dinput = tinycnn::tensor::Tensor::empty(input.shape());
  std::vector<int32_t> argmax(static_cast<size_t>(output.numel()));
  for (auto _ : state) {
    tinycnn::kernels::maxpool2d_forward(g, input.data(), output.data(), argmax.data());
    tinycnn::kernels::maxpool2d_backward(g, output.data(), argmax.data(), dinput.data());
    benchmark::DoNotOptimize(dinput.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.nbytes() * 2));
}
BENCHMARK(BM_MaxPoolLenet)->Unit(benchmark::kMicrosecond);

}  // namespace
