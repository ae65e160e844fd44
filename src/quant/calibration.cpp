// Calibration ranges; see calibration.hpp.
#include "quant/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tinycnn::quant {

namespace {
constexpr double kCut = 1e-4;  // percentile: the share cut off at each end

// KL(P || Q) of histogram `p` clipped to its first `kept` bins (the rest added to the last)
// against the quantization of those bins alone into `levels` levels — each level's total spread
// evenly over its bins that P does not leave empty — so that what clipping moves costs; a bin Q
// leaves empty where P is not gets a small floor instead of an infinite divergence.
double clipped_divergence(const std::vector<double>& p, int64_t kept, int64_t levels) {
  std::vector<double> clipped(p.begin(), p.begin() + kept);
  for (auto i = static_cast<size_t>(kept); i < p.size(); ++i) clipped.back() += p[i];
  double total = 0;
  for (const double v : clipped) total += v;
  if (total <= 0) return 0;
  std::vector<double> q(clipped.size(), 0.0);
  for (int64_t level = 0; level < levels; ++level) {
    const int64_t begin = level * kept / levels, end = (level + 1) * kept / levels;
    double sum = 0;
    int64_t nonzero = 0;
    for (int64_t i = begin; i < end; ++i) {
      sum += p[static_cast<size_t>(i)];
      nonzero += clipped[static_cast<size_t>(i)] > 0 ? 1 : 0;
    }
    for (int64_t i = begin; i < end; ++i) {
      if (clipped[static_cast<size_t>(i)] > 0) {
        q[static_cast<size_t>(i)] = sum / static_cast<double>(nonzero);
      }
    }
  }
  double q_total = 0;
  for (const double v : q) q_total += v;
  const double floor = 1e-4 * q_total / static_cast<double>(q.size()) + 1e-12;
  double kl = 0;
  for (size_t i = 0; i < clipped.size(); ++i) {
    if (clipped[i] <= 0) continue;
    const double pi = clipped[i] / total, qi = std::max(q[i], floor) / q_total;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}
}  // namespace

const char* method_name(Method m) {
  switch (m) {
    case Method::MinMax:
      return "minmax";
    case Method::Percentile:
      return "percentile";
    case Method::Entropy:
      return "entropy";
  }
  return "minmax";
}

std::optional<Method> parse_method(const std::string& name) {
  for (const Method m : {Method::MinMax, Method::Percentile, Method::Entropy}) {
    if (name == method_name(m)) return m;
  }
  return std::nullopt;
}

void Observed::add_range(const tensor::Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = t[i];
    lo_ = seen_ ? std::min(lo_, v) : v;
    hi_ = seen_ ? std::max(hi_, v) : v;
    seen_ = true;
  }
}

double Observed::span() const {
  return magnitudes() ? std::max(-lo_, hi_) : std::max(std::abs(lo_), std::abs(hi_));
}

void Observed::add_histogram(const tensor::Tensor& t) {
  bins_.resize(static_cast<size_t>(kBins), 0.0);
  const double width = span() / static_cast<double>(kBins);
  if (width <= 0) return;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = std::abs(static_cast<double>(t[i]));
    if (v == 0) continue;  // a real 0 is exact at any range (the zero point): it costs nothing
    const auto bin = std::min<int64_t>(static_cast<int64_t>(v / width), kBins - 1);
    bins_[static_cast<size_t>(bin)] += 1;
  }
}

std::pair<double, double> Observed::range(Method m) const {
  if (m == Method::MinMax || bins_.empty() || span() <= 0) return {lo_, hi_};
  return m == Method::Percentile ? percentile() : entropy();
}

// The end of the bins holding all but kCut of the values (of the magnitudes for a signed
// tensor, cutting both ends alike).
std::pair<double, double> Observed::percentile() const {
  double total = 0;
  for (const double v : bins_) total += v;
  double below = 0;
  int64_t end = kBins;
  for (int64_t i = 0; i < kBins; ++i) {
    below += bins_[static_cast<size_t>(i)];
    if (below >= (1.0 - kCut) * total) {
      end = i + 1;
      break;
    }
  }
  const double t = span() * static_cast<double>(end) / static_cast<double>(kBins);
  if (magnitudes()) return {std::max(lo_, -t), std::min(hi_, t)};
  return hi_ > 0 ? std::pair{lo_, std::min(hi_, t)} : std::pair{std::max(lo_, -t), hi_};
}

// The threshold among 128 ... 2048 bins (steps of 16) with the least divergence; 256 levels
// for a one-signed tensor, 128 a side for a signed one.
std::pair<double, double> Observed::entropy() const {
  const int64_t levels = magnitudes() ? 128 : 256;
  int64_t best = kBins;
  double least = std::numeric_limits<double>::infinity();
  for (int64_t kept = levels; kept <= kBins; kept += 16) {
    const double kl = clipped_divergence(bins_, kept, levels);
    if (kl < least) {
      least = kl;
      best = kept;
    }
  }
  const double t = span() * static_cast<double>(best) / static_cast<double>(kBins);
  if (magnitudes()) return {std::max(lo_, -t), std::min(hi_, t)};
  return hi_ > 0 ? std::pair{lo_, std::min(hi_, t)} : std::pair{std::max(lo_, -t), hi_};
}

}  // namespace tinycnn::quant
