// Data-parallel training step; see data_parallel.hpp.
#include "train/data_parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <utility>

#include "autograd/engine.hpp"
#include "core/block.hpp"
#include "core/error.hpp"
#include "kernels/cross_entropy.hpp"
#include "model/builder.hpp"
#include "nn/batchnorm.hpp"
#include "ops/cross_entropy.hpp"
#include "runtime/team.hpp"
#include "train/evaluate.hpp"

namespace tinycnn::train {

namespace {
// Replica t's dropout layers draw from their own streams (seeded apart from the primary's).
constexpr uint64_t kReplicaSeedStride = 7919;
}  // namespace

DataParallelStep::DataParallelStep(const model::ModelSpec& spec, nn::Sequential& model, int threads,
                                   runtime::Collective* across)
    : reducer_(across) {
  TCNN_CHECK(threads >= 1, "data-parallel step: expected at least 1 thread, got ", threads);
  threads_ = threads;
  label_smoothing_ = static_cast<float>(spec.training.label_smoothing);
  nn::walk(model, [&](const std::string&, nn::Module& layer, int) {
    batch_norm_ = batch_norm_ || nn::BatchNorm::holds(layer.kind());
  });
  const int slices = threads == 1 || batch_norm_ ? threads : 2 * threads;
  models_.push_back(&model);
  params_.push_back(model.parameters());
  for (int t = 1; t < slices; ++t) {
    model::ModelSpec replica_spec = spec;
    replica_spec.training.seed = spec.training.seed + kReplicaSeedStride * static_cast<uint64_t>(t);
    owned_.push_back(model::build_model(replica_spec));
    models_.push_back(owned_.back().get());
    params_.push_back(owned_.back()->parameters());
    auto& mine = params_.back();
    const auto& primary = params_.front();
    TCNN_CHECK(mine.size() == primary.size(), "data-parallel step: replica has ", mine.size(),
               " parameters, the model ", primary.size());
    for (size_t j = 0; j < mine.size(); ++j) {
      TCNN_CHECK(mine[j].var.shape() == primary[j].var.shape(),
                 "data-parallel step: ", primary[j].name, " is ",
                 primary[j].var.shape().to_string(), " in the model, ",
                 mine[j].var.shape().to_string(), " in the replica");
      mine[j].var.data() = primary[j].var.data();  // the same buffer: one set of weights
    }
    auto buffers = owned_.back()->buffers();
    const auto primary_buffers = model.buffers();
    TCNN_CHECK(buffers.size() == primary_buffers.size(), "data-parallel step: replica has ",
               buffers.size(), " buffers, the model ", primary_buffers.size());
    for (size_t j = 0; j < buffers.size(); ++j) {
      if (buffers[j].f32) *buffers[j].f32 = *primary_buffers[j].f32;  // shared running statistics
    }
  }
  slices_.resize(static_cast<size_t>(slices));
}

StepResult DataParallelStep::run(const data::Dataset& data, const std::vector<int64_t>& indices,
                                 const data::Normalization& norm, const data::Augment& augment,
                                 int64_t epoch) {
  return run(static_cast<int64_t>(indices.size()),
             [&](int64_t begin, int64_t end, tensor::Tensor& images, std::vector<int32_t>& labels,
                 data::MixedLabels& mixed) {
               data.gather(std::span(indices).subspan(static_cast<size_t>(begin),
                                                      static_cast<size_t>(end - begin)),
                           norm, augment, epoch, images, labels, &mixed);
             });
}

StepResult DataParallelStep::run(const tensor::Tensor& images, const std::vector<int32_t>& labels) {
  const int64_t n = images.dim(0);
  TCNN_CHECK(static_cast<int64_t>(labels.size()) == n, "data-parallel step: expected ", n,
             " labels for ", n, " images, got ", labels.size());
  const int64_t per_image = images.numel() / std::max<int64_t>(n, 1);
  return run(n, [&](int64_t begin, int64_t end, tensor::Tensor& x, std::vector<int32_t>& y,
                    data::MixedLabels& mixed) {
    mixed = {};
    std::vector<int64_t> dims = images.shape().dims();
    dims[0] = end - begin;
    const tensor::Shape shape(std::move(dims));
    if (!x.defined() || x.shape() != shape) x = tensor::Tensor::empty(shape);
    std::copy(images.data() + begin * per_image, images.data() + end * per_image, x.data());
    y.assign(labels.begin() + begin, labels.begin() + end);
  });
}

StepResult DataParallelStep::run_slice(int t, int64_t begin, int64_t end, int64_t n,
                                       const Fill& fill) {
  Slice& slice = slices_[static_cast<size_t>(t)];
  fill(begin, end, slice.images, slice.labels, slice.mixed);
  TCNN_CHECK(slice.images.defined() && slice.images.dim(0) == end - begin &&
                 static_cast<int64_t>(slice.labels.size()) == end - begin,
             "data-parallel step: the batch source gave the wrong number of examples");
  nn::Sequential& model = *models_[static_cast<size_t>(t)];
  for (auto& p : params_[static_cast<size_t>(t)]) p.var.zero_grad();
  model.set_training(true);
  const runtime::StepContext ctx{.slice = t, .collective = &reducer_};
  autograd::Variable logits = model.forward(autograd::Variable(slice.images), ctx);
  const data::MixedLabels& mixed = slice.mixed;
  autograd::Variable loss =
      ops::softmax_cross_entropy(logits, slice.labels, label_smoothing_, mixed.other, mixed.lambda);
  const int64_t k = logits.shape()[1];
  StepResult r;
  for (int64_t i = 0; i < end - begin; ++i) {
    const auto at = static_cast<size_t>(i);
    const bool partner = !mixed.lambda.empty() && mixed.lambda[at] < 0.5f;
    r.correct += kernels::predicted_class(logits.data().data() + i * k, k) ==
                 (partner ? mixed.other[at] : slice.labels[at]);
  }
  r.loss_sum = static_cast<double>(loss.data()[0]) * static_cast<double>(end - begin);
  // The slice's mean loss weighted by its share: the gradients sum to the batch mean's.
  autograd::backward(loss, {}, static_cast<float>(end - begin) / static_cast<float>(n));
  return r;
}

void DataParallelStep::sum_gradients(int t, int nt, int slices) {
  // primary gradient += replica 1's + replica 2's ..., each thread a block of every tensor.
  for (size_t j = 0; j < params_[0].size(); ++j) {
    tensor::Tensor& total = params_[0][j].var.grad();
    if (!total.defined()) continue;
    const int64_t size = total.numel();
    const core::Block block = core::block(size, t, nt);
    float* dst = total.data();
    for (int r = 1; r < slices; ++r) {
      const tensor::Tensor& part = params_[static_cast<size_t>(r)][j].var.grad();
      if (!part.defined()) continue;
      const float* src = part.data();
      for (int64_t i = block.begin; i < block.end; ++i) dst[i] += src[i];
    }
  }
}

StepResult DataParallelStep::run(int64_t n, const Fill& fill) {
  TCNN_CHECK(n > 0, "data-parallel step: expected a non-empty batch");
  int slices = static_cast<int>(std::min<int64_t>(static_cast<int64_t>(models_.size()), n));
  const int team = std::min(threads_, slices);
  std::vector<StepResult> results(static_cast<size_t>(slices));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(slices));
  std::atomic<int> next{0};
  reducer_.begin(batch_norm_ ? slices : 1);

  runtime::parallel(
      team,
      [&](const runtime::Crew& crew) {
        const int t = crew.thread, nt = crew.size;
        if (batch_norm_ && nt != team) {  // fewer threads than asked: the slices follow
          if (t == 0) {
            slices = nt;
            reducer_.begin(nt);
          }
          crew.sync();
        }
        // With batch norm slice t on thread t (they meet in the middle); without, the next one
        // free.
        for (int s = batch_norm_ ? t : next.fetch_add(1); s < slices;
             s = batch_norm_ ? slices : next.fetch_add(1)) {
          try {
            const core::Block part = core::block(n, s, slices);
            results[static_cast<size_t>(s)] = run_slice(s, part.begin, part.end, n, fill);
          } catch (const runtime::SliceAborted&) {
            // Another slice failed first; its error is the one to report.
          } catch (...) {
            errors[static_cast<size_t>(s)] = std::current_exception();
            reducer_.abort();
          }
        }
        crew.sync();
        bool failed = false;
        for (const auto& e : errors) failed = failed || e != nullptr;
        if (!failed) sum_gradients(t, nt, slices);
      },
      batch_norm_ ? runtime::Split::Fixed : runtime::Split::Free);

  reducer_.begin(1);  // between steps the model may run alone (a profile, a test pass)
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  StepResult result;
  for (int t = 0; t < slices; ++t) {
    result.loss_sum += results[static_cast<size_t>(t)].loss_sum;
    result.correct += results[static_cast<size_t>(t)].correct;
  }
  return result;
}

}  // namespace tinycnn::train
