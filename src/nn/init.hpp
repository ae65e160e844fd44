// Weight initialisers, drawing from an explicit Rng.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/rng.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::nn {

// How a layer's weight and bias are drawn (config `training.weight_init`).
enum class WeightInit {
  HeNormal,  // weights N(0, sqrt(2 / fan_in)), biases zero (the default, docs/config.md)
  PyTorch,   // PyTorch's nn.Conv2d / nn.Linear default: weights and biases U(-b, b), b =
             // 1/sqrt(fan_in)
  None,      // no weights at all: the layer knows its shapes and costs but cannot run
             // (shape analysis, where a model's weights may not even fit in memory)
};

// "he_normal" | "pytorch"; throws on anything else.
WeightInit weight_init_from_string(std::string_view name);
const char* to_string(WeightInit init);

// He-normal (Kaiming): N(0, sqrt(2 / fan_in)), suited to ReLU networks.
void he_normal_(tensor::Tensor& weight, int64_t fan_in, core::Rng& rng);
// U(-bound, bound).
void uniform_(tensor::Tensor& t, double bound, core::Rng& rng);

// Fills weight (and bias, when given) by `init`: the weight first, then the bias.
void init_parameters(WeightInit init, tensor::Tensor& weight, tensor::Tensor* bias, int64_t fan_in,
                     core::Rng& rng);

}  // namespace tinycnn::nn
