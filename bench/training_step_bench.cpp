// One LeNet-5 training step at batch 64 (forward, loss, backward, SGD step): the op-by-op step
// that `tinycnn profile --model` breaks down per layer, and the data-parallel step `train` runs;
// and an evaluation forward pass.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "autograd/engine.hpp"
#include "core/rng.hpp"
#include "core/sysinfo.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "ops/cross_entropy.hpp"
#include "optim/sgd.hpp"
#include "train/data_parallel.hpp"

namespace {

using tinycnn::autograd::Variable;

// The tool's memory policy (apps/tinycnn/main.cpp sets it the same way), before any benchmark.
const bool kKeepFreedMemory = (tinycnn::core::keep_freed_memory(), true);

tinycnn::model::ModelSpec lenet() {
  return tinycnn::model::load_config(std::string(TINYCNN_CONFIG_DIR) + "/lenet5.json");
}

void BM_LenetTrainingStep(benchmark::State& state) {
  const auto spec = lenet();
  auto net = tinycnn::model::build_model(spec);
  tinycnn::optim::SGD sgd(net->parameters(), {.lr = 0.01, .momentum = 0.9});
  tinycnn::core::Rng rng(1);
  const int64_t batch = state.range(0);
  const auto images = tinycnn::tensor::Tensor::randn({batch, 1, 28, 28}, rng);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& l : labels) l = static_cast<int32_t>(rng.uniform_int(10));
  for (auto _ : state) {
    sgd.zero_grad();
    Variable loss = tinycnn::ops::softmax_cross_entropy(net->forward(Variable(images)), labels);
    tinycnn::autograd::backward(loss);
    sgd.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);  // images/s
}
BENCHMARK(BM_LenetTrainingStep)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

// As `train` runs it: the batch in one slice per thread (train::DataParallelStep).
void BM_LenetDataParallelStep(benchmark::State& state) {
  const auto spec = lenet();
  auto net = tinycnn::model::build_model(spec);
  tinycnn::optim::SGD sgd(net->parameters(), {.lr = 0.01, .momentum = 0.9});
  tinycnn::train::DataParallelStep step(spec, *net, omp_get_max_threads());
  tinycnn::core::Rng rng(1);
  const int64_t batch = state.range(0);
  const auto images = tinycnn::tensor::Tensor::randn({batch, 1, 28, 28}, rng);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& l : labels) l = static_cast<int32_t>(rng.uniform_int(10));
  for (auto _ : state) {
    step.run(images, labels);
    sgd.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);  // images/s
}
BENCHMARK(BM_LenetDataParallelStep)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LenetEvalForward(benchmark::State& state) {
  const auto spec = lenet();
  auto net = tinycnn::model::build_model(spec);
  net->set_training(false);
  tinycnn::core::Rng rng(1);
  const int64_t batch = state.range(0);
  const auto images = tinycnn::tensor::Tensor::randn({batch, 1, 28, 28}, rng);
  tinycnn::autograd::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(net->forward(Variable(images)).data().data());
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_LenetEvalForward)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
