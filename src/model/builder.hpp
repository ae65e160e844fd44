// ModelSpec -> nn::Sequential, inferring every layer's input from the previous layer's output
// and validating it there: a bad config fails here, before any data is loaded.
#pragma once

#include <functional>
#include <memory>

#include "model/spec.hpp"
#include "nn/sequential.hpp"

namespace tinycnn::model {

// Called after each layer is built, with its per-example input and output shapes.
using LayerObserver = std::function<void(size_t index, nn::Module& layer,
                                         const tensor::Shape& input, const tensor::Shape& output)>;

tensor::Shape input_shape(const ModelSpec& spec);  // [C, H, W]

// Weights are He-normal from Rng(spec.training.seed). Errors name the JSON path or the layer
// ("layer 3 (conv2d): ..."); layers before the failing one have been reported to `observe`.
// With Weights::None the layers hold no weights: their shapes and costs are known, nothing runs
// (shape analysis of models that may not fit in memory).
enum class Weights { Initialised, None };
std::unique_ptr<nn::Sequential> build_model(const ModelSpec& spec,
                                            const LayerObserver& observe = {},
                                            Weights weights = Weights::Initialised);

}  // namespace tinycnn::model
