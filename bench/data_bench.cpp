// Gathering a training batch (64 images of 28 x 28, Fashion-MNIST's shape) into normalised
// floats: plain, and augmented (random crop with padding 2 and a left-right flip).
#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "data/dataset.hpp"
#include "tensor/tensor.hpp"

namespace {

tinycnn::data::Dataset synthetic(int64_t count) {
  std::vector<uint8_t> pixels(static_cast<size_t>(count * 28 * 28));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7);
  std::vector<int32_t> labels(static_cast<size_t>(count));
  return {"synthetic", 1, 28, 28, std::move(pixels), std::move(labels)};
}

void BM_GatherBatch(benchmark::State& state) {
  const auto data = synthetic(1024);
  std::vector<int64_t> indices(64);
  std::iota(indices.begin(), indices.end(), 100);
  const tinycnn::data::Augment augment{
      .crop_padding = state.range(0) ? 2 : 0, .horizontal_flip = state.range(0) != 0, .seed = 42};
  tinycnn::tensor::Tensor images;
  std::vector<int32_t> labels;
  int64_t epoch = 0;
  for (auto _ : state) {
    data.gather(indices, {}, augment, ++epoch, images, labels);
    benchmark::DoNotOptimize(images.data());
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_GatherBatch)->ArgName("augmented")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
