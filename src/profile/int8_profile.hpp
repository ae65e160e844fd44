// An int8 model (tinycnn quantize) timed for inference layer by layer beside the float model it
// came from: each int8 layer against the float layers it stands for (a conv with its batch norm
// and ReLU; a block with its branches), both in eval mode without a graph, and each whole
// forward — at batch 1 the latency of one image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/sequential.hpp"
#include "quant/qnet.hpp"
#include "runtime/contention.hpp"

namespace tinycnn::profile {

struct Int8LayerTiming {
  std::string name;    // the int8 layer's ("layers.3.layers.0")
  std::string covers;  // the float layers' kinds ("conv2d + batchnorm2d + relu")
  int depth = 0;       // 0 for the network's own layers; a block's branches are deeper
  double float_ms = 0, int8_ms = 0;  // medians over the repeats
};

struct Int8Profile {
  std::vector<Int8LayerTiming> layers;  // pre-order: a block, then its branches' layers
  double float_forward_ms = 0, int8_forward_ms = 0;  // the whole forward, medians
  int repeats = 0;
  runtime::Contention contention;  // over the timed runs (busy: not to be trusted)
};

// `model` (its weights loaded) is the float model `net` was quantized from; `input` one
// example's shape. Random normal images of `batch` examples.
Int8Profile profile_int8(nn::Sequential& model, const quant::QNet& net, const tensor::Shape& input,
                         int64_t batch, int warmup, int repeats, int threads);

}  // namespace tinycnn::profile
