// Batched no-grad evaluation.
#include "train/evaluate.hpp"

#include <algorithm>
#include <numeric>

#include "autograd/engine.hpp"
#include "core/block.hpp"
#include "core/error.hpp"
#include "kernels/cross_entropy.hpp"
#include "ops/cross_entropy.hpp"
#include "runtime/team.hpp"

namespace tinycnn::train {

namespace {
// Loss sum and confusion counts of examples [begin, end), in batches, with `model`.
struct Tally {
  double loss_sum = 0.0;
  std::vector<std::vector<int64_t>> confusion;
};

Tally tally(nn::Sequential& model, const data::Dataset& dataset, const data::Normalization& norm,
            int64_t num_classes, int64_t batch_size, int64_t begin, int64_t end) {
  autograd::NoGradGuard no_grad;  // per thread
  Tally r;
  r.confusion.assign(static_cast<size_t>(num_classes),
                     std::vector<int64_t>(static_cast<size_t>(num_classes), 0));
  tensor::Tensor images;
  std::vector<int32_t> labels;
  std::vector<int64_t> indices;
  for (int64_t start = begin; start < end; start += batch_size) {
    const int64_t n = std::min(batch_size, end - start);
    indices.resize(static_cast<size_t>(n));
    std::iota(indices.begin(), indices.end(), start);
    dataset.gather(indices, norm, images, labels);
    const autograd::Variable logits = model.forward(autograd::Variable(images));
    r.loss_sum += ops::softmax_cross_entropy(logits, labels).data()[0] * static_cast<double>(n);
    const float* z = logits.data().data();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t predicted = kernels::predicted_class(z + i * num_classes, num_classes);
      ++r.confusion[static_cast<size_t>(labels[static_cast<size_t>(i)])]
                   [static_cast<size_t>(predicted)];
    }
  }
  return r;
}
}  // namespace

std::vector<double> EvalTally::to_sums() const {
  std::vector<double> sums{loss_sum, static_cast<double>(examples)};
  for (const auto& row : confusion) {
    for (const int64_t c : row) sums.push_back(static_cast<double>(c));
  }
  return sums;
}

EvalTally EvalTally::from_sums(const std::vector<double>& sums, int64_t num_classes) {
  const auto k = static_cast<size_t>(num_classes);
  TCNN_CHECK(sums.size() == 2 + k * k, "evaluate: expected ", 2 + k * k, " sums, got ",
             sums.size());
  EvalTally t{.loss_sum = sums[0], .examples = static_cast<int64_t>(sums[1]), .confusion = {}};
  t.confusion.assign(k, std::vector<int64_t>(k, 0));
  size_t i = 2;
  for (auto& row : t.confusion) {
    for (int64_t& c : row) c = static_cast<int64_t>(sums[i++]);
  }
  return t;
}

EvalTally evaluate_part(std::span<nn::Sequential* const> models, const data::Dataset& dataset,
                        const data::Normalization& norm, int64_t num_classes, int64_t batch_size,
                        int64_t begin, int64_t end) {
  TCNN_CHECK(!models.empty(), "evaluate: expected at least one model");
  const int64_t total = end - begin;
  const int parts = static_cast<int>(
      std::min<int64_t>(static_cast<int64_t>(models.size()), std::max<int64_t>(total, 1)));
  std::vector<Tally> tallies(static_cast<size_t>(parts));
  // batch_size examples in flight in all: the same activation memory as one model's batches.
  const int64_t part_batch = std::max<int64_t>(1, batch_size / parts);
  const auto set_training = [&](bool on) {
    for (nn::Sequential* m : models.first(static_cast<size_t>(parts))) m->set_training(on);
  };
  set_training(false);
  try {
    runtime::parallel(
        parts,
        [&](const runtime::Crew& crew) {
          // With fewer threads than asked for, thread t takes parts t, t + nt, ...
          for (int part = crew.thread; part < parts; part += crew.size) {
            const core::Block b = core::block(total, part, parts);
            tallies[static_cast<size_t>(part)] =
                tally(*models[static_cast<size_t>(part)], dataset, norm, num_classes, part_batch,
                      begin + b.begin, begin + b.end);
          }
        },
        runtime::Split::Free);
  } catch (...) {
    set_training(true);
    throw;
  }
  set_training(true);

  EvalTally r{.loss_sum = 0.0, .examples = total, .confusion = {}};
  r.confusion.assign(static_cast<size_t>(num_classes),
                     std::vector<int64_t>(static_cast<size_t>(num_classes), 0));
  for (const Tally& part : tallies) {
    r.loss_sum += part.loss_sum;
    for (size_t a = 0; a < r.confusion.size(); ++a) {
      for (size_t b = 0; b < r.confusion.size(); ++b) r.confusion[a][b] += part.confusion[a][b];
    }
  }
  return r;
}

EvalResult summarize(const EvalTally& tally) {
  EvalResult r;
  r.confusion = tally.confusion;
  r.examples = tally.examples;
  int64_t correct = 0;
  for (size_t k = 0; k < r.confusion.size(); ++k) {
    const auto& row = r.confusion[k];
    const int64_t count = std::accumulate(row.begin(), row.end(), int64_t{0});
    correct += row[k];
    r.per_class_accuracy.push_back(count ? static_cast<double>(row[k]) / static_cast<double>(count)
                                         : 0.0);
  }
  r.loss = r.examples ? tally.loss_sum / static_cast<double>(r.examples) : 0.0;
  r.accuracy = r.examples ? static_cast<double>(correct) / static_cast<double>(r.examples) : 0.0;
  return r;
}

EvalResult evaluate(nn::Sequential& model, const data::Dataset& dataset,
                    const data::Normalization& norm, int64_t num_classes, int64_t batch_size) {
  nn::Sequential* one[] = {&model};
  return evaluate(one, dataset, norm, num_classes, batch_size);
}

EvalResult evaluate(std::span<nn::Sequential* const> models, const data::Dataset& dataset,
                    const data::Normalization& norm, int64_t num_classes, int64_t batch_size) {
  return summarize(
      evaluate_part(models, dataset, norm, num_classes, batch_size, 0, dataset.size()));
}

}  // namespace tinycnn::train
