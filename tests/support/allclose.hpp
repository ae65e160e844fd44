// Elementwise closeness with a useful failure message: |a - e| <= atol + rtol * |e|.
#pragma once

#include <gtest/gtest.h>

#include "tensor/tensor.hpp"

namespace tinycnn::testing {

::testing::AssertionResult all_close(const tensor::Tensor& actual, const tensor::Tensor& expected,
                                     double rtol = 1e-4, double atol = 1e-5);

}  // namespace tinycnn::testing
