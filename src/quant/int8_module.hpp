// An int8 network as a model the float commands can run: a Sequential holding one layer (kind
// Custom, type "int8") whose forward is quant::run — so evaluation and prediction take an int8
// model as they take a float one. It has no parameters and no ONNX form.
#pragma once

#include <memory>

#include "nn/sequential.hpp"
#include "quant/qnet.hpp"

namespace tinycnn::quant {

std::unique_ptr<nn::Sequential> as_model(QNet net);

}  // namespace tinycnn::quant
