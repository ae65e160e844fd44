// Finite differences; see gradcheck.hpp.
#include "check/finite_differences.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

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

FiniteDifferences finite_differences(tensor::Tensor& values, const tensor::Tensor& analytic,
                                     const Objective& objective, const FiniteDifferenceOptions& o) {
  TCNN_CHECK(analytic.defined() && analytic.numel() == values.numel(),
             "gradcheck: expected an analytic gradient of ", values.numel(), " entries");
  std::vector<uint8_t> base_signature, plus_signature, minus_signature;
  (void)objective(&base_signature);
  const bool signed_kinks = !base_signature.empty();
  FiniteDifferences out;
  float* x = values.data();
  for (const int64_t j : chosen_entries(values.numel(), o)) {
    const float saved = x[j];
    if (std::abs(saved) < o.skip_below) continue;
    // The nudged values are floats: the step is their exact difference, not 2 * eps.
    const float up = static_cast<float>(saved + o.eps), down = static_cast<float>(saved - o.eps);
    const double step = static_cast<double>(up) - static_cast<double>(down);
    TCNN_CHECK(step > 0, "gradcheck: a nudge of ", o.eps, " does not change the float ", saved);
    x[j] = up;
    const double plus = objective(signed_kinks ? &plus_signature : nullptr);
    x[j] = down;
    const double minus = objective(signed_kinks ? &minus_signature : nullptr);
    x[j] = saved;
    if (signed_kinks && (plus_signature != base_signature || minus_signature != base_signature)) {
      ++out.skipped;
      continue;
    }
    out.entries.push_back({j, analytic[j], (plus - minus) / step});
  }
  return out;
}

}  // namespace tinycnn::check
