// all_close: reports the shape mismatch or the worst element.
#include "support/allclose.hpp"

#include <cmath>

namespace tinycnn::testing {

::testing::AssertionResult all_close(const tensor::Tensor& actual, const tensor::Tensor& expected,
                                     double rtol, double atol) {
  if (!actual.defined() || !expected.defined()) {
    return ::testing::AssertionFailure() << "undefined tensor";
  }
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << actual.shape().to_string()
                                         << " != expected " << expected.shape().to_string();
  }
  int64_t failures = 0, worst = -1;
  double worst_excess = 0.0;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual[i], e = expected[i];
    const double excess = std::abs(a - e) - (atol + rtol * std::abs(e));
    if (excess > 0.0 || std::isnan(a) != std::isnan(e)) {
      ++failures;
      if (worst < 0 || excess > worst_excess) {
        worst = i;
        worst_excess = excess;
      }
    }
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << failures << " of " << actual.numel() << " elements differ; worst at index " << worst
         << ": got " << actual[worst] << ", expected " << expected[worst] << " (rtol " << rtol
         << ", atol " << atol << ")";
}

}  // namespace tinycnn::testing
