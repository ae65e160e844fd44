// The output-size formula of conv and pooling layers, checked and written out for messages and
// for `tinycnn shapes`: "(28 - 5 + 2*2)/1 + 1 = 28".
#pragma once

#include <cstdint>
#include <string>

namespace tinycnn::nn {

struct SpatialDim {
  int64_t in, kernel, stride, pad;
  int64_t out() const;
  bool truncates() const;       // the division has a remainder (some input is never covered)
  std::string formula() const;  // "(28 - 5 + 2*2)/1 + 1 = 28"
};

// Throws core::Error naming `what` and the formula when the output would be empty.
int64_t checked_output_size(const std::string& what, const SpatialDim& dim);

}  // namespace tinycnn::nn
