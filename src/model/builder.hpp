// ModelSpec -> nn::Sequential, inferring every layer's input from the previous layer's output
// and validating it there: a bad config fails here, before any data is loaded. Residual blocks
// build their branches the same way, so the model is a tree.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "model/spec.hpp"
#include "nn/sequential.hpp"

namespace tinycnn::model {

// Where a layer sits in the tree.
struct LayerSite {
  std::string name;    // "layers.3.shortcut.0": its parameters' prefix in the checkpoint
  std::string path;    // "layers[3].shortcut[0]": its place in the config, for messages
  std::string branch;  // "layers" or "shortcut": the list it is in
  size_t index = 0;    // its index in that list
  int depth = 0;       // 0 for the model's own layers
};

// Called after each layer is built, with its per-example input and output shapes; a block's
// layers are reported before the block itself.
using LayerObserver = std::function<void(const LayerSite& site, nn::Module& layer,
                                         const tensor::Shape& input, const tensor::Shape& output)>;

tensor::Shape input_shape(const ModelSpec& spec);  // [C, H, W]

// Weights are drawn as training.weight_init says from Rng(spec.training.seed). Errors name the JSON
// path or the layer
// ("layer 3 (conv2d): ..."); layers before the failing one have been reported to `observe`.
// With Weights::None the layers hold no weights: their shapes and costs are known, nothing runs
// (shape analysis of models that may not fit in memory).
enum class Weights { Initialised, None };
std::unique_ptr<nn::Sequential> build_model(const ModelSpec& spec,
                                            const LayerObserver& observe = {},
                                            Weights weights = Weights::Initialised);

}  // namespace tinycnn::model
