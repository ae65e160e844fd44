// Weight initialisation.
#include "nn/init.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace tinycnn::nn {

WeightInit weight_init_from_string(std::string_view name) {
  if (name == "he_normal") return WeightInit::HeNormal;
  if (name == "pytorch") return WeightInit::PyTorch;
  TCNN_CHECK(false, "weight_init: expected one of he_normal, pytorch, got '", std::string(name),
             "'");
  return WeightInit::HeNormal;
}

const char* to_string(WeightInit init) {
  switch (init) {
    case WeightInit::HeNormal:
      return "he_normal";
    case WeightInit::PyTorch:
      return "pytorch";
    case WeightInit::None:
      return "none";
  }
  return "?";
}

void he_normal_(tensor::Tensor& weight, int64_t fan_in, core::Rng& rng) {
  TCNN_CHECK(fan_in > 0, "he_normal: expected fan_in > 0, got ", fan_in);
  const double stddev = std::sqrt(2.0 / static_cast<double>(fan_in));
  for (int64_t i = 0; i < weight.numel(); ++i) {
    weight[i] = static_cast<float>(rng.normal(0.0, stddev));
  }
}

void uniform_(tensor::Tensor& t, double bound, core::Rng& rng) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    t[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  }
}

void init_parameters(WeightInit init, tensor::Tensor& weight, tensor::Tensor* bias, int64_t fan_in,
                     core::Rng& rng) {
  TCNN_CHECK(fan_in > 0, "init: expected fan_in > 0, got ", fan_in);
  if (init == WeightInit::HeNormal) {
    he_normal_(weight, fan_in, rng);
    if (bias) bias->fill(0.0f);
    return;
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  uniform_(weight, bound, rng);
  if (bias) uniform_(*bias, bound, rng);
}

}  // namespace tinycnn::nn
