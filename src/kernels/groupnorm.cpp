// Group-norm kernels; see groupnorm.hpp. A row is a whole number of affine chunks (groupnorm:
// channels of H * W values sharing one gamma; layernorm: single values, each its own), so the
// loops run chunk by chunk with no index arithmetic per value, and layernorm's per-element
// affine runs along the row as vectors.
#include "kernels/groupnorm.hpp"

#include <cmath>
#include <vector>

#include "kernels/double_sums.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
using dsum::DVec;
using dsum::kD;
using dsum::load_d;
using dsum::row_sums;
using dsum::splat_d;
using dsum::store_d;
using simd::kLanes;
using simd::Vec;

double row_sum(const float* x, int64_t n) {
  return row_sums<1>(
      n, [&](int64_t i) { return std::array{load_d(x + i)}; },
      [&](int64_t i) { return std::array{static_cast<double>(x[i])}; })[0];
}

double row_square_sum(const float* x, int64_t n, double mean) {
  const DVec mv = splat_d(mean);
  return row_sums<1>(
      n,
      [&](int64_t i) {
        const DVec d = load_d(x + i) - mv;
        return std::array{d * d};
      },
      [&](int64_t i) {
        const double d = x[i] - mean;
        return std::array{d * d};
      })[0];
}

// y = x * a + b over n values.
void scale_shift(const float* x, int64_t n, float a, float b, float* y) {
  const Vec av = simd::splat(a), bv = simd::splat(b);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) simd::store(y + i, simd::load(x + i) * av + bv);
  for (; i < n; ++i) y[i] = x[i] * a + b;
}

// Sums of one row's backward: a = dy * gamma; returns {sum a, sum a * xhat}. Adds each affine
// entry's sum of dy * xhat to dgamma and of dy to dbeta (either may be null).
struct RowSums {
  double a = 0, a_xhat = 0;
};
RowSums backward_row_sums(const GroupNormShape& s, int64_t first, const float* x, const float* dy,
                          double mean, double invstd, const float* gamma, double* dgamma,
                          double* dbeta) {
  const int64_t m = s.group_size;
  RowSums r;
  const DVec mv = splat_d(mean), isv = splat_d(invstd);
  if (s.affine_repeat == 1) {  // per element: gamma and the affine sums run along the row
    const float* g = gamma ? gamma + first : nullptr;
    double* dg = dgamma ? dgamma + first : nullptr;
    double* db = dbeta ? dbeta + first : nullptr;
    for (int64_t i = 0; i < m; ++i) {
      const double xhat = (x[i] - mean) * invstd;
      if (dg) dg[i] += dy[i] * xhat;
      if (db) db[i] += dy[i];
    }
    const auto [sa, sax] = row_sums<2>(
        m,
        [&](int64_t i) {
          const DVec a = g ? load_d(dy + i) * load_d(g + i) : load_d(dy + i);
          return std::array{a, a * ((load_d(x + i) - mv) * isv)};
        },
        [&](int64_t i) {
          const double a = g ? static_cast<double>(dy[i]) * g[i] : dy[i];
          return std::array{a, a * ((x[i] - mean) * invstd)};
        });
    return {sa, sax};
  }
  const int64_t rep = s.affine_repeat;
  for (int64_t c = 0; c < m / rep; ++c) {
    const int64_t at = c * rep, entry = first / rep + c;
    const auto [sdy, sdyx] = row_sums<2>(
        rep,
        [&](int64_t i) {
          const DVec d = load_d(dy + at + i);
          return std::array{d, d * (load_d(x + at + i) - mv)};
        },
        [&](int64_t i) {
          const double d = dy[at + i];
          return std::array{d, d * (x[at + i] - mean)};
        });
    const double k = gamma ? gamma[entry] : 1.0;
    if (dgamma) dgamma[entry] += sdyx * invstd;
    if (dbeta) dbeta[entry] += sdy;
    r.a += k * sdy;
    r.a_xhat += k * sdyx * invstd;
  }
  return r;
}

// dx = invstd * (a - mean_a - xhat * mean_ax) over one row, a = dy * gamma.
void backward_row_dx(const GroupNormShape& s, int64_t first, const float* x, const float* dy,
                     double mean, double invstd, const float* gamma, double mean_a, double mean_ax,
                     float* dx) {
  const int64_t m = s.group_size;
  const DVec mv = splat_d(mean), isv = splat_d(invstd), mav = splat_d(mean_a),
             maxv = splat_d(mean_ax);
  if (s.affine_repeat == 1) {
    const float* g = gamma ? gamma + first : nullptr;
    int64_t i = 0;
    for (; i + kD <= m; i += kD) {
      const DVec a = g ? load_d(dy + i) * load_d(g + i) : load_d(dy + i);
      store_d(dx + i, isv * (a - mav - (load_d(x + i) - mv) * isv * maxv));
    }
    for (; i < m; ++i) {
      const double a = g ? static_cast<double>(dy[i]) * g[i] : dy[i];
      dx[i] = static_cast<float>(invstd * (a - mean_a - (x[i] - mean) * invstd * mean_ax));
    }
    return;
  }
  const int64_t rep = s.affine_repeat;
  for (int64_t c = 0; c < m / rep; ++c) {
    const int64_t at = c * rep;
    const double k = gamma ? gamma[first / rep + c] : 1.0;
    const DVec kv = splat_d(k);
    int64_t i = 0;
    for (; i + kD <= rep; i += kD) {
      const DVec xhat = (load_d(x + at + i) - mv) * isv;
      store_d(dx + at + i, isv * (kv * load_d(dy + at + i) - mav - xhat * maxv));
    }
    for (; i < rep; ++i) {
      const double xhat = (x[at + i] - mean) * invstd;
      dx[at + i] = static_cast<float>(invstd * (k * dy[at + i] - mean_a - xhat * mean_ax));
    }
  }
}
}  // namespace

void groupnorm_statistics(const GroupNormShape& s, const float* x, double eps, double* mean,
                          double* invstd) {
  const int64_t m = s.group_size;
  for (int64_t r = 0; r < s.batch * s.groups; ++r) {
    const float* row = x + r * m;
    const double mu = row_sum(row, m) / static_cast<double>(m);
    const double var = row_square_sum(row, m, mu) / static_cast<double>(m);
    mean[r] = mu;
    invstd[r] = 1.0 / std::sqrt(var + eps);
  }
}

void groupnorm_normalize(const GroupNormShape& s, const float* x, const double* mean,
                         const double* invstd, const float* gamma, const float* beta, float* y) {
  const int64_t m = s.group_size, rep = s.affine_repeat;
  for (int64_t r = 0; r < s.batch * s.groups; ++r) {
    const int64_t first = r % s.groups * m;
    const float* in = x + r * m;
    float* out = y + r * m;
    const double mu = mean[r], is = invstd[r];
    if (rep == 1 && (gamma || beta)) {  // per element: (x - mean) * invstd * gamma + beta
      const auto muf = static_cast<float>(mu), isf = static_cast<float>(is);
      for (int64_t i = 0; i < m; ++i) {
        const float xhat = (in[i] - muf) * isf;
        out[i] = xhat * (gamma ? gamma[first + i] : 1.0f) + (beta ? beta[first + i] : 0.0f);
      }
      continue;
    }
    const int64_t chunk = rep == 1 ? m : rep;  // no affine: the row is one chunk
    for (int64_t c = 0; c < m / chunk; ++c) {
      const int64_t entry = (first + c * chunk) / rep;
      const double scale = is * (gamma ? gamma[entry] : 1.0f);
      scale_shift(in + c * chunk, chunk, static_cast<float>(scale),
                  static_cast<float>((beta ? beta[entry] : 0.0f) - mu * scale), out + c * chunk);
    }
  }
}

void groupnorm_backward(const GroupNormShape& s, const float* x, const float* dy,
                        const double* mean, const double* invstd, const float* gamma, float* dx,
                        float* dgamma, float* dbeta) {
  const int64_t m = s.group_size;
  const auto affine = static_cast<size_t>(s.affine_size());
  std::vector<double> sum_dy_xhat(dgamma ? affine : 0), sum_dy(dbeta ? affine : 0);
  const auto count = static_cast<double>(m);
  for (int64_t r = 0; r < s.batch * s.groups; ++r) {
    const int64_t first = r % s.groups * m;
    const RowSums sums =
        backward_row_sums(s, first, x + r * m, dy + r * m, mean[r], invstd[r], gamma,
                          dgamma ? sum_dy_xhat.data() : nullptr, dbeta ? sum_dy.data() : nullptr);
    if (dx) {
      backward_row_dx(s, first, x + r * m, dy + r * m, mean[r], invstd[r], gamma, sums.a / count,
                      sums.a_xhat / count, dx + r * m);
    }
  }
  for (size_t a = 0; a < affine; ++a) {
    if (dgamma) dgamma[a] = static_cast<float>(sum_dy_xhat[a]);
    if (dbeta) dbeta[a] = static_cast<float>(sum_dy[a]);
  }
}

}  // namespace tinycnn::kernels
