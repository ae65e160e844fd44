// The int8 model file (docs/checkpoint.md, "int8 models"): safetensors with each conv / linear
// layer's int8 weights (`<layer>.weight`, I8, the float layer's shape), per-channel scales
// (`<layer>.weight_scale`, F32) and int32 biases (`<layer>.bias`, I32) under the float layer's
// name, and metadata: format `tinycnn-int8-1`, the config, each quantized tensor's scale and
// zero point, the calibration (images, method, each layer's SQNR) and the class names.
#pragma once

#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "model/spec.hpp"
#include "quant/quantize.hpp"

namespace tinycnn::quant {

inline constexpr const char* kInt8Format = "tinycnn-int8-1";

// Whether `path` holds an int8 model (its metadata says so); false for anything else, a float
// checkpoint included. Reads the header only.
bool is_int8_file(const std::string& path);

void save_int8(const std::string& path, const QuantizeResult& result,
               const std::string& config_json, const std::vector<std::string>& classes);

struct Int8Model {
  QNet net;
  model::ModelSpec spec;  // the config it was quantized from (its metadata's)
  std::vector<std::string> classes;
  int64_t calibration_images = 0;
};

// Reads and checks an int8 model: errors name the file and what is wrong (ErrorKind::Runtime).
Int8Model load_int8(const std::string& path);
// The same from a safetensors file already read; `what` names it in errors.
Int8Model int8_from(const io::SafetensorsFile& file, const std::string& what);

}  // namespace tinycnn::quant
