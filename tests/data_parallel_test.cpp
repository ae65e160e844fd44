// train::DataParallelStep and the data-parallel evaluate: the batch split across threads gives
// the plain step's loss, counts and batch-mean gradients (batch norm's statistics too); the
// replicas see the primary's weights; an error in one slice comes out as the error, not a
// crash.
#include "train/data_parallel.hpp"

#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "data/idx.hpp"
#include "io/safetensors.hpp"
#include "kernels/cross_entropy.hpp"
#include "model/builder.hpp"
#include "ops/cross_entropy.hpp"
#include "optim/sgd.hpp"
#include "run/checkpoint.hpp"
#include "support/allclose.hpp"
#include "support/idx_writer.hpp"
#include "train/evaluate.hpp"

namespace tinycnn::train {
namespace {

// A small CNN on 12x12 inputs: conv + relu + pool + linear, with every kind of parameter.
model::ModelSpec small_spec() {
  return model::parse_config(nlohmann::json::parse(R"({
    "name": "small", "input": {"channels": 1, "height": 12, "width": 12},
    "layers": [
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3},
      {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 10}],
    "training": {"conv_algo": "implicit", "weight_init": "pytorch"}})"));
}

// The same with batch norm (2d and 1d) and a residual block: its statistics are the whole
// batch's, so slices must reduce across threads to match the plain step.
model::ModelSpec batchnorm_spec() {
  return model::parse_config(nlohmann::json::parse(R"({
    "name": "small_bn", "input": {"channels": 1, "height": 12, "width": 12},
    "layers": [
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
      {"type": "residual", "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"}]},
      {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 16},
      {"type": "batchnorm1d"}, {"type": "relu"}, {"type": "linear", "out_features": 10}],
    "training": {"conv_algo": "implicit", "weight_init": "pytorch"}})"));
}

// Group norm and layer norm (2d and flat): statistics of one example each, so the slices need
// nothing from one another — and a slice of one example trains.
model::ModelSpec groupnorm_spec() {
  return model::parse_config(nlohmann::json::parse(R"({
    "name": "small_gn", "input": {"channels": 1, "height": 12, "width": 12},
    "layers": [
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "groupnorm", "num_groups": 2}, {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "residual", "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "layernorm"}]},
      {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 16},
      {"type": "layernorm"}, {"type": "relu"}, {"type": "linear", "out_features": 10}],
    "training": {"conv_algo": "implicit", "weight_init": "pytorch"}})"));
}

class DataParallelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tinycnn-dp-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    testing::write_mnist_split(dir_.string(), "train", 50, 12, 12);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  data::Dataset dataset() const { return data::read_idx_split(dir_.string(), "train", 10); }
  std::filesystem::path dir_;
};

// The plain step on one model: loss sum, correct count and gradients.
struct Reference {
  double loss_sum = 0;
  int64_t correct = 0;
  std::vector<tensor::Tensor> grads;
};

Reference plain_step(nn::Sequential& model, const data::Dataset& data,
                     const std::vector<int64_t>& indices) {
  tensor::Tensor images;
  std::vector<int32_t> labels;
  data.gather(indices, data::Normalization{}, images, labels);
  for (auto& p : model.parameters()) p.var.zero_grad();
  autograd::Variable logits = model.forward(autograd::Variable(images));
  autograd::Variable loss = ops::softmax_cross_entropy(logits, labels);
  autograd::backward(loss);
  Reference r;
  r.loss_sum = loss.data()[0] * static_cast<double>(indices.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    r.correct += kernels::predicted_class(logits.data().data() + i * 10, 10) == labels[i];
  }
  for (auto& p : model.parameters()) r.grads.push_back(p.var.grad().clone());
  return r;
}

// `min_batch`: smaller batches are skipped (batch norm refuses one value per channel).
void expect_slices_match_the_plain_step(const model::ModelSpec& spec, const data::Dataset& data,
                                        size_t min_batch = 1) {
  for (int threads : {1, 2, 3}) {
    for (const std::vector<int64_t>& batch :
         {std::vector<int64_t>{3, 1, 4, 15, 9, 26, 5, 35, 8, 49, 7},  // uneven slices
          std::vector<int64_t>{17, 2}, std::vector<int64_t>{21}}) {   // fewer examples than threads
      if (batch.size() < min_batch) continue;
      auto model = model::build_model(spec), reference_model = model::build_model(spec);
      DataParallelStep step(spec, *model, threads);
      const StepResult got = step.run(data, batch, data::Normalization{});
      const Reference want = plain_step(*reference_model, data, batch);
      const auto buffers = model->buffers(), want_buffers = reference_model->buffers();
      ASSERT_EQ(buffers.size(), want_buffers.size());
      for (size_t j = 0; j < buffers.size(); ++j) {  // running statistics, updated once
        if (buffers[j].f32) {
          EXPECT_TRUE(testing::all_close(*buffers[j].f32, *want_buffers[j].f32, 1e-5, 1e-7))
              << buffers[j].name;
        } else {
          EXPECT_EQ(*buffers[j].i64, *want_buffers[j].i64) << buffers[j].name;
          EXPECT_EQ(*buffers[j].i64, 1) << buffers[j].name;
        }
      }
      SCOPED_TRACE("threads " + std::to_string(threads) + ", batch of " +
                   std::to_string(batch.size()));
      EXPECT_NEAR(got.loss_sum, want.loss_sum, 1e-5 * static_cast<double>(batch.size()));
      EXPECT_EQ(got.correct, want.correct);
      const auto params = model->parameters();
      ASSERT_EQ(params.size(), want.grads.size());
      for (size_t j = 0; j < params.size(); ++j) {
        EXPECT_TRUE(testing::all_close(params[j].var.grad(), want.grads[j], 1e-4, 1e-6))
            << params[j].name;
      }
      // Twice: the gradients are zeroed, not accumulated, between steps.
      step.run(data, batch, data::Normalization{});
      for (size_t j = 0; j < params.size(); ++j) {
        EXPECT_TRUE(testing::all_close(params[j].var.grad(), want.grads[j], 1e-4, 1e-6))
            << params[j].name << " (second step)";
      }
    }
  }
}

TEST_F(DataParallelTest, SlicesGiveThePlainStepsLossCountsAndGradients) {
  expect_slices_match_the_plain_step(small_spec(), dataset());
}

TEST_F(DataParallelTest, BatchNormStatisticsAreTheWholeBatchsAtAnyThreadCount) {
  expect_slices_match_the_plain_step(batchnorm_spec(), dataset(), 2);
}

TEST_F(DataParallelTest, GroupNormAndLayerNormGiveThePlainStepAtAnyThreadCount) {
  expect_slices_match_the_plain_step(groupnorm_spec(), dataset());
}

TEST_F(DataParallelTest, BatchNormBuffersRoundTripThroughACheckpoint) {
  const data::Dataset data = dataset();
  const model::ModelSpec spec = batchnorm_spec();
  auto model = model::build_model(spec);
  DataParallelStep step(spec, *model, 2);
  for (int i = 0; i < 3; ++i) step.run(data, {0, 1, 2, 3, 4, 5}, data::Normalization{});
  optim::SGD sgd(model->parameters(), {.lr = 0.1});
  const std::string file = (dir_ / "bn.safetensors").string();
  run::save_checkpoint(file, *model, sgd, run::TrainState{}, "{}");
  const io::SafetensorsFile raw = io::read_safetensors(file);
  const io::NamedInts* tracked = raw.find_ints("layers.1.num_batches_tracked");
  ASSERT_NE(tracked, nullptr);  // PyTorch's I64 scalar
  EXPECT_TRUE(tracked->dims.empty());
  EXPECT_EQ(tracked->values, std::vector<int64_t>{3});
  ASSERT_NE(raw.find("layers.4.layers.1.running_var"), nullptr);

  auto loaded = model::build_model(spec);
  run::load_checkpoint(file, *loaded, nullptr);
  const auto want = model->buffers(), got = loaded->buffers();
  ASSERT_EQ(got.size(), want.size());
  for (size_t j = 0; j < got.size(); ++j) {
    if (got[j].f32) {
      EXPECT_EQ(got[j].f32->to_vector(), want[j].f32->to_vector()) << got[j].name;
    } else {
      EXPECT_EQ(*got[j].i64, 3) << got[j].name;
    }
  }
  // A model without batch norm refuses it: the buffers are tensors it does not have.
  auto plain = model::build_model(small_spec());
  EXPECT_THROW(run::load_checkpoint(file, *plain, nullptr), core::Error);
}

TEST_F(DataParallelTest, TheModelRunsAloneBetweenStepsAndAfterTheStepIsGone) {
  const data::Dataset data = dataset();
  const model::ModelSpec spec = batchnorm_spec();
  auto model = model::build_model(spec);
  tensor::Tensor images;
  std::vector<int32_t> labels;
  data.gather(std::vector<int64_t>{0, 1, 2, 3}, data::Normalization{}, images, labels);
  {
    DataParallelStep step(spec, *model, 2);
    step.run(data, {0, 1, 2, 3, 4, 5}, data::Normalization{});
    model->set_training(true);  // alone, in training mode: no other slice to wait for
    EXPECT_EQ(model->forward(autograd::Variable(images)).shape(), tensor::Shape({4, 10}));
  }
  // The step (and its reducer) is gone; the model's batch norm no longer refers to it.
  EXPECT_EQ(model->forward(autograd::Variable(images)).shape(), tensor::Shape({4, 10}));
}

TEST_F(DataParallelTest, AFailingSliceDoesNotLeaveTheOthersWaitingInBatchNorm) {
  const data::Dataset data = dataset();
  const model::ModelSpec spec = batchnorm_spec();
  auto model = model::build_model(spec);
  DataParallelStep step(spec, *model, 2);
  try {
    step.run(data, {0, 1, 2, 50}, data::Normalization{});  // the second slice's gather fails
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_EQ(std::string(e.what()).find("another slice"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(step.run(data, {0, 1, 2, 3}, data::Normalization{}));
}

TEST_F(DataParallelTest, ReplicasSeeThePrimarysWeightsAfterAnUpdate) {
  const data::Dataset data = dataset();
  const model::ModelSpec spec = small_spec();
  auto model = model::build_model(spec), reference_model = model::build_model(spec);
  DataParallelStep step(spec, *model, 2);
  // Change the primary's weights in place (as an optimizer does), in both models alike.
  for (auto* m : {model.get(), reference_model.get()}) {
    for (auto& p : m->parameters()) {
      float* w = p.var.data().data();
      for (int64_t i = 0; i < p.var.data().numel(); ++i) w[i] = w[i] * 0.5f + 0.01f;
    }
  }
  const std::vector<int64_t> batch{0, 1, 2, 3, 4, 5, 6, 7};
  step.run(data, batch, data::Normalization{});
  const Reference want = plain_step(*reference_model, data, batch);
  const auto params = model->parameters();
  for (size_t j = 0; j < params.size(); ++j) {
    EXPECT_TRUE(testing::all_close(params[j].var.grad(), want.grads[j], 1e-4, 1e-6))
        << params[j].name;
  }
}

TEST_F(DataParallelTest, AnErrorInASliceIsThrownNotACrash) {
  const data::Dataset data = dataset();
  const model::ModelSpec spec = small_spec();
  auto model = model::build_model(spec);
  DataParallelStep step(spec, *model, 2);
  // Index 50 is past the 50 examples: the second slice's gather fails.
  EXPECT_THROW(step.run(data, {0, 1, 2, 50}, data::Normalization{}), core::Error);
  EXPECT_THROW(step.run(data, {}, data::Normalization{}), core::Error);
  // And the step still works afterwards.
  EXPECT_NO_THROW(step.run(data, {0, 1, 2, 3}, data::Normalization{}));
}

TEST_F(DataParallelTest, EvaluateOverReplicasCountsAsOneModel) {
  const data::Dataset data = dataset();
  const model::ModelSpec spec = small_spec();
  auto model = model::build_model(spec);
  DataParallelStep step(spec, *model, 3);
  const data::Normalization norm;
  const EvalResult one = evaluate(*model, data, norm, 10, 7);
  const EvalResult many = evaluate(step.models(), data, norm, 10, 7);
  EXPECT_EQ(many.confusion, one.confusion);
  EXPECT_EQ(many.examples, 50);
  EXPECT_DOUBLE_EQ(many.accuracy, one.accuracy);
  EXPECT_NEAR(many.loss, one.loss, 1e-6);
  // The replicas are back in training mode afterwards.
  for (nn::Sequential* m : step.models()) EXPECT_TRUE(m->training());
}

}  // namespace
}  // namespace tinycnn::train
