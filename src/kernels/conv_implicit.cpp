// Implicit-GEMM convolution; see conv_implicit.hpp for the formulas. The arithmetic is
// kernels/row_gemm.hpp's: rows_gemm for forward and dcol, rows_gemm_t for dweight.
#include "kernels/conv_implicit.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "kernels/parallel.hpp"
#include "kernels/row_gemm.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
using simd::kLanes;
using simd::Vec;

// The gathering col2im: input rows computed at once.
constexpr int kGatherRows = 2;
// dinput: dcol rows computed before the channels they complete are gathered.
constexpr int64_t kDcolRows = 40;
// dweight: images whose padded input and wide doutput are kept side by side for rows_gemm_t.
constexpr int64_t kChunk = 16;

// Everything the kernels need about one group of one image, in the wide layout.
struct Wide {
  int64_t cin, cout, taps, hp, wp, plane, oh, ow, nq, p_floats;
  std::vector<int64_t> off;       // per tap t = (c, ky, kx): c*plane + ky*wp + kx
  std::vector<int64_t> cout_off;  // per output channel m: m*nq (rows of D as B for dcol)
  // dcol rows: dcol_front zeros, nq values, zeros to dcol_stride; the gathering col2im reads a
  // row from (index - the tap's in-plane offset), up to one vector past the plane.
  int64_t dcol_front, dcol_stride;
};

Wide make_wide(const Conv2dGeometry& g) {
  Wide w;
  w.cin = g.in_per_group();
  w.cout = g.out_per_group();
  w.taps = g.col_rows();
  w.hp = g.in_h + 2 * g.pad_h;
  w.wp = g.in_w + 2 * g.pad_w;
  w.plane = w.hp * w.wp;
  w.oh = g.out_h();
  w.ow = g.out_w();
  w.nq = round_up(w.oh * w.wp, kRowBlock);
  w.off.reserve(static_cast<size_t>(w.taps));
  for (int64_t c = 0; c < w.cin; ++c) {
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) w.off.push_back(c * w.plane + ky * w.wp + kx);
    }
  }
  // Thrown-away wide columns read past their channel, the last ones past the plane: room for it.
  w.p_floats = std::max(w.cin * w.plane, w.off.back() + w.nq);
  for (int64_t m = 0; m < w.cout; ++m) w.cout_off.push_back(m * w.nq);
  w.dcol_front = round_up((g.kernel_h - 1) * w.wp + g.kernel_w - 1, kLanes);
  // Rows past the image's last (the gather's partial last row block) read up to kGatherRows - 1
  // rows further: margin for them too.
  w.dcol_stride =
      w.dcol_front + round_up(std::max(w.nq, w.plane + kGatherRows * w.wp + kLanes), kLanes);
  return w;
}

// P = the group's channels of one image, zero-padded, in a buffer of w.p_floats.
void pad_image(const Conv2dGeometry& g, const Wide& w, const float* image, float* p) {
  std::fill(p, p + w.p_floats, 0.0f);
  for (int64_t c = 0; c < w.cin; ++c) {
    for (int64_t y = 0; y < g.in_h; ++y) {
      const float* src = image + (c * g.in_h + y) * g.in_w;
      simd::copy(p + c * w.plane + (y + g.pad_h) * w.wp + g.pad_w, src, g.in_w);
    }
  }
}

// Pixel-major forward, for layers whose output channels fill whole vectors and whose wide rows
// throw much away (LeNet's conv2 keeps 10 of 14): a register block of kPixelRows x C output
// pixels, each one vector of output channels; per tap one weight-vector load and one broadcast
// per pixel. Per output element the same fused multiply-adds in the same tap order as
// rows_gemm, so the same bits.
constexpr int kPixelRows = 2;
constexpr int kPixelCols = simd::kRegisters >= 32 ? 12 : 6;

template <int R, int C>
void pixel_block(const float* p, int64_t wp, const int64_t* off, int64_t taps, const float* wt,
                 int64_t ldw, const float* bias, int64_t y0, int64_t x0, int64_t ow, float* out_t) {
  Vec acc[R][C];
  const Vec start = bias ? simd::load(bias) : Vec{};
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = start;
  }
  const float* row[R];
  for (int r = 0; r < R; ++r) row[r] = p + (y0 + r) * wp + x0;
  for (int64_t t = 0; t < taps; ++t) {
    const Vec wv = simd::load(wt + t * ldw);
    for (int r = 0; r < R; ++r) {
      const float* src = row[r] + off[t];
      for (int c = 0; c < C; ++c) acc[r][c] += simd::splat(src[c]) * wv;
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) simd::store(out_t + ((y0 + r) * ow + x0 + c) * kLanes, acc[r][c]);
  }
}

using PixelBlock = void (*)(const float*, int64_t, const int64_t*, int64_t, const float*, int64_t,
                            const float*, int64_t, int64_t, int64_t, float*);
template <int R, int... Cs>
constexpr std::array<PixelBlock, sizeof...(Cs)> pixel_row(std::integer_sequence<int, Cs...>) {
  return {&pixel_block<R, Cs + 1>...};
}
constexpr std::array<std::array<PixelBlock, kPixelCols>, kPixelRows> kPixelBlocks = {
    pixel_row<1>(std::make_integer_sequence<int, kPixelCols>{}),
    pixel_row<2>(std::make_integer_sequence<int, kPixelCols>{})};

bool use_pixel_major(const Wide& w) { return w.cout % kLanes == 0 && w.ow * 10 < w.wp * 8; }

// One image and group, pixel-major: out[m][y][x] for all m, via out_t [pixels][kLanes] per
// vector of output channels.
void forward_pixel_major(const Wide& w, const float* p, const float* wt, const float* bias,
                         float* out_t, float* out, bool relu) {
  const int64_t pixels = w.oh * w.ow;
  for (int64_t m0 = 0; m0 < w.cout; m0 += kLanes) {
    for (int64_t y0 = 0; y0 < w.oh; y0 += kPixelRows) {
      const int64_t r = std::min<int64_t>(kPixelRows, w.oh - y0);
      for (int64_t x0 = 0; x0 < w.ow; x0 += kPixelCols) {
        const int64_t c = std::min<int64_t>(kPixelCols, w.ow - x0);
        kPixelBlocks[static_cast<size_t>(r - 1)][static_cast<size_t>(c - 1)](
            p, w.wp, w.off.data(), w.taps, wt + m0, w.cout, bias ? bias + m0 : nullptr, y0, x0,
            w.ow, out_t);
      }
    }
    if (relu) {
      for (int64_t i = 0; i < pixels; ++i) {
        const Vec v = simd::load(out_t + i * kLanes);
        simd::store(out_t + i * kLanes, simd::select(v > Vec{}, v, Vec{}));
      }
    }
    for (int64_t i = 0; i < pixels; ++i) {
      for (int l = 0; l < kLanes; ++l) out[(m0 + l) * pixels + i] = out_t[i * kLanes + l];
    }
  }
}

// Pixel-major dweight (where the forward is pixel-major and the kernel is 3x3 or 5x5): for one
// vector of output channels and one input channel, all KH x KW taps' sums stay in registers
// while the chunk's pixels stream through: per pixel one load of doutput (transposed: the
// channels of a pixel side by side) and one broadcast of the input per tap. No thrown-away
// columns and no lane sums; sums [taps][cout] as vectors of channels.
template <int KH, int KW>
void pixel_dweight(const Wide& w, const float* pc, int64_t count, const float* dtc, Vec* tsums) {
  const int64_t pixels = w.oh * w.ow, vectors = w.cout / kLanes;
  for (int64_t v = 0; v < vectors; ++v) {
    for (int64_t c = 0; c < w.cin; ++c) {
      Vec acc[KH * KW];
      for (int j = 0; j < KH * KW; ++j) acc[j] = tsums[(c * KH * KW + j) * vectors + v];
      for (int64_t i = 0; i < count; ++i) {
        const float* p = pc + i * w.p_floats + c * w.plane;
        const float* dt = dtc + i * pixels * w.cout + v * kLanes;
        for (int64_t y = 0; y < w.oh; ++y) {
          for (int64_t x = 0; x < w.ow; ++x) {
            const Vec dv = simd::load(dt + (y * w.ow + x) * w.cout);
            for (int ky = 0; ky < KH; ++ky) {
              const float* src = simd::opaque(p + (y + ky) * w.wp + x);
              for (int kx = 0; kx < KW; ++kx) acc[ky * KW + kx] += simd::splat(src[kx]) * dv;
            }
          }
        }
      }
      for (int j = 0; j < KH * KW; ++j) tsums[(c * KH * KW + j) * vectors + v] = acc[j];
    }
  }
}

using PixelDweight = void (*)(const Wide&, const float*, int64_t, const float*, Vec*);
PixelDweight select_pixel_dweight(const Conv2dGeometry& g, const Wide& w) {
  if (!use_pixel_major(w)) return nullptr;
  if (g.kernel_h == 5 && g.kernel_w == 5) return &pixel_dweight<5, 5>;
  if (g.kernel_h == 3 && g.kernel_w == 3) return &pixel_dweight<3, 3>;
  return nullptr;
}

// dinput of one image and group from its wide D: dcol[t][q] = sum_m W[m][t] D[m][q] (rows_gemm
// with the roles of A swapped, into rows with zero margins), then col2im as a gather (no
// read-modify-write: stores overlapping the next tap's loads stalled store forwarding and cost 3x
// more): din[c][y][x] = sum_{ky,kx} dcol[(c,ky,kx)][(y+pad_h-ky)*wp + x+pad_w-kx].
// kDcolRows rows at a time, each channel gathered as soon as its rows are done: the rows are
// read back while they are still in L1 (all of dcol, 200 KiB for LeNet's conv2, is not).
void input_gradient(const Conv2dGeometry& g, const Wide& w, const float* weight, const float* d,
                    float* dcol, float* dimage) {
  const int64_t taps_per_channel = w.taps / w.cin;
  int64_t c = 0;  // the next channel to gather
  for (int64_t r0 = 0; r0 < w.taps; r0 += kDcolRows) {
    const int64_t rows = std::min(kDcolRows, w.taps - r0);
    rows_gemm(rows, weight + r0, w.taps, d, w.cout_off.data(), w.cout, nullptr,
              dcol + w.dcol_front + r0 * w.dcol_stride, w.dcol_stride, w.nq);
    for (; c < w.cin && (c + 1) * taps_per_channel <= r0 + rows; ++c) {
      const float* rows_c = dcol + c * taps_per_channel * w.dcol_stride + w.dcol_front;
      // kGatherRows rows at once: independent sums, so the adds do not wait on each other (one
      // chain of 25 dependent adds per vector was latency-bound).
      for (int64_t y0 = 0; y0 < g.in_h; y0 += kGatherRows) {
        const int64_t ny = std::min<int64_t>(kGatherRows, g.in_h - y0);
        for (int64_t x = 0; x < g.in_w; x += kLanes) {
          Vec acc[kGatherRows] = {};
          const float* base = rows_c + (y0 + g.pad_h) * w.wp + g.pad_w + x;
          for (int64_t t = 0; t < taps_per_channel; ++t) {
            const float* src = base + t * w.dcol_stride - w.off[t];
            for (int j = 0; j < kGatherRows; ++j) acc[j] += simd::load(src + j * w.wp);
          }
          for (int64_t j = 0; j < ny; ++j) {
            simd::store_first(dimage + (c * g.in_h + y0 + j) * g.in_w + x, acc[j],
                              std::min<int64_t>(kLanes, g.in_w - x));
          }
        }
      }
    }
  }
}

}  // namespace

bool conv2d_implicit_supported(const Conv2dGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1;
}

int64_t conv2d_implicit_forward_workspace_bytes(const Conv2dGeometry& g, int threads) {
  const Wide w = make_wide(g);
  return (static_cast<int64_t>(threads) * (w.p_floats + w.cout * w.nq) +
          g.groups * w.taps * w.cout) *
         4;
}

int64_t conv2d_implicit_backward_workspace_bytes(const Conv2dGeometry& g, int threads) {
  const Wide w = make_wide(g);
  const int64_t per_thread = w.p_floats + w.cout * w.nq + w.taps * w.dcol_stride +
                             g.groups * w.cout * (w.taps + 1) * kLanes;
  return static_cast<int64_t>(threads) * per_thread * 4;
}

void conv2d_implicit_forward(const Conv2dGeometry& g, const float* input, const float* weight,
                             const float* bias, float* output, bool relu) {
  TCNN_CHECK(conv2d_implicit_supported(g), "conv2d implicit: stride 1 only, got ", g.stride_h, "x",
             g.stride_w);
  const Wide w = make_wide(g);
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = w.cin * g.in_h * g.in_w;
  // A = W^T per group: wt[grp][t][m], so a tap's weights for consecutive channels are adjacent.
  const std::vector<float> wt = transpose_groups(weight, g.groups, w.cout, w.taps);
#pragma omp parallel
  {
    const Block block = thread_block(g.batch);
    if (block.begin < block.end) {
      const bool pixel_major = use_pixel_major(w);
      std::vector<float> p(static_cast<size_t>(w.p_floats));
      std::vector<float> wide(
          static_cast<size_t>(pixel_major ? w.oh * w.ow * kLanes : w.cout * w.nq));
      for (int64_t n = block.begin; n < block.end; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          pad_image(g, w, input + n * image_size + grp * group_in, p.data());
          if (pixel_major) {
            forward_pixel_major(w, p.data(), wt.data() + grp * w.taps * w.cout,
                                bias ? bias + grp * w.cout : nullptr, wide.data(),
                                output + (n * g.out_channels + grp * w.cout) * w.oh * w.ow, relu);
            continue;
          }
          rows_gemm(w.cout, wt.data() + grp * w.taps * w.cout, w.cout, p.data(), w.off.data(),
                    w.taps, bias ? bias + grp * w.cout : nullptr, wide.data(), w.nq, w.nq);
          float* out = output + (n * g.out_channels + grp * w.cout) * w.oh * w.ow;
          for (int64_t m = 0; m < w.cout; ++m) {
            for (int64_t y = 0; y < w.oh; ++y) {
              const float* src = wide.data() + m * w.nq + y * w.wp;
              if (relu) {
                simd::copy_relu(out + (m * w.oh + y) * w.ow, src, w.ow);
              } else {
                simd::copy(out + (m * w.oh + y) * w.ow, src, w.ow);
              }
            }
          }
        }
      }
    }
  }
}

void conv2d_implicit_backward(const Conv2dGeometry& g, const float* input, const float* weight,
                              const float* doutput, float* dinput, float* dweight, float* dbias,
                              const float* relu_output) {
  TCNN_CHECK(conv2d_implicit_supported(g), "conv2d implicit: stride 1 only, got ", g.stride_h, "x",
             g.stride_w);
  const Wide w = make_wide(g);
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = w.cin * g.in_h * g.in_w;
  const int64_t out_plane = w.oh * w.ow;
  const PixelDweight pixel_dw = dweight ? select_pixel_dweight(g, w) : nullptr;
  // Per thread, as vectors. Wide path: dweight sums [OC][taps] then dbias sums [OC], each a
  // vector of lane partials (as conv_im2col's). Pixel-major path: [groups][taps + 1][cout] (the
  // last row dbias), each vector kLanes channels.
  const int64_t sums_per_thread =
      pixel_dw ? g.groups * (w.taps + 1) * (w.cout / kLanes) : g.groups * w.cout * (w.taps + 1);
  ThreadSums sums(sums_per_thread);

#pragma omp parallel
  {
    const Block block = thread_block(g.batch);
    if (block.begin < block.end) {
      Vec* my_sums = sums.mine();
      // Up to kChunk images' P and D side by side, so rows_gemm_t keeps its sums in registers
      // across them (same additions, same order as image by image).
      const int64_t chunk = std::min(kChunk, block.end - block.begin);
      const int64_t d_floats = w.cout * w.nq;
      std::vector<float> pc(dweight ? static_cast<size_t>(chunk * w.p_floats) : 0);
      const bool wide_d = dinput || !pixel_dw;  // the wide D serves dinput and wide dweight
      std::vector<float> dc(wide_d ? static_cast<size_t>(chunk * d_floats) : 0, 0.0f);
      std::vector<float> dcol(dinput ? static_cast<size_t>(w.taps * w.dcol_stride) : 0, 0.0f);
      const int64_t pixels = w.oh * w.ow;
      std::vector<float> dtc(pixel_dw ? static_cast<size_t>(chunk * pixels * w.cout) : 0);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        // This group's dweight sums (pixel-major: with its dbias row).
        Vec* gsums =
            my_sums + grp * (pixel_dw ? (w.taps + 1) * (w.cout / kLanes) : w.cout * w.taps);
        for (int64_t n0 = block.begin; n0 < block.end; n0 += chunk) {
          const int64_t count = std::min(chunk, block.end - n0);
          for (int64_t i = 0; i < count; ++i) {
            const int64_t n = n0 + i;
            float* d = wide_d ? dc.data() + i * d_floats : nullptr;
            // D: doutput in the wide layout; the thrown-away columns stay zero.
            const int64_t image_out = (n * g.out_channels + grp * w.cout) * out_plane;
            const float* dout = doutput + image_out;
            // The fused ReLU's output: doutput counts only where it is positive.
            const float* key = relu_output ? relu_output + image_out : nullptr;
            for (int64_t m = 0; m < (wide_d ? w.cout : 0); ++m) {
              for (int64_t y = 0; y < w.oh; ++y) {
                const int64_t at = (m * w.oh + y) * w.ow;
                if (key) {
                  simd::copy_where_positive(d + m * w.nq + y * w.wp, dout + at, key + at, w.ow);
                } else {
                  simd::copy(d + m * w.nq + y * w.wp, dout + at, w.ow);
                }
              }
            }
            if (pixel_dw) {
              // doutput transposed: a pixel's channels side by side.
              float* dt = dtc.data() + i * pixels * w.cout;
              // Two loops, not a test per element: a data-dependent branch (the sign of the
              // ReLU's output) mispredicted half the time.
              for (int64_t m = 0; m < w.cout; ++m) {
                if (key) {
                  for (int64_t q = 0; q < pixels; ++q) {
                    const float k = key[m * pixels + q], v = dout[m * pixels + q];
                    dt[q * w.cout + m] = k > 0.0f ? v : 0.0f;
                  }
                } else {
                  for (int64_t q = 0; q < pixels; ++q) dt[q * w.cout + m] = dout[m * pixels + q];
                }
              }
              if (dbias) {
                // In a register per vector of channels (adding into memory made one chain of
                // store-to-load round trips), the same additions in the same order.
                Vec* bsums = gsums + w.taps * (w.cout / kLanes);
                for (int64_t v = 0; v < w.cout / kLanes; ++v) {
                  Vec acc = bsums[v];
                  for (int64_t q = 0; q < pixels; ++q) acc += simd::load(dt + q * w.cout + v * kLanes);
                  bsums[v] = acc;
                }
              }
            } else if (dbias) {
              for (int64_t m = 0; m < w.cout; ++m) {
                Vec acc{};
                for (int64_t q = 0; q < w.nq; q += kLanes) acc += simd::load(d + m * w.nq + q);
                my_sums[g.out_channels * w.taps + grp * w.cout + m] += acc;
              }
            }
            if (dweight) {
              pad_image(g, w, input + n * image_size + grp * group_in, pc.data() + i * w.p_floats);
            }
            if (dinput) {
              input_gradient(g, w, weight + grp * w.cout * w.taps, d, dcol.data(),
                             dinput + n * image_size + grp * group_in);
            }
          }
          if (pixel_dw) {
            pixel_dw(w, pc.data(), count, dtc.data(), gsums);
          } else if (dweight) {
            rows_gemm_t(w.cout, dc.data(), w.nq, pc.data(), w.off.data(), w.taps, w.nq, gsums,
                        {.count = count, .d_stride = d_floats, .b_stride = w.p_floats});
          }
        }
      }
    }
  }

  if (pixel_dw) {
    // Threads in order; sums [groups][taps + 1][cout] -> dweight [OC][taps], dbias [OC].
    // Float i of a thread's slice: lane i % kLanes of its vector i / kLanes.
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
