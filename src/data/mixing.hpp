// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) as the data set applies them. Each
// training example is mixed with a partner drawn from the whole training set, with a weight
// lambda ~ Beta(alpha, alpha) on its own label: mixup blends the two images (lambda * own +
// (1 - lambda) * partner); CutMix pastes the partner's box of area (1 - lambda) * H * W (at a
// random centre, clipped at the borders; lambda is then recomputed from the clipped box). With
// both configured, each example takes one of them with probability 1/2. Every draw is a function
// of (seed, epoch, example) alone — not of the batch, the slice or the rank — so a resumed run
// mixes exactly as the uninterrupted one, at any thread or process count.
#pragma once

#include <cstdint>
#include <vector>

namespace tinycnn::data {

// training.augment.mixup.alpha / cutmix.alpha: 0 is off.
struct Mixing {
  double mixup_alpha = 0;
  double cutmix_alpha = 0;
  bool any() const { return mixup_alpha > 0 || cutmix_alpha > 0; }
};

// Example `example`'s mix in `epoch`.
struct MixDraw {
  int64_t partner = 0;
  bool cutmix = false;
  double lambda = 1;  // the weight of the example's own label (and, for mixup, its pixels)
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;  // CutMix: the partner's box, rows and columns [0, 1)
};
MixDraw draw_mix(const Mixing& mixing, uint64_t seed, int64_t epoch, int64_t example,
                 int64_t examples, int64_t height, int64_t width);

// The targets of a mixed batch: example b's is lambda[b] on its label and 1 - lambda[b] on
// other[b] (its partner's label).
struct MixedLabels {
  std::vector<int32_t> other;
  std::vector<float> lambda;
};

}  // namespace tinycnn::data
