// An int8 model (tinycnn quantize) as an ONNX model in the operator form OpenCV 4.6's DNN module
// loads — ONNX Runtime's "QOperator" form: QuantizeLinear of the float input, QLinearConv for
// each convolution and each hidden linear layer (a 1x1 convolution over [N, F, 1, 1]; the ReLU
// folded into the output's zero point, as tinycnn's epilogue clamps there), MaxPool and Reshape
// on the u8 tensors, QLinearAdd for a residual sum, QLinearAveragePool and
// QLinearGlobalAveragePool (these three of the com.microsoft domain, opset 1), and the last
// linear layer as DequantizeLinear → Flatten → Gemm on the dequantized int8 weights, so the
// logits are float as tinycnn's are. Each u8 tensor "<t>_quantized" has its scale and zero
// point as the scalars "<t>_scale" and "<t>_zero_point": OpenCV 4.6 finds an int8 tensor's
// quantization by these names. Weights are int8 per output channel (zero points 0), biases
// int32 in units of input scale × weight scale. The graph's input and output are those of the
// float export ("input" [N, C, H, W] normalised, "logits" [N, K]).
#pragma once

#include "export/onnx_export.hpp"
#include "quant/qnet.hpp"

namespace tinycnn::exporter {

// Throws core::Error naming the layer when it has no such form, and when ONNX's checker or
// shape inference rejects the model.
OnnxModel export_int8_onnx(const quant::QNet& net, const OnnxMetadata& meta);

}  // namespace tinycnn::exporter
