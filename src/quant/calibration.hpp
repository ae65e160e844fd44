// Calibration: the range of real values a quantized tensor covers, chosen from the values the
// float model produces on the calibration images. minmax: the whole observed range. percentile:
// the observed range with 0.01 % of the values cut off at each end (at the nonzero end of a
// one-signed tensor). entropy: the range whose 256-level quantization loses the least
// information — the clipping threshold minimising KL(P ‖ Q) between the values' histogram and
// its quantized form (the TensorRT method: Migacz, "8-bit Inference with TensorRT", 2017), on
// the values themselves for a tensor of one sign (after a ReLU) and on their magnitudes for a
// signed one (then a range symmetric about 0, cut to the observed range).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.hpp"

namespace tinycnn::quant {

enum class Method { MinMax, Percentile, Entropy };

const char* method_name(Method m);
std::optional<Method> parse_method(const std::string& name);
inline constexpr const char* kMethodNames = "minmax, percentile, entropy";

// One tensor's observed values: the range (first pass), then for percentile and entropy a
// histogram over that range (second pass, once every add_range is done).
class Observed {
 public:
  static constexpr int64_t kBins = 2048;
  void add_range(const tensor::Tensor& t);
  void add_histogram(const tensor::Tensor& t);
  std::pair<double, double> range(Method m) const;
  double lo() const { return lo_; }
  double hi() const { return hi_; }

 private:
  // The histogram's span: [lo, hi] for a one-signed tensor, [0, max |x|] of magnitudes else.
  bool magnitudes() const { return lo_ < 0 && hi_ > 0; }
  double span() const;
  std::pair<double, double> percentile() const;
  std::pair<double, double> entropy() const;

  double lo_ = 0, hi_ = 0;
  bool seen_ = false;
  std::vector<double> bins_;
};

}  // namespace tinycnn::quant
