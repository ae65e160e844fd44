// Mixup and CutMix draws; see mixing.hpp.
#include "data/mixing.hpp"

#include <algorithm>
#include <cmath>

#include "core/rng.hpp"

namespace tinycnn::data {

namespace {
constexpr uint64_t kMixingStream = 0x6D69782D75702D31ULL;

// A generator for one (seed, epoch, example): splitmix64's finaliser over the three.
core::Rng mixing_rng(uint64_t seed, int64_t epoch, int64_t example) {
  uint64_t z = (seed ^ kMixingStream) ^ (static_cast<uint64_t>(epoch) * 0x9E3779B97F4A7C15ULL) ^
               (static_cast<uint64_t>(example) * 0xD1B54A32D192ED03ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return core::Rng(z ^ (z >> 31));
}
}  // namespace

MixDraw draw_mix(const Mixing& mixing, uint64_t seed, int64_t epoch, int64_t example,
                 int64_t examples, int64_t height, int64_t width) {
  core::Rng rng = mixing_rng(seed, epoch, example);
  MixDraw d;
  d.partner = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(examples)));
  const bool both = mixing.mixup_alpha > 0 && mixing.cutmix_alpha > 0;
  d.cutmix = both ? (rng.next_u64() >> 63) != 0 : mixing.cutmix_alpha > 0;
  const double alpha = d.cutmix ? mixing.cutmix_alpha : mixing.mixup_alpha;
  d.lambda = rng.beta(alpha, alpha);
  if (!d.cutmix) return d;
  const double side = std::sqrt(1.0 - d.lambda);
  const auto cut_h = static_cast<int64_t>(static_cast<double>(height) * side);
  const auto cut_w = static_cast<int64_t>(static_cast<double>(width) * side);
  const auto cy = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(height)));
  const auto cx = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(width)));
  d.y0 = std::clamp<int64_t>(cy - cut_h / 2, 0, height);
  d.y1 = std::clamp<int64_t>(cy + cut_h / 2, 0, height);
  d.x0 = std::clamp<int64_t>(cx - cut_w / 2, 0, width);
  d.x1 = std::clamp<int64_t>(cx + cut_w / 2, 0, width);
  const auto area = static_cast<double>((d.y1 - d.y0) * (d.x1 - d.x0));
  d.lambda = 1.0 - area / static_cast<double>(height * width);
  return d;
}

}  // namespace tinycnn::data
