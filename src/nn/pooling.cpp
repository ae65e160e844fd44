// Pooling layers: validation and shape inference; the math is in ops / kernels.
#include "nn/pooling.hpp"

#include "core/error.hpp"
#include "nn/spatial.hpp"
#include "ops/pooling.hpp"

namespace tinycnn::nn {

void check_options(const Pool2dOptions& o) {
  const auto& k = o.kernel_size;
  const auto s = o.stride.value_or(k);
  const auto& p = o.padding;
  TCNN_CHECK(k[0] > 0 && k[1] > 0, "kernel_size: expected > 0, got ", k[0], "x", k[1]);
  TCNN_CHECK(s[0] > 0 && s[1] > 0, "stride: expected > 0, got ", s[0], "x", s[1]);
  TCNN_CHECK(p[0] >= 0 && p[1] >= 0 && 2 * p[0] <= k[0] && 2 * p[1] <= k[1],
             "padding: expected at most half of kernel_size ", k[0], "x", k[1], ", got ", p[0], "x",
             p[1]);
}

Pool2d::Pool2d(Kind kind, const Pool2dOptions& options) : kind_(kind), options_(options) {
  if (!options_.stride) options_.stride = options_.kernel_size;
  try {
    check_options(options_);
  } catch (const core::Error& e) {
    throw core::Error(e.kind(), type() + " " + e.what());
  }
}

std::string Pool2d::describe() const {
  const auto& k = options_.kernel_size;
  const auto& s = *options_.stride;
  const auto& p = options_.padding;
  std::string out = type() + "(k=" + std::to_string(k[0]) + "x" + std::to_string(k[1]);
  if (s != k) out += ", s=" + std::to_string(s[0]) + "x" + std::to_string(s[1]);
  if (p[0] || p[1]) out += ", p=" + std::to_string(p[0]) + "x" + std::to_string(p[1]);
  return out + ")";
}

Shape Pool2d::output_shape(const Shape& input) const {
  TCNN_CHECK(input.rank() == 3, type(), ": expected input [C, H, W], got ", input.to_string());
  const auto& k = options_.kernel_size;
  const auto& s = *options_.stride;
  const auto& p = options_.padding;
  const int64_t oh = checked_output_size(type() + " height", {input[1], k[0], s[0], p[0]});
  const int64_t ow = checked_output_size(type() + " width", {input[2], k[1], s[1], p[1]});
  return {input[0], oh, ow};
}

ops::Pool2dParams Pool2d::params() const {
  const auto& k = options_.kernel_size;
  const auto& s = *options_.stride;
  const auto& p = options_.padding;
  return {.kernel_h = k[0],
          .kernel_w = k[1],
          .stride_h = s[0],
          .stride_w = s[1],
          .pad_h = p[0],
          .pad_w = p[1]};
}

Variable Pool2d::apply(const Variable& input, const StepContext&) {
  return kind_ == Kind::Max ? ops::maxpool2d(input, params()) : ops::avgpool2d(input, params());
}

Shape GlobalAvgPool2d::output_shape(const Shape& input) const {
  TCNN_CHECK(input.rank() == 3, type(), ": expected input [C, H, W], got ", input.to_string());
  return {input[0], 1, 1};
}

Variable GlobalAvgPool2d::apply(const Variable& input, const StepContext&) {
  const Shape& s = input.shape();
  TCNN_CHECK(s.rank() == 4, type(), ": expected input [N, C, H, W], got ", s.to_string());
  return ops::avgpool2d(input, {.kernel_h = s[2],
                                .kernel_w = s[3],
                                .stride_h = s[2],
                                .stride_w = s[3],
                                .pad_h = 0,
                                .pad_w = 0});
}

}  // namespace tinycnn::nn
