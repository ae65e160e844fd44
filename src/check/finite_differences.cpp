// Finite differences; see gradcheck.hpp.
#include "check/finite_differences.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tinycnn::check {

namespace {
std::vector<int64_t> chosen_entries(int64_t numel, const FiniteDifferenceOptions& o) {
  std::vector<int64_t> all(static_cast<size_t>(numel));
  std::iota(all.begin(), all.end(), 0);
  if (numel <= o.all_up_to || numel <= o.sample) return all;
  core::Rng rng(o.seed);
  for (size_t i = 0; i < static_cast<size_t>(o.sample); ++i) {  // partial Fisher-Yates
    std::swap(all[i], all[i + rng.uniform_int(all.size() - i)]);
  }
  all.resize(static_cast<size_t>(o.sample));
  std::sort(all.begin(), all.end());
  return all;
}
}  // namespace

double relative_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1e-3});
}

namespace {
// The central difference of `objective` at x[j] with nudge `eps`, or nothing where the nudges
// cross a kink (a signature that differs from `base`).
std::optional<double> central_difference(float* x, int64_t j, double eps,
                                         const Objective& objective,
                                         const std::vector<uint8_t>* base) {
  std::vector<uint8_t> plus_signature, minus_signature;
  const float saved = x[j];
  // The nudged values are floats: the step is their exact difference, not 2 * eps.
  const float up = static_cast<float>(saved + eps), down = static_cast<float>(saved - eps);
  const double step = static_cast<double>(up) - static_cast<double>(down);
  TCNN_CHECK(step > 0, "gradcheck: a nudge of ", eps, " does not change the float ", saved);
  x[j] = up;
  const double plus = objective(base ? &plus_signature : nullptr);
  x[j] = down;
  const double minus = objective(base ? &minus_signature : nullptr);
  x[j] = saved;
  if (base && (plus_signature != *base || minus_signature != *base)) return std::nullopt;
  return (plus - minus) / step;
}
}  // namespace

FiniteDifferences finite_differences(tensor::Tensor& values, const tensor::Tensor& analytic,
                                     const Objective& objective, const FiniteDifferenceOptions& o) {
  TCNN_CHECK(analytic.defined() && analytic.numel() == values.numel(),
             "gradcheck: expected an analytic gradient of ", values.numel(), " entries");
  std::vector<uint8_t> base_signature;
  (void)objective(&base_signature);
  const std::vector<uint8_t>* base = base_signature.empty() ? nullptr : &base_signature;
  FiniteDifferences out;
  float* x = values.data();
  for (const int64_t j : chosen_entries(values.numel(), o)) {
    if (std::abs(x[j]) < o.skip_below) continue;
    const double a = analytic[j];
    std::optional<double> estimate = central_difference(x, j, o.eps, objective, base);
    if (!estimate) {
      ++out.skipped;
      continue;
    }
    double nudge = o.eps;
    if (o.refine_above > 0 && relative_error(a, *estimate) > o.refine_above) {
      const std::optional<double> quarter = central_difference(x, j, o.eps / 4, objective, base);
      const std::optional<double> sixteenth = central_difference(x, j, o.eps / 16, objective, base);
      if (!quarter || !sixteenth) {
        ++out.skipped;  // a kink within the nudge after all
        continue;
      }
      if (std::abs(*sixteenth - *quarter) >= std::abs(*quarter - *estimate)) {
        ++out.nonlinear;
        continue;
      }
      estimate = sixteenth;
      nudge = o.eps / 16;
    }
    out.entries.push_back({j, a, *estimate, nudge});
  }
  return out;
}

}  // namespace tinycnn::check
