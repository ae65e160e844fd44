// Post-training static quantization of a trained float model (docs/deploy.md): the int8
// network's structure from the model's layers (plan), activation ranges from a calibration set
// run through the float model (by the calibration method, calibration.hpp), per-output-channel
// symmetric int8 weights with batch norm folded in, int32 biases. Layer kinds without an int8
// form (tanh, sigmoid, layernorm, groupnorm, a batch norm not after a conv or linear layer) are
// refused by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "nn/sequential.hpp"
#include "quant/calibration.hpp"
#include "quant/qnet.hpp"

namespace tinycnn::quant {

// The int8 network's layers for `model` (input shape `input`), weights and quantizations unset.
// Throws core::Error (Invalid) naming a layer that has no int8 form.
QNet plan(nn::Sequential& model, const tensor::Shape& input);

// How well each quantized layer's output follows the float model's on the calibration set.
struct LayerError {
  std::string name;    // the QLayer's
  std::string covers;  // "conv2d + batchnorm2d + relu"
  double sqnr_db = 0;  // 10 log10(sum f^2 / sum (f - q)^2); +inf when equal
};

struct QuantizeResult {
  QNet net;
  int64_t calibration_images = 0;
  Method method = Method::MinMax;
  std::vector<LayerError> errors;  // in network order (blocks' branches inside)
};

// `model` (trained, float) quantized with the ranges it produces on `calibration`'s first
// `images` examples (normalised by `norm`), in batches of 100, chosen by `method`.
QuantizeResult quantize(nn::Sequential& model, const tensor::Shape& input,
                        const data::Dataset& calibration, const data::Normalization& norm,
                        int64_t images, Method method = Method::MinMax);

}  // namespace tinycnn::quant
