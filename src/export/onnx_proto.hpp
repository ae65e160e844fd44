// The pieces both ONNX exporters build models from: node attributes, initializers, value
// infos, metadata, and the last step — ONNX's checker and strict shape inference, then the bytes.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "export/onnx_export.hpp"

namespace tinycnn::exporter::proto {

void ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);
void one_int(onnx::NodeProto& node, const std::string& name, int64_t value);
void one_float(onnx::NodeProto& node, const std::string& name, float value);

// A node of `graph` whose one output is named `output`.
onnx::NodeProto& node(onnx::GraphProto& graph, const std::string& op, const std::string& output,
                      const std::vector<std::string>& inputs, const std::string& domain = "");

// An initializer of `dims` (none: a scalar) holding `bytes` little-endian values of `type`.
void raw_initializer(onnx::GraphProto& graph, const std::string& name,
                     onnx::TensorProto::DataType type, const std::vector<int64_t>& dims,
                     const void* data, size_t bytes);
void int64_initializer(onnx::GraphProto& graph, const std::string& name,
                       const std::vector<int64_t>& values);

// A tensor [N, dims...] of `type` with N symbolic.
void tensor_value(onnx::ValueInfoProto& v, const std::string& name,
                  const std::vector<int64_t>& dims,
                  onnx::TensorProto::DataType type = onnx::TensorProto::FLOAT);

// A model of opset kOnnxOpset (and `extra_domains` at version 1) with tinycnn as its producer
// and `meta` as metadata; its graph named after the model.
onnx::ModelProto begin_model(const OnnxMetadata& meta,
                             const std::vector<std::string>& extra_domains = {});

// Checks `model` with ONNX's checker and strict shape inference and serialises it; throws
// core::Error (Runtime) with ONNX's reason when it is rejected.
OnnxModel finish(onnx::ModelProto& model);

}  // namespace tinycnn::exporter::proto
