// Output-size formula with its written-out arithmetic.
#include "nn/spatial.hpp"

#include <sstream>

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
  std::ostringstream out;  // not string '+': g++ 12 -O3 warns falsely (-Wrestrict) on that
  out << "(" << in << " - " << kernel << " + 2*" << pad << ")/" << stride << " + 1 = ";
  if (span < 0 || stride <= 0) {
    out << "(negative)";
  } else {
    out << span / stride + 1;
  }
  return out.str();
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
