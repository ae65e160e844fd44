// Output-size formula with its written-out arithmetic.
#include "nn/spatial.hpp"

#include "core/error.hpp"
#include "kernels/geometry.hpp"

namespace tinycnn::nn {

int64_t SpatialDim::out() const { return kernels::output_size(in, kernel, stride, pad); }

bool SpatialDim::truncates() const {
  const int64_t span = in - kernel + 2 * pad;
  return stride > 0 && span >= 0 && span % stride != 0;
}

std::string SpatialDim::formula() const {
  const int64_t span = in - kernel + 2 * pad;
  const std::string value = span < 0 ? "(negative)" : std::to_string(span / stride + 1);
  return "(" + std::to_string(in) + " - " + std::to_string(kernel) + " + 2*" +
         std::to_string(pad) + ")/" + std::to_string(stride) + " + 1 = " + value;
}

int64_t checked_output_size(const std::string& what, const SpatialDim& dim) {
  TCNN_CHECK(dim.kernel > 0, what, ": expected kernel_size > 0, got ", dim.kernel);
  TCNN_CHECK(dim.stride > 0, what, ": expected stride > 0, got ", dim.stride);
  TCNN_CHECK(dim.pad >= 0, what, ": expected padding >= 0, got ", dim.pad);
  TCNN_CHECK(dim.in + 2 * dim.pad >= dim.kernel, what, ": kernel ", dim.kernel,
             " is larger than the padded input ", dim.in, " + 2*", dim.pad, ": ", dim.formula());
  return dim.out();
}

}  // namespace tinycnn::nn
