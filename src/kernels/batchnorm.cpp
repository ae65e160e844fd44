// Batch-norm kernels; see batchnorm.hpp.
#include "kernels/batchnorm.hpp"

#include <span>

namespace tinycnn::kernels {

namespace {
void all_reduce(SliceReducer* reducer, int slice, std::vector<double>& values) {
  if (reducer != nullptr) reducer->all_reduce(slice, std::span(values));
}
}  // namespace

int64_t batchnorm_statistics(const BatchNormShape& s, const float* x, SliceReducer* reducer,
                             int slice, std::vector<double>& mean, std::vector<double>& var) {
  const auto channels = static_cast<size_t>(s.channels);
  std::vector<double> sums(channels + 1, 0.0);  // per channel, then the count
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const float* row = x + (n * s.channels + c) * s.spatial;
      double sum = 0;
      for (int64_t i = 0; i < s.spatial; ++i) sum += row[i];
      sums[static_cast<size_t>(c)] += sum;
    }
  }
  sums[channels] = static_cast<double>(s.batch * s.spatial);
  all_reduce(reducer, slice, sums);
  const double count = sums[channels];
  mean.assign(sums.begin(), sums.begin() + static_cast<std::ptrdiff_t>(channels));
  for (double& m : mean) m /= count;
  std::vector<double> squares(channels, 0.0);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const float* row = x + (n * s.channels + c) * s.spatial;
      const double m = mean[static_cast<size_t>(c)];
      double sum = 0;
      for (int64_t i = 0; i < s.spatial; ++i) {
        const double d = row[i] - m;
        sum += d * d;
      }
      squares[static_cast<size_t>(c)] += sum;
    }
  }
  all_reduce(reducer, slice, squares);
  var = std::move(squares);
  for (double& v : var) v /= count;
  return static_cast<int64_t>(count);
}

void batchnorm_normalize(const BatchNormShape& s, const float* x, const std::vector<double>& mean,
                         const std::vector<double>& invstd, const float* gamma, const float* beta,
                         float* y) {
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const auto ci = static_cast<size_t>(c);
      const double scale = invstd[ci] * (gamma ? gamma[c] : 1.0f);
      const auto a = static_cast<float>(scale);
      const auto b = static_cast<float>((beta ? beta[c] : 0.0f) - mean[ci] * scale);
      const int64_t offset = (n * s.channels + c) * s.spatial;
      for (int64_t i = 0; i < s.spatial; ++i) y[offset + i] = x[offset + i] * a + b;
    }
  }
}

void batchnorm_backward(const BatchNormShape& s, const float* x, const float* dy,
                        const std::vector<double>& mean, const std::vector<double>& invstd,
                        const float* gamma, bool batch_statistics, int64_t count,
                        SliceReducer* reducer, int slice, float* dx, float* dgamma, float* dbeta) {
  const auto channels = static_cast<size_t>(s.channels);
  // sums[c]: sum of dy; sums[C + c]: sum of dy * xhat.
  std::vector<double> sums(2 * channels, 0.0);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const auto ci = static_cast<size_t>(c);
      const int64_t offset = (n * s.channels + c) * s.spatial;
      double sdy = 0, sdyx = 0;
      for (int64_t i = 0; i < s.spatial; ++i) {
        const double g = dy[offset + i];
        sdy += g;
        sdyx += g * (x[offset + i] - mean[ci]);
      }
      sums[ci] += sdy;
      sums[channels + ci] += sdyx * invstd[ci];
    }
  }
  for (size_t c = 0; c < channels; ++c) {
    if (dbeta) dbeta[c] = static_cast<float>(sums[c]);
    if (dgamma) dgamma[c] = static_cast<float>(sums[channels + c]);
  }
  if (!dx) return;
  if (batch_statistics) all_reduce(reducer, slice, sums);
  const auto total = static_cast<double>(count);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const auto ci = static_cast<size_t>(c);
      const double k = invstd[ci] * (gamma ? gamma[c] : 1.0f);
      const int64_t offset = (n * s.channels + c) * s.spatial;
      if (!batch_statistics) {
        for (int64_t i = 0; i < s.spatial; ++i) {
          dx[offset + i] = static_cast<float>(k * dy[offset + i]);
        }
        continue;
      }
      const double mean_dy = sums[ci] / total;
      const double mean_dyx = sums[channels + ci] / total;
      for (int64_t i = 0; i < s.spatial; ++i) {
        const double xhat = (x[offset + i] - mean[ci]) * invstd[ci];
        dx[offset + i] = static_cast<float>(k * (dy[offset + i] - mean_dy - xhat * mean_dyx));
      }
    }
  }
}

}  // namespace tinycnn::kernels
