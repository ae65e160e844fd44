// Weight initialisers, drawing from an explicit Rng.
#pragma once

#include <cstdint>

#include "core/rng.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::nn {

// He-normal (Kaiming): N(0, sqrt(2 / fan_in)), suited to ReLU networks.
void he_normal_(tensor::Tensor& weight, int64_t fan_in, core::Rng& rng);

}  // namespace tinycnn::nn
