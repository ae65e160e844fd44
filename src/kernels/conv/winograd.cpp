// Winograd convolution; see winograd.hpp for the formulas.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/winograd.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "kernels/conv/channel_gemm.hpp"
#include "kernels/conv/winograd_transform.hpp"
#include "kernels/parallel.hpp"
#include "kernels/simd.hpp"

// GCC 12 reports the undefined vectors inside its own AVX-512 shuffle and expand intrinsics
// (_mm512_undefined_ps) as maybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace tinycnn::kernels {

namespace {
using simd::kLanes;
using simd::Vec;
using winograd::Transform;

constexpr int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// One group's convolution as this path sees it: cin input channels (padded to cv floats per
// pixel), cout output channels (kv floats per GEMM row), the tiles, and the packed block of
// input rows a unit of work copies ([y][x][cv], wp columns wide).
struct Shape {
  int m = 4, a = 6;
  int64_t cin = 0, cout = 0, cv = 0, kv = 0;
  int64_t h = 0, w = 0, oh = 0, ow = 0, pad_h = 0, pad_w = 0;
  int64_t th = 0, tw = 0, wp = 0;
  int64_t positions() const { return int64_t{a} * a; }
};

Shape shape_of(const Conv2dGeometry& g, int tile) {
  Shape s;
  s.m = tile;
  s.a = tile + 2;
  s.cin = g.in_per_group();
  s.cout = g.out_per_group();
  s.cv = round_up(s.cin, kLanes);
  s.kv = round_up(s.cout, kLanes);
  s.h = g.in_h;
  s.w = g.in_w;
  s.oh = g.out_h();
  s.ow = g.out_w();
  s.pad_h = g.pad_h;
  s.pad_w = g.pad_w;
  s.th = (s.oh + tile - 1) / tile;
  s.tw = (s.ow + tile - 1) / tile;
  s.wp = s.tw * tile + 2;
  return s;
}

// A unit of work: images [n0, n1), and of each the rows of tiles [r0, r1).
struct Unit {
  int64_t n0, n1, r0, r1;
  int64_t tiles(const Shape& s) const { return (n1 - n0) * (r1 - r0) * s.tw; }
};

// Units sized so that a unit's transformed input and GEMM results (a^2 x tiles x (cv + kv)
// floats) stay near 768 KiB, within a core's L2; at least `threads` units where the batch allows.
std::vector<Unit> units_of(const Shape& s, int64_t batch, int threads) {
  const int64_t budget = (int64_t{768} << 10) / 4 / (s.positions() * (s.cv + s.kv));
  const int64_t per_image = s.th * s.tw;
  std::vector<Unit> units;
  if (per_image <= budget) {
    int64_t images = std::max<int64_t>(1, budget / per_image);
    images = std::min(images, std::max<int64_t>(1, (batch + threads - 1) / threads));
    for (int64_t n = 0; n < batch; n += images) {
      units.push_back({n, std::min(batch, n + images), 0, s.th});
    }
  } else {
    const int64_t rows = std::max<int64_t>(1, budget / s.tw);
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t r = 0; r < s.th; r += rows)
        units.push_back({n, n + 1, r, std::min(s.th, r + rows)});
    }
  }
  return units;
}

int64_t max_tiles(const Shape& s, const std::vector<Unit>& units) {
  int64_t most = 0;
  for (const Unit& u : units) most = std::max(most, u.tiles(s));
  return most + kChannelGemmMostRows - 1;  // room for the last register block's overrun
}

int64_t max_packed_floats(const Shape& s, const std::vector<Unit>& units) {
  int64_t most = 0;
  for (const Unit& u : units) {
    most = std::max(most, (u.n1 - u.n0) * ((u.r1 - u.r0) * s.m + 2) * s.wp * s.cv);
  }
  return most;
}

// U[xi][c][kv] of one group, zero beyond cout: G g G^T of each filter, for a vector of output
// channels at a time (the taps first laid out as [c][tap][kv]).
template <int M>
void transform_weights(const Shape& s, const float* weight, float* u) {
  constexpr int kA = Transform<M>::kA;
  std::vector<float> taps(static_cast<size_t>(s.cin * 9 * s.kv), 0.0f);
  for (int64_t k = 0; k < s.cout; ++k) {
    for (int64_t c = 0; c < s.cin; ++c) {
      for (int64_t t = 0; t < 9; ++t)
        taps[static_cast<size_t>((c * 9 + t) * s.kv + k)] = weight[(k * s.cin + c) * 9 + t];
    }
  }
  for (int64_t c = 0; c < s.cin; ++c) {
    for (int64_t k0 = 0; k0 < s.kv; k0 += kLanes) {
      Vec g[9];
      for (int t = 0; t < 9; ++t) g[t] = simd::load(taps.data() + (c * 9 + t) * s.kv + k0);
      Vec cols[3][kA];  // G applied to each column of the filter
      for (int x = 0; x < 3; ++x) {
        const Vec col[3] = {g[x], g[3 + x], g[6 + x]};
        Transform<M>::filter(col, cols[x]);
      }
      for (int i = 0; i < kA; ++i) {
        const Vec row[3] = {cols[0][i], cols[1][i], cols[2][i]};
        Vec out[kA];
        Transform<M>::filter(row, out);
        for (int j = 0; j < kA; ++j)
          simd::store(u + ((i * kA + j) * s.cin + c) * s.kv + k0, out[j]);
      }
    }
  }
}

// The unit's input rows, zero-padded, as [image][y][x][cv]; with `mask`, zero where mask <= 0.
#if defined(__AVX512F__)
// 16 channels x 16 pixels of a row at a time, transposed in registers.
void pack(const Shape& s, const Unit& unit, const float* input, const float* mask,
          int64_t image_stride, float* packed) {
  const int64_t rows = (unit.r1 - unit.r0) * s.m + 2;
  for (int64_t n = unit.n0; n < unit.n1; ++n) {
    float* block = packed + (n - unit.n0) * rows * s.wp * s.cv;
    for (int64_t yy = 0; yy < rows; ++yy) {
      const int64_t y = unit.r0 * s.m + yy - s.pad_h;
      float* dst = block + yy * s.wp * s.cv;
      if (y < 0 || y >= s.h) {
        std::fill(dst, dst + s.wp * s.cv, 0.0f);
        continue;
      }
      for (int64_t c0 = 0; c0 < s.cin; c0 += kLanes) {
        const int64_t channels = std::min<int64_t>(kLanes, s.cin - c0);
        for (int64_t xx0 = 0; xx0 < s.wp; xx0 += kLanes) {
          const int64_t x0 = xx0 - s.pad_w;
          const int64_t lo = std::clamp<int64_t>(-x0, 0, kLanes);
          const int64_t hi = std::clamp<int64_t>(s.w - x0, lo, kLanes);
          const auto lanes = static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
          Vec v[kLanes];
          for (int64_t r = 0; r < kLanes; ++r) {
            v[r] = Vec{};
            if (r >= channels || lo == hi) continue;
            // Lanes [lo, hi) from the row's x0 + lo: a masked load where the chunk starts in the
            // row, an expanding one (into lanes from lo) where it starts in the left padding.
            const int64_t at = n * image_stride + (c0 + r) * s.h * s.w + y * s.w + x0 + lo;
            const auto read = [&](const float* p) {
              return lo == 0 ? (Vec)_mm512_maskz_loadu_ps(lanes, p + at)
                             : (Vec)_mm512_maskz_expandloadu_ps(lanes, p + at);
            };
            v[r] = read(input);
            if (mask) v[r] = simd::select(read(mask) > Vec{}, v[r], Vec{});
          }
          simd::transpose16(v);
          const int64_t pixels = std::min<int64_t>(kLanes, s.wp - xx0);
          for (int64_t j = 0; j < pixels; ++j) simd::store(dst + (xx0 + j) * s.cv + c0, v[j]);
        }
      }
    }
  }
}
#else
void pack(const Shape& s, const Unit& unit, const float* input, const float* mask,
          int64_t image_stride, float* packed) {
  const int64_t rows = (unit.r1 - unit.r0) * s.m + 2;
  for (int64_t n = unit.n0; n < unit.n1; ++n) {
    float* block = packed + (n - unit.n0) * rows * s.wp * s.cv;
    for (int64_t c = 0; c < s.cin; ++c) {
      const float* plane = input + n * image_stride + c * s.h * s.w;
      const float* key = mask ? mask + n * image_stride + c * s.h * s.w : nullptr;
      for (int64_t yy = 0; yy < rows; ++yy) {
        const int64_t y = unit.r0 * s.m + yy - s.pad_h;
        float* dst = block + yy * s.wp * s.cv + c;
        for (int64_t xx = 0; xx < s.wp; ++xx) {
          const int64_t x = xx - s.pad_w;
          const bool inside = y >= 0 && y < s.h && x >= 0 && x < s.w;
          float v = inside ? plane[y * s.w + x] : 0.0f;
          if (inside && key && !(key[y * s.w + x] > 0.0f)) v = 0.0f;
          dst[xx * s.cv] = v;
        }
      }
    }
  }
}
#endif

// V[xi][t][cv] = B^T d B for every tile t of the unit and each vector of channels.
template <int M>
void transform_input(const Shape& s, const Unit& unit, const float* packed, int64_t tcap,
                     float* v) {
  constexpr int kA = Transform<M>::kA;
  const int64_t rows = (unit.r1 - unit.r0) * s.m + 2;
  const int64_t xi_stride = tcap * s.cv;
  int64_t t = 0;
  for (int64_t n = 0; n < unit.n1 - unit.n0; ++n) {
    for (int64_t ty = 0; ty < unit.r1 - unit.r0; ++ty) {
      for (int64_t tx = 0; tx < s.tw; ++tx, ++t) {
        const float* corner = packed + ((n * rows + ty * M) * s.wp + tx * M) * s.cv;
        for (int64_t c0 = 0; c0 < s.cv; c0 += kLanes) {
          Vec cols[kA][kA];  // cols[j]: B^T applied to column j of the tile
          for (int j = 0; j < kA; ++j) {
            Vec d[kA];
            for (int i = 0; i < kA; ++i) d[i] = simd::load(corner + (i * s.wp + j) * s.cv + c0);
            Transform<M>::input(d, cols[j]);
          }
          for (int i = 0; i < kA; ++i) {
            Vec row[kA], out[kA];
            for (int j = 0; j < kA; ++j) row[j] = cols[j][i];
            Transform<M>::input(row, out);
            for (int j = 0; j < kA; ++j)
              simd::store(v + (i * kA + j) * xi_stride + t * s.cv + c0, out[j]);
          }
        }
      }
    }
  }
}

// M[xi][t][kv] = V[xi][t][:cin] U[xi][:cin][kv] for the first `tiles` rows (rounded up to the
// register block: the rows past them are computed and never read).
void gemm(const Shape& s, int64_t tiles, int64_t tcap, const float* v, const float* u,
          float* mres) {
  for (int64_t xi = 0; xi < s.positions(); ++xi) {
    channel_gemm(tiles, s.cin, s.kv, v + xi * tcap * s.cv, s.cv, u + xi * s.cin * s.kv,
                 mres + xi * tcap * s.kv);
  }
}

// An output tile, tile[i * M + j] = the vector of channels at (i, j), into `lanes` channel
// planes from dst (its (0, 0) in the first), rows x cols of it (edge tiles are cut). With
// AVX-512 and M = 4 the 16 positions x 16 channels are transposed in registers, each channel's
// tile rows written as 4-float stores; otherwise float by float. `tile` may be overwritten.
template <int M>
void scatter_tile(Vec* tile, int64_t lanes, int64_t rows, int64_t cols, int64_t plane, int64_t ow,
                  float* dst) {
#if defined(__AVX512F__)
  if constexpr (M * M == kLanes) {
    simd::transpose16(tile);
    const auto keep = static_cast<__mmask8>((1u << cols) - 1);
    for (int64_t l = 0; l < lanes; ++l) {
      float* d = dst + l * plane;
      const __m512 v = (__m512)tile[l];
      _mm_mask_storeu_ps(d, keep, _mm512_extractf32x4_ps(v, 0));
      if (rows > 1) _mm_mask_storeu_ps(d + ow, keep, _mm512_extractf32x4_ps(v, 1));
      if (rows > 2) _mm_mask_storeu_ps(d + 2 * ow, keep, _mm512_extractf32x4_ps(v, 2));
      if (rows > 3) _mm_mask_storeu_ps(d + 3 * ow, keep, _mm512_extractf32x4_ps(v, 3));
    }
    return;
  }
#endif
  alignas(64) float values[M * M][kLanes];
  for (int p = 0; p < M * M; ++p) simd::store(values[p], tile[p]);
  for (int64_t l = 0; l < lanes; ++l) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) dst[l * plane + i * ow + j] = values[i * M + j][l];
    }
  }
}

// Y = A^T M A of every tile of the unit, plus bias, ReLU'd when asked, into the output
// [N][OC][OH][OW] of the group (out points at its first channel of image 0).
template <int M>
void transform_output(const Shape& s, const Unit& unit, const float* mres, int64_t tcap,
                      const float* bias, bool relu, float* out, int64_t image_stride) {
  constexpr int kA = Transform<M>::kA;
  const int64_t xi_stride = tcap * s.kv;
  const int64_t plane = s.oh * s.ow;
  int64_t t = 0;
  Vec tile[kLanes > M * M ? kLanes : M * M] = {};
  for (int64_t n = unit.n0; n < unit.n1; ++n) {
    for (int64_t ty = unit.r0; ty < unit.r1; ++ty) {
      const int64_t rows = std::min<int64_t>(M, s.oh - ty * M);
      for (int64_t tx = 0; tx < s.tw; ++tx, ++t) {
        const int64_t cols_n = std::min<int64_t>(M, s.ow - tx * M);
        for (int64_t k0 = 0; k0 < s.kv; k0 += kLanes) {
          Vec cols[kA][M];  // cols[j]: A^T applied to column j of the tile's M
          for (int j = 0; j < kA; ++j) {
            Vec mv[kA];
            for (int i = 0; i < kA; ++i)
              mv[i] = simd::load(mres + (i * kA + j) * xi_stride + t * s.kv + k0);
            Transform<M>::output(mv, cols[j]);
          }
          Vec b{};
          if (bias) {
            b = simd::load_first(bias + k0, std::min<int64_t>(kLanes, s.cout - k0));
          }
          for (int i = 0; i < M; ++i) {
            Vec row[kA], y[M];
            for (int j = 0; j < kA; ++j) row[j] = cols[j][i];
            Transform<M>::output(row, y);
            for (int j = 0; j < M; ++j) {
              Vec value = y[j] + b;
              if (relu) value = simd::select(value > Vec{}, value, Vec{});
              tile[i * M + j] = value;
            }
          }
          const int64_t lanes = std::min<int64_t>(kLanes, s.cout - k0);
          float* dst0 = out + n * image_stride + k0 * plane + ty * M * s.ow + tx * M;
          scatter_tile<M>(tile, lanes, rows, cols_n, plane, s.ow, dst0);
        }
      }
    }
  }
}

// The convolution of every group, `weight` already laid out as the geometry's [OC][C/g][3][3].
template <int M>
void run(const Conv2dGeometry& g, const float* input, const float* mask, const float* weight,
         const float* bias, float* output, bool relu) {
  const Shape s = shape_of(g, M);
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const std::vector<Unit> units = units_of(s, g.batch, threads);
  const int64_t tcap = max_tiles(s, units);
  std::vector<float> u(static_cast<size_t>(g.groups * s.positions() * s.cin * s.kv));
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    transform_weights<M>(s, weight + grp * s.cout * s.cin * 9,
                         u.data() + grp * s.positions() * s.cin * s.kv);
  }
  const int64_t in_image = g.in_channels * s.h * s.w, out_image = g.out_channels * s.oh * s.ow;
  parallel_region([&] {
    const Block block = thread_block(static_cast<int64_t>(units.size()));
    if (block.begin >= block.end) return;
    std::vector<float> packed(static_cast<size_t>(max_packed_floats(s, units)), 0.0f);
    std::vector<float> v(static_cast<size_t>(s.positions() * tcap * s.cv), 0.0f);
    std::vector<float> mres(static_cast<size_t>(s.positions() * tcap * s.kv));
    for (int64_t i = block.begin; i < block.end; ++i) {
      const Unit& unit = units[static_cast<size_t>(i)];
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        pack(s, unit, input + grp * s.cin * s.h * s.w,
             mask ? mask + grp * s.cin * s.h * s.w : nullptr, in_image, packed.data());
        transform_input<M>(s, unit, packed.data(), tcap, v.data());
        gemm(s, unit.tiles(s), tcap, v.data(), u.data() + grp * s.positions() * s.cin * s.kv,
             mres.data());
        transform_output<M>(s, unit, mres.data(), tcap, bias ? bias + grp * s.cout : nullptr, relu,
                            output + grp * s.cout * s.oh * s.ow, out_image);
      }
    }
  });
}

void dispatch(int tile, const Conv2dGeometry& g, const float* input, const float* mask,
              const float* weight, const float* bias, float* output, bool relu) {
  if (tile == 2) {
    run<2>(g, input, mask, weight, bias, output, relu);
  } else {
    run<4>(g, input, mask, weight, bias, output, relu);
  }
}

// Its weights per group: W'[c][k][y][x] = W[k][c][2 - y][2 - x].
std::vector<float> flipped(const Conv2dGeometry& g, const float* weight) {
  const int64_t cin = g.in_per_group(), cout = g.out_per_group();
  std::vector<float> f(static_cast<size_t>(g.weight_numel()));
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    for (int64_t k = 0; k < cout; ++k) {
      for (int64_t c = 0; c < cin; ++c) {
        const float* src = weight + ((grp * cout + k) * cin + c) * 9;
        float* dst = f.data() + ((grp * cin + c) * cout + k) * 9;
        for (int i = 0; i < 9; ++i) dst[i] = src[8 - i];
      }
    }
  }
  return f;
}

int64_t workspace_bytes(const Conv2dGeometry& g, int tile, int threads) {
  const Shape s = shape_of(g, tile);
  const std::vector<Unit> units = units_of(s, g.batch, threads);
  const int64_t tcap = max_tiles(s, units);
  const int64_t per_thread = max_packed_floats(s, units) + s.positions() * tcap * (s.cv + s.kv);
  const int64_t used = std::min<int64_t>(threads, static_cast<int64_t>(units.size()));
  return 4 * (used * per_thread + g.groups * s.positions() * s.cin * s.kv);
}

int64_t transform_cost(const Conv2dGeometry& g, int tile) {
  const Shape s = shape_of(g, tile);
  return s.th * s.tw * s.positions() * (s.cin * s.cout + s.a * (s.cin + s.cout));
}
}  // namespace

std::string_view winograd_unsupported(const Conv2dGeometry& g) {
  if (g.kernel_h != 3 || g.kernel_w != 3) return "not a 3x3 kernel";
  if (g.stride_h != 1 || g.stride_w != 1) return "stride is not 1";
  return {};
}

WinogradPlan plan_winograd(const Conv2dGeometry& g) {
  return plan_winograd(g, transform_cost(g, 4) < transform_cost(g, 2) ? 4 : 2);
}

WinogradPlan plan_winograd(const Conv2dGeometry& g, int tile) {
  TCNN_CHECK(winograd_unsupported(g).empty(), "winograd: ", winograd_unsupported(g));
  TCNN_CHECK(tile == 2 || tile == 4, "winograd: tile 2 or 4, got ", tile);
  return {.tile = tile, .dinput = g.pad_h <= 2 && g.pad_w <= 2};
}

void conv2d_winograd_forward(const WinogradPlan& plan, const Conv2dGeometry& g, const float* input,
                             const float* weight, const float* bias, float* output, bool relu) {
  g.check();
  dispatch(plan.tile, g, input, nullptr, weight, bias, output, relu);
}

void conv2d_winograd_dinput(const WinogradPlan& plan, const Conv2dGeometry& g, const float* weight,
                            const float* doutput, const float* relu_output, float* dinput) {
  g.check();
  TCNN_CHECK(plan.dinput, "winograd: dinput needs padding <= 2");
  const std::vector<float> f = flipped(g, weight);
  dispatch(plan.tile, transposed_convolution(g), doutput, relu_output, f.data(), nullptr, dinput,
           false);
}

int64_t conv2d_winograd_forward_workspace_bytes(const WinogradPlan& plan, const Conv2dGeometry& g,
                                                int threads) {
  return workspace_bytes(g, plan.tile, threads);
}

int64_t conv2d_winograd_dinput_workspace_bytes(const WinogradPlan& plan, const Conv2dGeometry& g,
                                               int threads) {
  if (!plan.dinput) return 0;
  return workspace_bytes(transposed_convolution(g), plan.tile, threads) + 4 * g.weight_numel();
}

double winograd_error_bound(int tile) { return tile == 2 ? 1e-5 : 5e-5; }

int64_t conv2d_winograd_gemm_flops(const WinogradPlan& plan, const Conv2dGeometry& g) {
  const Shape s = shape_of(g, plan.tile);
  return 2 * g.batch * g.groups * s.th * s.tw * s.positions() * s.cin * s.cout;
}

}  // namespace tinycnn::kernels
