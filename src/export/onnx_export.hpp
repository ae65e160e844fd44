// A model as an ONNX model (opset 13), written with the ONNX project's own protobuf schema
// (Debian's libonnx-dev) and checked by its checker and strict shape inference before it is
// returned. Graph input "input" [N, C, H, W] (the normalised tensor; N symbolic), output
// "logits" [N, K]. One node per layer where ONNX has one: Conv, MaxPool, AveragePool (a padded
// one as an explicit zero Pad and an unpadded AveragePool: count_include_pad's numbers on any
// runtime), GlobalAveragePool, Flatten, Gemm, Relu, Tanh, Sigmoid, BatchNormalization (inference
// form, running statistics as initializers), Add for a residual block; dropout is omitted.
// Opset 13 has no LayerNormalization or GroupNormalization: layernorm and groupnorm are the
// primitive ops they are — Reshape to [N, groups, -1, 1], InstanceNormalization (each group a
// channel, no affine), Reshape back, Mul and Add by the affine — the form OpenCV 4.6 loads (a
// ReduceMean / Sub / Div form does not: its Div of two computed tensors fails to import).
// Initializers carry the checkpoint's names ("layers.0.weight", "layers.3.layers.1.running_var").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/sequential.hpp"

namespace tinycnn::exporter {

// The largest ONNX file protobuf can write: a message is under 2 GiB.
inline constexpr int64_t kMaxOnnxBytes = int64_t{1} << 31;

// Throws core::Error (Invalid) when the model's weights would not fit in one ONNX file: a
// protobuf message is under 2 GiB. Needs no weights (a model built with Weights::None).
void check_exportable_size(const nn::Sequential& net);

inline constexpr int kOnnxOpset = 13;

struct OnnxMetadata {
  std::string model_name;
  std::vector<std::string> classes;  // the K outputs' names, or empty
  std::vector<double> mean, std;     // the normalisation applied before "input"
};

struct OnnxModel {
  std::string bytes;  // the serialised ModelProto
  int64_t nodes = 0, initializers = 0;
};

// `input`: one example's shape [C, H, W]. Throws core::Error naming the layer when a layer has
// no ONNX form, and when ONNX's checker or shape inference rejects the model.
OnnxModel export_onnx(nn::Sequential& net, const tensor::Shape& input, const OnnxMetadata& meta);

}  // namespace tinycnn::exporter
