// The model a command runs for inference from `--checkpoint`: a float checkpoint loaded into the
// config's model, or an int8 model (tinycnn quantize) recognised by its metadata, run by the
// integer kernels. Either way a Sequential that eval and predict run alike.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/spec.hpp"
#include "nn/sequential.hpp"
#include "quant/int8_file.hpp"

namespace tinycnn::cli {

struct LoadedModel {
  std::unique_ptr<nn::Sequential> net;
  std::vector<std::string> classes;  // the file's, when it names them
  bool int8 = false;
};

// An int8 file must have been quantized from a config with the same input and layers as
// `spec` (else a Runtime error naming the file).
LoadedModel load_for_inference(const model::ModelSpec& spec, const std::string& checkpoint);

// The int8 model in `checkpoint`, checked to be of `spec` as above.
quant::Int8Model load_int8_of(const model::ModelSpec& spec, const std::string& checkpoint);

}  // namespace tinycnn::cli
