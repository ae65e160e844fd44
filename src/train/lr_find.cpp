// The range test: the training set shuffled as `train` shuffles its first epoch, a batch per
// step (a new shuffle after each pass), the config's optimizer with its rate overridden.
#include "train/lr_find.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "model/builder.hpp"
#include "train/data_parallel.hpp"
#include "train/dataset.hpp"
#include "train/memory_check.hpp"
#include "train/optimizer_config.hpp"

namespace tinycnn::train {

namespace {
// Index of the steepest fall of `s` against log(lr) before `last` (central differences), the
// first tenth of the points left out (at least 2: the average of a few losses is noise); `last`
// itself when there are too few.
size_t steepest(const std::vector<double>& lrs, const std::vector<double>& s, size_t last) {
  size_t best = last;
  double slope = 0;
  for (size_t i = std::max<size_t>(2, s.size() / 10); i + 1 <= last && i + 1 < s.size(); ++i) {
    const double d = (s[i + 1] - s[i - 1]) / (std::log(lrs[i + 1]) - std::log(lrs[i - 1]));
    if (d < slope) slope = d, best = i;
  }
  return best;
}
void check_options(const LrFindOptions& o) {
  TCNN_CHECK(o.start > 0 && std::isfinite(o.start) && std::isfinite(o.end) && o.start < o.end,
             "lr-find: expected 0 < --start < --end, got --start ", o.start, " and --end ", o.end);
  TCNN_CHECK(o.steps >= 2 && o.steps <= 100000, "lr-find: expected --steps in 2..100000, got ",
             o.steps);
}

void reshuffle(std::vector<int64_t>& order, core::Rng& rng) {
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(order);
}

// The two suggestions, from the recorded curve.
void suggest(LrFindResult& r) {
  TCNN_CHECK_RUNTIME(!r.lrs.empty(),
                     "lr-find: the loss was not finite at the first step: the "
                     "model or the data is broken");
  const auto at_min = static_cast<size_t>(std::min_element(r.smoothed.begin(), r.smoothed.end()) -
                                          r.smoothed.begin());
  r.min_lr = r.lrs[at_min];
  r.steepest_lr = r.lrs[steepest(r.lrs, r.smoothed, at_min)];
}
}  // namespace

LrFindResult find_lr(const model::ModelSpec& spec, const LrFindOptions& o) {
  check_options(o);
  const model::TrainingSpec& t = spec.training;
  check_memory(estimate_memory(spec, Purpose::Training, t.batch_size,
                               split_bytes(t.dataset, t.data_dir, Split::Train)),
               "lr-find on " + spec.name);
  auto model = model::build_model(spec);
  const int64_t classes = model->output_shape(model::input_shape(spec))[0];
  const data::Dataset train_set =
      load_split(spec, t.data_dir, Split::Train, classes, o.limit_train);
  auto optimizer = make_optimizer(t.optimizer, model->parameters());
  DataParallelStep step(spec, *model, omp_get_max_threads());
  const data::Normalization norm = normalization(t);
  const data::Augment augment = augmentation(t);
  core::Rng rng(t.seed + 1);
  std::vector<int64_t> order(static_cast<size_t>(train_set.size()));
  const int64_t batch = std::min(t.batch_size, train_set.size());
  const int64_t per_pass = train_set.size() / batch;  // whole batches only
  LrFindResult r;
  double average = 0, lowest = HUGE_VAL;
  for (int64_t i = 0; i < o.steps; ++i) {
    const int64_t pass = i / per_pass, b = i % per_pass;
    if (b == 0) reshuffle(order, rng);
    const double lr = o.start * std::pow(o.end / o.start,
                                         static_cast<double>(i) / static_cast<double>(o.steps - 1));
    optimizer->set_lr(lr);
    const std::vector<int64_t> indices(order.begin() + b * batch, order.begin() + (b + 1) * batch);
    const StepResult result = step.run(train_set, indices, norm, augment, pass);
    const double loss = result.loss_sum / static_cast<double>(batch);
    if (!std::isfinite(loss)) {
      r.diverged = true;
      break;
    }
    optimizer->step();
    average = o.beta * average + (1 - o.beta) * loss;
    const double smoothed = average / (1 - std::pow(o.beta, static_cast<double>(i + 1)));
    r.lrs.push_back(lr);
    r.losses.push_back(loss);
    r.smoothed.push_back(smoothed);
    lowest = std::min(lowest, smoothed);
    if (i > 0 && smoothed > o.diverge * lowest) {
      r.diverged = true;
      break;
    }
  }
  suggest(r);
  return r;
}

}  // namespace tinycnn::train
