// Batch-norm kernels; see batchnorm.hpp.
#include "kernels/batchnorm.hpp"

#include <array>

#include "kernels/double_sums.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
using dsum::DVec;
using dsum::kD;
using dsum::load_d;
using dsum::load_masked_d;
using dsum::masked;
using dsum::row_sums;
using dsum::splat_d;
using dsum::store_d;
using simd::kLanes;
using simd::Vec;
}  // namespace

void batchnorm_sums(const BatchNormShape& s, const float* x, double* sums) {
  for (int64_t c = 0; c < s.channels; ++c) sums[c] = 0.0;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const float* row = x + (n * s.channels + c) * s.spatial;
      sums[c] += row_sums<1>(
          s.spatial, [&](int64_t i) { return std::array{load_d(row + i)}; },
          [&](int64_t i) { return std::array{static_cast<double>(row[i])}; })[0];
    }
  }
}

void batchnorm_square_sums(const BatchNormShape& s, const float* x, const std::vector<double>& mean,
                           double* squares) {
  for (int64_t c = 0; c < s.channels; ++c) squares[c] = 0.0;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const float* row = x + (n * s.channels + c) * s.spatial;
      const double m = mean[static_cast<size_t>(c)];
      const DVec mv = splat_d(m);
      squares[c] += row_sums<1>(
          s.spatial,
          [&](int64_t i) {
            const DVec d = load_d(row + i) - mv;
            return std::array{d * d};
          },
          [&](int64_t i) {
            const double d = row[i] - m;
            return std::array{d * d};
          })[0];
    }
  }
}

void batchnorm_normalize(const BatchNormShape& s, const float* x, const std::vector<double>& mean,
                         const std::vector<double>& invstd, const float* gamma, const float* beta,
                         float* y, bool relu, ReluMask* mask) {
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const auto ci = static_cast<size_t>(c);
      const double scale = invstd[ci] * (gamma ? gamma[c] : 1.0f);
      const auto a = static_cast<float>(scale);
      const auto b = static_cast<float>((beta ? beta[c] : 0.0f) - mean[ci] * scale);
      const int64_t offset = (n * s.channels + c) * s.spatial;
      const Vec av = simd::splat(a), bv = simd::splat(b);
      int64_t i = 0;
      for (; i + kLanes <= s.spatial; i += kLanes) {
        const Vec v = simd::load(x + offset + i) * av + bv;
        simd::store(y + offset + i, relu ? simd::select(v > Vec{}, v, Vec{}) : v);
      }
      for (; i < s.spatial; ++i) {
        const float v = x[offset + i] * a + b;
        y[offset + i] = relu && !(v > 0.0f) ? 0.0f : v;
      }
      if (mask) relu_mask_row(y + offset, s.spatial, mask->row(n * s.channels + c));
    }
  }
}

void batchnorm_backward_sums(const BatchNormShape& s, const float* x, const float* dy,
                             const std::vector<double>& mean, const std::vector<double>& invstd,
                             const ReluMask* relu, std::vector<double>& sums) {
  const auto channels = static_cast<size_t>(s.channels);
  sums.assign(2 * channels, 0.0);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const auto ci = static_cast<size_t>(c);
      const int64_t offset = (n * s.channels + c) * s.spatial;
      const float* g = dy + offset;
      const uint64_t* key = relu ? relu->row(n * s.channels + c) : nullptr;
      const float* xr = x + offset;
      const double m = mean[ci];
      const DVec mv = splat_d(m);
      const auto [sdy, sdyx] = row_sums<2>(
          s.spatial,
          [&](int64_t i) {
            const DVec gv = load_masked_d(g, key, i);
            return std::array{gv, gv * (load_d(xr + i) - mv)};
          },
          [&](int64_t i) {
            const double gi = masked(g, key, i);
            return std::array{gi, gi * (xr[i] - m)};
          });
      sums[ci] += sdy;
      sums[channels + ci] += sdyx * invstd[ci];
    }
  }
}

void batchnorm_backward_dx(const BatchNormShape& s, const float* x, const float* dy,
                           const std::vector<double>& mean, const std::vector<double>& invstd,
                           const float* gamma, bool batch_statistics, int64_t count,
                           const std::vector<double>& sums, const ReluMask* relu, float* dx) {
  const auto channels = static_cast<size_t>(s.channels);
  const auto total = static_cast<double>(count);
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const auto ci = static_cast<size_t>(c);
      const double k = invstd[ci] * (gamma ? gamma[c] : 1.0f);
      const int64_t offset = (n * s.channels + c) * s.spatial;
      const float* g = dy + offset;
      const uint64_t* key = relu ? relu->row(n * s.channels + c) : nullptr;
      float* out = dx + offset;
      int64_t i = 0;
      if (!batch_statistics) {
        const DVec kv = splat_d(k);
        for (; i + kD <= s.spatial; i += kD) store_d(out + i, kv * load_masked_d(g, key, i));
        for (; i < s.spatial; ++i) out[i] = static_cast<float>(k * masked(g, key, i));
        continue;
      }
      // dx = k * (dy - mean_dy - xhat * mean_dyx), xhat = (x - mean) * invstd.
      const double mean_dy = sums[ci] / total;
      const double mean_dyx = sums[channels + ci] / total;
      const double m = mean[ci], is = invstd[ci];
      const DVec kv = splat_d(k), mdy = splat_d(mean_dy), mdyx = splat_d(mean_dyx);
      const DVec mv = splat_d(m), isv = splat_d(is);
      const float* xr = x + offset;
      for (; i + kD <= s.spatial; i += kD) {
        const DVec xhat = (load_d(xr + i) - mv) * isv;
        store_d(out + i, kv * (load_masked_d(g, key, i) - mdy - xhat * mdyx));
      }
      for (; i < s.spatial; ++i) {
        const double xhat = (xr[i] - m) * is;
        out[i] = static_cast<float>(k * (masked(g, key, i) - mean_dy - xhat * mean_dyx));
      }
    }
  }
}

}  // namespace tinycnn::kernels
