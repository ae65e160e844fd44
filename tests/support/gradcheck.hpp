// Finite-difference gradient check (after Caffe's GradientChecker): the scalar
// L = sum(f(inputs) * R), R fixed random, is differentiated by autograd and by central
// differences for every element of every input that requires grad.
// Elements within `kink_band` of a non-differentiable point (|x| < band for ReLU) are skipped, and
// with `output_kinks` those whose nudges move an output onto or off zero.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "autograd/variable.hpp"

namespace tinycnn::testing {

struct OpCheckOptions {
  double eps = 1e-2;
  double rtol = 1e-2;
  double atol = 1e-3;
  double kink_band = 0.0;
  // Skip an element whose nudges change which outputs are exactly zero (a fused ReLU's kink was
  // crossed); fails when more than a sixth of the elements are skipped.
  bool output_kinks = false;
  uint64_t seed = 7;
};

using OpFn = std::function<autograd::Variable(const std::vector<autograd::Variable>&)>;

::testing::AssertionResult gradcheck(const OpFn& f, std::vector<autograd::Variable> inputs,
                                     const OpCheckOptions& options = {});

// A tensor whose values are distinct and at least `gap` apart (a shuffled ramp): no ties for
// max pooling to flip between when an element is nudged by less than gap/2.
tensor::Tensor spaced_values(const tensor::Shape& shape, uint64_t seed, float gap = 0.1f);

}  // namespace tinycnn::testing
