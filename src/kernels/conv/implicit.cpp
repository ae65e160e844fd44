// Implicit-GEMM convolution; see implicit.hpp for the formulas. The arithmetic is
// row_gemm.hpp's (rows_gemm for forward and dcol, rows_gemm_t for dweight) or the
// pixel-major kernels'; what is written after it and where the gradient comes from,
// epilogue.hpp's.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/implicit.hpp"

#include <omp.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "kernels/conv/gather_col2im.hpp"
#include "kernels/conv/implicit_parts.hpp"
#include "kernels/conv/pixel_major.hpp"
#include "kernels/conv/row_gemm.hpp"
#include "kernels/conv/wide_layout.hpp"
#include "kernels/parallel.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
using simd::kLanes;
using simd::Vec;

// One image and group of the forward, from its padded input p: the wide or the pixel-major
// kernels (as the plan chose), then the epilogue's stores. `scratch`:
// forward_scratch_floats(w, pixel_major) floats.
void forward_group(const Wide& w, bool pixel_major, const float* p, const float* wt,
                   const float* bias, const ConvOutput& out, int64_t plane0, float* scratch) {
  if (pixel_major) {
    for (int64_t m0 = 0; m0 < w.cout; m0 += kLanes) {
      pixel_major_forward(w, p, wt, bias, m0, scratch);
      store_pixel_major(w, out, plane0, m0, scratch);
    }
    return;
  }
  rows_gemm(w.cout, wt, w.cout, p, w.off.data(), w.taps, bias, scratch, w.nq, w.nq);
  store_wide(w, out, plane0, scratch);
}

int64_t forward_scratch_floats(const Wide& w, bool pixel_major) {
  return pixel_major ? w.oh * w.ow * kLanes : w.wide_floats;
}

// dinput of a stride-1 convolution is itself a convolution: of D zero-padded by K - 1 - pad,
// with the kernel flipped in space and its input and output channels swapped:
//   din[c][y][x] = sum_{m,ky,kx} W[m][c][K-1-ky][K-1-kx] D[m][y - (K-1-pad) + ky][...]
// so it runs the forward's kernels (no dcol to write and gather). transposed_wide gives its
// layout where it is taken: it needs pad <= K - 1, and is taken where its multiply-adds (its wide
// rows are wider by the larger padding) are no more than dcol's and the gather's: ResNet's 3x3
// pad-1 layers, not LeNet's conv2 (pad 0 becomes 4, twice the work).
std::optional<Wide> transposed_wide(const Conv2dGeometry& g, const Wide& w) {
  if (g.stride_h != 1 || g.stride_w != 1 || g.pad_h > g.kernel_h - 1 || g.pad_w > g.kernel_w - 1) {
    return std::nullopt;
  }
  Wide wt = make_wide(transposed_convolution(g));
  const int64_t by_dcol = w.taps * (w.nq * w.cout + g.in_h * g.in_w);
  if (wt.cout * wt.nq * wt.taps > by_dcol) return std::nullopt;
  return wt;
}

}  // namespace

std::vector<float> flipped_weights(const Conv2dGeometry& g, const float* weight) {
  const int64_t cin = g.in_per_group(), cout = g.out_per_group();
  const int64_t kk = g.kernel_h * g.kernel_w;
  std::vector<float> a(static_cast<size_t>(g.groups * cout * kk * cin));
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    float* ag = a.data() + grp * cout * kk * cin;
    for (int64_t m = 0; m < cout; ++m) {
      for (int64_t c = 0; c < cin; ++c) {
        const float* wmc = weight + ((grp * cout + m) * cin + c) * kk;
        for (int64_t k = 0; k < kk; ++k) ag[(m * kk + k) * cin + c] = wmc[kk - 1 - k];
      }
    }
  }
  return a;
}

void pad_wide_gradient(const Wide& w, const float* d, const Conv2dGeometry& gt, const Wide& wt,
                       float* p) {
  for (int64_t m = 0; m < w.cout; ++m) {
    for (int64_t y = 0; y < w.oh; ++y) {
      simd::copy(p + m * wt.plane + (y + gt.pad_h) * wt.wp + gt.pad_w, d + m * w.nq + y * w.wp,
                 w.ow);
    }
  }
}

void add_dbias_wide(const Wide& w, const float* d, Vec* bsums) {
  for (int64_t m = 0; m < w.cout; ++m) {
    Vec acc{};
    for (int64_t q = 0; q < w.nq; q += kLanes) acc += simd::load(d + m * w.nq + q);
    bsums[m] += acc;
  }
}

void add_dbias_pixel_major(const Wide& w, int64_t pixels, const float* dt, Vec* bsums) {
  for (int64_t v = 0; v < w.cout / kLanes; ++v) {
    Vec acc = bsums[v];
    for (int64_t q = 0; q < pixels; ++q) acc += simd::load(dt + q * w.cout + v * kLanes);
    bsums[v] = acc;
  }
}

void reduce_pixel_major(const Conv2dGeometry& g, const Wide& w, const ThreadSums& sums,
                        float* dweight, float* dbias) {
  auto f = [&](int th, int64_t i) { return sums.at(th, i / kLanes)[i % kLanes]; };
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    for (int64_t t = 0; t <= w.taps; ++t) {
      for (int64_t m = 0; m < w.cout; ++m) {
        float total = 0.0f;
        for (int th = 0; th < sums.threads(); ++th) {
          total += f(th, (grp * (w.taps + 1) + t) * w.cout + m);
        }
        if (t < w.taps) {
          dweight[(grp * w.cout + m) * w.taps + t] = total;
        } else if (dbias) {
          dbias[grp * w.cout + m] = total;
        }
      }
    }
  }
}
ImplicitPlan plan_implicit(const Conv2dGeometry& g) {
  Wide wide = make_wide(g);
  std::optional<Wide> transposed = transposed_wide(g, wide);
  return {.pixel_major = use_pixel_major(wide),
          .pixel_dweight = select_pixel_dweight(g, wide),
          .transposed_pixel_major = transposed && use_pixel_major(*transposed),
          .wide = std::move(wide),
          .transposed = std::move(transposed)};
}

int64_t conv2d_implicit_forward_workspace_bytes(const ImplicitPlan& plan, const Conv2dGeometry& g,
                                                int threads) {
  const Wide& w = plan.wide;
  return (static_cast<int64_t>(threads) * (w.p_floats + w.cout * w.nq) +
          g.groups * w.taps * w.cout) *
         4;
}

int64_t conv2d_implicit_backward_workspace_bytes(const ImplicitPlan& plan, const Conv2dGeometry& g,
                                                 int threads) {
  const Wide& w = plan.wide;
  int64_t shared = 0, dinput = w.taps * w.dcol_stride + phase_floats(w);
  if (plan.transposed) {
    dinput = plan.transposed->p_floats +
             forward_scratch_floats(*plan.transposed, plan.transposed_pixel_major);
    shared = g.groups * plan.transposed->taps * plan.transposed->cout;
  }
  const int64_t per_thread =
      w.p_floats + w.cout * w.nq + dinput + g.groups * w.cout * (w.taps + 1) * kLanes;
  return (static_cast<int64_t>(threads) * per_thread + shared) * 4;
}

void conv2d_implicit_forward(const ImplicitPlan& plan, const Conv2dGeometry& g, const float* input,
                             const float* weight, const float* bias, const ConvOutput& out) {
  TCNN_CHECK(!out.pooled || (g.out_h() >= 2 && g.out_w() >= 2),
             "conv2d implicit: a fused 2x2 pool "
             "needs an output of at least 2x2, got ",
             g.out_h(), "x", g.out_w());
  const Wide& w = plan.wide;
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = w.cin * g.in_h * g.in_w;
  // A = W^T per group: wt[grp][t][m], so a tap's weights for consecutive channels are adjacent.
  const std::vector<float> wt = transpose_groups(weight, g.groups, w.cout, w.taps);
  parallel_region([&] {
    const Block block = thread_block(g.batch);
    if (block.begin < block.end) {
      std::vector<float> p(static_cast<size_t>(w.p_floats), 0.0f);  // pad_image: zero once
      std::vector<float> scratch(static_cast<size_t>(forward_scratch_floats(w, plan.pixel_major)),
                                 0.0f);
      for (int64_t n = block.begin; n < block.end; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          pad_image(g, w, input + n * image_size + grp * group_in, p.data());
          forward_group(w, plan.pixel_major, p.data(), wt.data() + grp * w.taps * w.cout,
                        bias ? bias + grp * w.cout : nullptr, out,
                        n * g.out_channels + grp * w.cout, scratch.data());
        }
      }
    }
  });
}

namespace {
// The transposed convolution that computes dinput (transposed_wide), shared by the threads.
struct TransposedDinput {
  Conv2dGeometry g;
  const Wide& w;
  bool pixel_major;
  std::vector<float> a;  // flipped_weights
  TransposedDinput(const Conv2dGeometry& conv, const ImplicitPlan& plan, const float* weight)
      : g(transposed_convolution(conv)),
        w(*plan.transposed),
        pixel_major(plan.transposed_pixel_major),
        a(flipped_weights(conv, weight)) {}
};

// One thread's buffers for conv2d_implicit_backward: up to `chunk` images' padded inputs (pc)
// and gradients — wide (dc, for dinput and the wide dweight) or transposed (dtc, for the
// pixel-major dweight) — side by side, so the dweight kernels keep their sums in registers
// across them (same additions, same order as image by image); the dinput scratch of the path
// it takes (dcol and, strided, the phases; or the transposed convolution's).
struct BackwardScratch {
  int64_t chunk, d_floats, pixels;
  bool wide_d;
  std::vector<float> pc, dc, dcol, phases, dtc;
  std::vector<float> pt, ot;  // with a TransposedDinput: its padded input and its forward scratch
  BackwardScratch(const Wide& w, int64_t images, bool dweight, bool dinput, bool pixel_dw,
                  const TransposedDinput* t)
      : chunk(std::min(kImplicitChunk, images)),
        d_floats(w.cout * w.nq),
        pixels(w.oh * w.ow),
        wide_d(dinput || !pixel_dw),
        pc(dweight ? static_cast<size_t>(chunk * w.p_floats) : 0, 0.0f),
        dc(wide_d ? static_cast<size_t>(chunk * d_floats) : 0, 0.0f),
        dcol(dinput && !t ? static_cast<size_t>(w.taps * w.dcol_stride) : 0, 0.0f),
        phases(dinput && !t ? static_cast<size_t>(phase_floats(w)) : 0),
        dtc(pixel_dw ? static_cast<size_t>(chunk * pixels * w.cout) : 0),
        pt(t ? static_cast<size_t>(t->w.p_floats) : 0, 0.0f),
        ot(t ? static_cast<size_t>(forward_scratch_floats(t->w, t->pixel_major)) : 0, 0.0f) {}
};

}  // namespace

void conv2d_implicit_backward(const ImplicitPlan& plan, const Conv2dGeometry& g, const float* input,
                              const float* weight, const ConvGradient& grad, float* dinput,
                              float* dweight, float* dbias) {
  const Wide& w = plan.wide;
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = w.cin * g.in_h * g.in_w;
  const PixelDweight pixel_dw = dweight ? plan.pixel_dweight : nullptr;
  // Per thread, as vectors. Wide path: dweight sums [OC][taps] then dbias sums [OC], each a
  // vector of lane partials (as im2col_gemm's). Pixel-major path: [groups][taps + 1][cout] (the
  // last row dbias), each vector kLanes channels.
  const int64_t group_sums = pixel_dw ? (w.taps + 1) * (w.cout / kLanes) : w.cout * w.taps;
  const int64_t sums_per_thread =
      pixel_dw ? g.groups * group_sums : g.groups * w.cout * (w.taps + 1);
  ThreadSums sums(sums_per_thread);
  std::optional<TransposedDinput> transposed_dinput;
  if (dinput && plan.transposed) transposed_dinput.emplace(g, plan, weight);
  const TransposedDinput* td = transposed_dinput ? &*transposed_dinput : nullptr;

  parallel_region([&] {
    const Block block = thread_block(g.batch);
    if (block.begin < block.end) {
      Vec* my_sums = sums.mine();
      BackwardScratch s(w, block.end - block.begin, dweight, dinput, pixel_dw, td);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        Vec* gsums = my_sums + grp * group_sums;  // this group's dweight sums
        for (int64_t n0 = block.begin; n0 < block.end; n0 += s.chunk) {
          const int64_t count = std::min(s.chunk, block.end - n0);
          for (int64_t i = 0; i < count; ++i) {
            const int64_t n = n0 + i;
            float* d = s.wide_d ? s.dc.data() + i * s.d_floats : nullptr;
            const int64_t plane0 = n * g.out_channels + grp * w.cout;
            if (s.wide_d) wide_gradient(w, grad, plane0, d);
            if (pixel_dw) {
              float* dt = s.dtc.data() + i * s.pixels * w.cout;
              pixel_gradient(w, grad, plane0, dt);
              if (dbias) add_dbias_pixel_major(w, s.pixels, dt, gsums + w.taps * (w.cout / kLanes));
            } else if (dbias) {
              add_dbias_wide(w, d, my_sums + g.out_channels * w.taps + grp * w.cout);
            }
            if (dweight) {
              pad_image(g, w, input + n * image_size + grp * group_in,
                        s.pc.data() + i * w.p_floats);
            }
            if (dinput && td) {
              pad_wide_gradient(w, d, td->g, td->w, s.pt.data());
              forward_group(td->w, td->pixel_major, s.pt.data(),
                            td->a.data() + grp * td->w.taps * td->w.cout, nullptr,
                            {.output = dinput}, n * g.in_channels + grp * w.cin, s.ot.data());
            } else if (dinput) {
              input_gradient(g, w, {.weight = weight + grp * w.cout * w.taps, .d = d},
                             s.dcol.data(), s.phases.data(),
                             dinput + n * image_size + grp * group_in);
            }
          }
          if (pixel_dw) {
            pixel_dw(w, s.pc.data(), count, s.dtc.data(), gsums);
          } else if (dweight) {
            rows_gemm_t(w.cout, s.dc.data(), w.nq, s.pc.data(), w.off.data(), w.taps, w.nq, gsums,
                        {.count = count, .d_stride = s.d_floats, .b_stride = w.p_floats});
          }
        }
      }
    }
  });

  if (pixel_dw) {
    reduce_pixel_major(g, w, sums, dweight, dbias);
    return;
  }
  // Wide path: lanes summed per thread, then threads in order; the sums are dweight's layout
  // [OC][taps], then dbias [OC].
  std::vector<float> totals(static_cast<size_t>(sums_per_thread));
  sums.sum_lanes(totals.data());
  const int64_t dweight_size = g.out_channels * w.taps;
  if (dweight) std::copy(totals.begin(), totals.begin() + dweight_size, dweight);
  if (dbias) std::copy(totals.begin() + dweight_size, totals.end(), dbias);
}

}  // namespace tinycnn::kernels
