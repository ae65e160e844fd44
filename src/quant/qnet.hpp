// An int8 network: the float model's layers as integer operations on u8 activations (held
// channels-last, NHWC, each pixel's channels padded to a multiple of 4; each
// tensor with a scale and zero point: real = scale * (q - zero)) and int8 weights (one scale
// per output channel, symmetric), accumulated in int32 and requantized to u8 in each layer's
// epilogue, where a following ReLU is a clamp. Batch norm is folded into the convolution or
// linear layer before it; dropout is the identity. The last layer's accumulators become float
// logits directly (softmax and the loss stay float). Built by quant::plan (the structure) and
// filled by quant::quantize (from a trained model and a calibration set) or quant::load_int8.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace tinycnn::quant {

// A u8 tensor's meaning: real = scale * (q - zero).
struct Quant {
  float scale = 1.0f;
  int32_t zero = 0;
};

struct QLayer {
  enum class Op { Conv, Linear, MaxPool, AvgPool, GlobalAvgPool, Flatten, Relu, Residual };
  Op op = Op::Conv;
  std::string name;                // its first float layer's ("layers.3"): its tensors' prefix
  std::vector<std::string> fused;  // the float layers it stands for, in order
  tensor::Shape input, output;     // per example
  // Conv: the window; pools too. Linear: a 1x1 conv over [F, 1, 1].
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, groups = 1;
  std::vector<int8_t> weight;        // [out, in / groups, kh, kw]
  std::vector<float> weight_scale;   // per output channel
  std::vector<int32_t> bias;         // per output channel, in units of in.scale * weight_scale
  std::vector<int32_t> weight_sums;  // per output channel (computed: the zero point's share)
  // (computed) channels-last forms: weights [kh * kw][c4][out rounded up to 16][4], 0-padded;
  // per output channel the zero point's and bias's offset and the requantizing multiplier
  std::vector<int8_t> weight_taps;
  std::vector<int32_t> offset;
  std::vector<float> multiplier;
  bool relu = false;                   // clamp at the output's zero
  bool float_output = false;           // the network's last layer: float logits
  std::vector<QLayer> main, shortcut;  // Residual
  Quant in, out;                       // Residual: out only (each branch ends in its own)
  int64_t out_channels() const { return output[0]; }
  bool has_weights() const { return op == Op::Conv || op == Op::Linear; }
};

struct QNet {
  tensor::Shape input;  // [C, H, W]
  Quant input_quant;
  std::vector<QLayer> layers;
};

// Called after each layer (blocks' branches too) with its output dequantized, [N, ...] floats.
using LayerObserver = std::function<void(const QLayer& layer, const tensor::Tensor& output)>;

// Called as each layer (blocks' branches too) starts and as it ends: a clock for profiling.
struct LayerClock {
  std::function<void(const QLayer&layer)> start, end;
};

// The logits [N, K] of normalised images [N, C, H, W]; the integers are the same at any thread
// count.
tensor::Tensor run(const QNet& net, const tensor::Tensor& images, const LayerObserver& observe = {},
                   const LayerClock& clock = {});

// Each weighted layer's computed fields from its weights and quantizations (after building or
// loading, once the quantizations are set).
void compute_weight_sums(std::vector<QLayer>& layers);

// Whether run() uses the portable integer loops even where the CPU has AVX512-VNNI (the same
// integers either way; for tests and comparisons). Process-wide.
void set_portable(bool portable);

// The quantization of real values in [lo, hi] (widened to hold 0) onto 0..255.
Quant quant_of_range(double lo, double hi);

}  // namespace tinycnn::quant
