// The arithmetic a layer's products run in. Float32: float32 operands and sums. Bf16: mixed
// precision, bfloat16 operands (bf16.hpp) multiplied with float32 sums; the tensors around the
// products (master weights, activations, gradients) stay float32.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace tinycnn::kernels {

enum class Precision { Float32, Bf16 };

inline constexpr std::array<std::string_view, 2> kPrecisionNames = {"float32", "bf16"};

inline std::string_view to_string(Precision p) {
  return kPrecisionNames[p == Precision::Bf16 ? 1 : 0];
}

// Throws core::Error (Invalid) naming the accepted values for anything else.
inline Precision precision_from_string(std::string_view name) {
  if (name == kPrecisionNames[0]) return Precision::Float32;
  if (name == kPrecisionNames[1]) return Precision::Bf16;
  TCNN_CHECK(false, "precision: expected one of float32, bf16, got '", name, "'");
  return Precision::Float32;
}

}  // namespace tinycnn::kernels
