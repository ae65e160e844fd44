// Classifying image files with a trained model: each file decoded into the model's channels,
// fitted to its input size (resized when training.resize, else refused), normalised like the
// training data, and run in eval mode; the softmax of the logits per file.
#pragma once

#include <string>
#include <vector>

#include "model/spec.hpp"
#include "nn/sequential.hpp"

namespace tinycnn::train {

// One row of K probabilities per path, in order. Throws core::Error (Runtime) naming the first
// file that cannot be decoded or does not fit (nothing is computed then), or the first whose
// logits are not finite.
std::vector<std::vector<double>> predict_files(const model::ModelSpec& spec, nn::Sequential& model,
                                               const std::vector<std::string>& paths);

}  // namespace tinycnn::train
