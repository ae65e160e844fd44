// Elementwise ops: relu, tanh, sigmoid (any shape), and dropout.
#pragma once

#include "autograd/variable.hpp"
#include "core/rng.hpp"

namespace tinycnn::ops {

using autograd::Variable;

Variable relu(const Variable& input);
Variable tanh(const Variable& input);
Variable sigmoid(const Variable& input);
// Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p), so
// evaluation needs no rescaling. Draws the mask from rng. p in [0, 1).
Variable dropout(const Variable& input, float p, core::Rng& rng);

}  // namespace tinycnn::ops
