// The training step across processes; see step.hpp.
#include "train/step.hpp"

#include <algorithm>

#include "core/block.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "train/log.hpp"

namespace tinycnn::train {

namespace {
// FNV-1a over every weight and running statistic: equal on every process, or they diverged.
uint64_t weights_hash(nn::Sequential& model) {
  uint64_t h = 1469598103934665603ull;
  const auto add = [&](const tensor::Tensor& t) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(t.data());
    for (size_t i = 0; i < static_cast<size_t>(t.numel()) * sizeof(float); ++i) {
      h = (h ^ bytes[i]) * 1099511628211ull;
    }
  };
  for (auto& p : model.parameters()) add(p.var.data());
  nn::walk(model, [&](const std::string&, nn::Module& layer, int) {
    for (const auto& b : layer.buffers()) {
      if (b.f32) add(*b.f32);
    }
  });
  return h;
}
}  // namespace

Step::Step(const model::ModelSpec& spec, nn::Sequential& model, int threads, cluster::Group& group)
    : group_(group),
      model_(model),
      across_(group),
      threads_(spec, model, threads, group.size() > 1 ? &across_ : nullptr),
      params_(model.parameters()) {}

StepResult Step::run(const data::Dataset& data, std::span<const int64_t> batch,
                     const data::Normalization& norm, const data::Augment& augment, int64_t epoch,
                     const std::function<bool()>& stop_requested) {
  const auto n = static_cast<int64_t>(batch.size());
  const int64_t ranks = group_.size(), rank = group_.rank();
  const core::Block slice = core::block(n, rank, ranks);
  mine_.assign(batch.begin() + slice.begin, batch.begin() + slice.end);
  StepResult result = threads_.run(data, mine_, norm, augment, epoch);
  result.stop = stop_requested();
  return ranks > 1 ? sum_across(result, n, slice.size()) : result;
}

// This process's slice-mean gradients, weighted by its share of the batch, summed with the
// others' in one fused buffer; then the batch's loss, correct count and stop requests.
StepResult Step::sum_across(const StepResult& mine, int64_t n, int64_t slice) {
  const core::Stopwatch clock;
  const float share = static_cast<float>(slice) / static_cast<float>(n);
  size_t at = 0;
  for (const auto& p : params_) {
    const tensor::Tensor& g = p.var.grad();
    gradients_.resize(std::max(gradients_.size(), at + static_cast<size_t>(g.numel())));
    for (int64_t i = 0; i < g.numel(); ++i) gradients_[at + static_cast<size_t>(i)] = g[i] * share;
    at += static_cast<size_t>(g.numel());
  }
  group_.sum(std::span(gradients_.data(), at));
  at = 0;
  for (auto& p : params_) {
    tensor::Tensor& g = p.var.grad();
    for (int64_t i = 0; i < g.numel(); ++i) g[i] = gradients_[at + static_cast<size_t>(i)];
    at += static_cast<size_t>(g.numel());
  }
  std::vector<double> stats{mine.loss_sum, static_cast<double>(mine.correct),
                            mine.stop ? 1.0 : 0.0};
  group_.sum(stats);
  sum_seconds_.push_back(clock.seconds());
  return {.loss_sum = stats[0], .correct = static_cast<int64_t>(stats[1]), .stop = stats[2] > 0};
}

bool Step::any(bool mine) { return group_.size() > 1 ? group_.max(mine ? 1 : 0) != 0 : mine; }

void Step::agree(const std::exception_ptr& error) { cluster::agree(group_, error); }

void Step::require(bool ok, const std::function<std::string()>& message) {
  if (!ok) cluster::fail_together(group_, core::ErrorKind::Runtime, message());
}

void Step::check_one_model(int64_t epoch, const std::string& kept) {
  if (group_.size() == 1) return;
  const uint64_t hash = weights_hash(model_);
  const uint64_t low = group_.min(hash), high = group_.max(hash);
  require(low == high, [&] {
    return core::concat("after epoch ", epoch + 1, " the ranks' weights differ (hashes ", low,
                        " .. ", high, "): they no longer train one model; ", kept);
  });
  double total = 0;
  for (const double t : sum_seconds_) total += t;
  const double mean_ms =
      sum_seconds_.empty() ? 0.0 : 1e3 * total / static_cast<double>(sum_seconds_.size());
  log_info(core::concat("epoch ", epoch + 1, ": ", group_.size(), " ranks, allreduce ",
                        fixed(mean_ms, 2), " ms per step (", 4 * model_.parameter_count(),
                        " bytes of gradients)"));
  sum_seconds_.clear();
}

EvalResult Step::evaluate(const data::Dataset& data, const data::Normalization& norm,
                          int64_t num_classes) {
  const core::Block part = core::block(data.size(), group_.rank(), group_.size());
  EvalTally tally =
      evaluate_part(threads_.models(), data, norm, num_classes, kEvalBatch, part.begin, part.end);
  if (group_.size() > 1) {  // the loss sum and every count, added across the processes
    std::vector<double> sums = tally.to_sums();
    group_.sum(sums);
    tally = EvalTally::from_sums(sums, num_classes);
  }
  return summarize(tally);
}

}  // namespace tinycnn::train
