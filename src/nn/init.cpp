// He-normal initialisation.
#include "nn/init.hpp"

#include <cmath>

#include "core/error.hpp"

namespace tinycnn::nn {

void he_normal_(tensor::Tensor& weight, int64_t fan_in, core::Rng& rng) {
  TCNN_CHECK(fan_in > 0, "he_normal: expected fan_in > 0, got ", fan_in);
  const double stddev = std::sqrt(2.0 / static_cast<double>(fan_in));
  for (int64_t i = 0; i < weight.numel(); ++i) {
    weight[i] = static_cast<float>(rng.normal(0.0, stddev));
  }
}

}  // namespace tinycnn::nn
