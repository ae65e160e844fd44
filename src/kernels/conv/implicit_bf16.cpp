// The implicit convolution in bf16; see implicit_bf16.hpp. The same loops as implicit.cpp's
// wide path: images on threads in contiguous blocks, dweight over chunks of images with its
// sums in registers, partial sums combined in thread order.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/implicit_bf16.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "kernels/conv/bf16_gemm.hpp"
#include "kernels/conv/gather_col2im.hpp"
#include "kernels/conv/implicit_parts.hpp"
#include "kernels/conv/row_gemm.hpp"
#include "kernels/parallel.hpp"

namespace tinycnn::kernels {

namespace {
using simd::Vec;

// Whether the padded image goes through the float layout first (pad_image's phases).
bool strided(const Wide& w) { return w.sh != 1 || w.sw != 1; }

// One channel of a padded image: its kept phases.
int64_t channel_floats(const Wide& w) { return w.phases_h * w.phases_w * w.plane; }

PairedRows paired(const Wide& w) {
  PairedRows r;
  const int64_t kk = w.taps / w.cin, cpairs = (w.cin + 1) / 2, stride = channel_floats(w);
  r.pairs = cpairs * kk;
  r.off.reserve(static_cast<size_t>(r.pairs));
  int64_t last = 0;
  for (int64_t cp = 0; cp < cpairs; ++cp) {
    for (int64_t k = 0; k < kk; ++k) {
      // Row (2cp, k) of the float layout is at 2cp * stride + (its offset in the channel).
      const int64_t o = w.off[static_cast<size_t>(2 * cp * kk + k)] - cp * stride;
      r.off.push_back(o);
      last = std::max(last, o);
    }
  }
  r.p_pairs = std::max(cpairs * stride, last + w.nq);
  return r;
}

// The padded image p (float, w's layout) paired over channels into p2 (r.p_pairs, zero beyond
// the pairs written: zero it once).
void pair_image(const Wide& w, const float* p, Bfloat16Pair* p2) {
  pair_rows(p, w.cin, 1, channel_floats(w), p2);
}

// One group of an image padded and paired over channels into p2 (zero elsewhere: zero it once).
// At stride 1 each row pair goes there directly; strided, through the float padded image p
// (w.p_floats, zero elsewhere), whose phases pad_image lays out.
void pad_image_paired(const Conv2dGeometry& g, const Wide& w, const float* image, float* p,
                      Bfloat16Pair* p2) {
  if (strided(w)) {
    pad_image(g, w, image, p);
    pair_image(w, p, p2);
    return;
  }
  const int64_t plane_in = g.in_h * g.in_w;
  for (int64_t cp = 0; cp < (w.cin + 1) / 2; ++cp) {
    const float* lo = image + 2 * cp * plane_in;
    const float* hi = 2 * cp + 1 < w.cin ? lo + plane_in : nullptr;
    for (int64_t y = 0; y < g.in_h; ++y) {
      pair_bf16(lo + y * g.in_w, hi ? hi + y * g.in_w : nullptr, g.in_w,
                p2 + cp * w.plane + (y + g.pad_h) * w.wp + g.pad_w);
    }
  }
}

// One group of an image (float32, or the bfloat16 values a node kept) padded as bfloat16 (w's
// layout) into pb (zero elsewhere: zero it once). Directly at stride 1 (bfloat16 rows copied as
// they are); strided, through the float padded image p, whose phases pad_image lays out from
// float32 (a bfloat16 image widened into `widened` first: w.cin planes).
void pad_image_bf16(const Conv2dGeometry& g, const Wide& w, InputValues image, float* p,
                    float* widened, Bfloat16* pb) {
  if (strided(w)) {
    const float* src = image.f32;
    if (!src) {
      from_bf16(image.bf16, w.cin * g.in_h * g.in_w, widened);
      src = widened;
    }
    pad_image(g, w, src, p);
    to_bf16(p, w.p_floats, pb);
    return;
  }
  for (int64_t c = 0; c < w.cin; ++c) {
    for (int64_t y = 0; y < g.in_h; ++y) {
      const int64_t from = (c * g.in_h + y) * g.in_w;
      Bfloat16* to = pb + c * w.plane + (y + g.pad_h) * w.wp + g.pad_w;
      if (image.f32) {
        to_bf16(image.f32 + from, g.in_w, to);
      } else {
        std::memcpy(to, image.bf16 + from, static_cast<size_t>(g.in_w) * sizeof(Bfloat16));
      }
    }
  }
}

// Weights [groups][cout][taps] as the forward's A per group: [(c/2, k)][cout] pairs.
std::vector<Bfloat16Pair> forward_weights(const Conv2dGeometry& g, const Wide& w,
                                          const float* weight) {
  const std::vector<float> wt = transpose_groups(weight, g.groups, w.cout, w.taps);
  const int64_t kk = w.taps / w.cin, per_group = (w.cin + 1) / 2 * kk * w.cout;
  std::vector<Bfloat16Pair> a(static_cast<size_t>(g.groups * per_group));
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    pair_rows(wt.data() + grp * w.taps * w.cout, w.cin, kk, w.cout, a.data() + grp * per_group);
  }
  return a;
}

// One image and group: A2 times the paired image into the wide scratch (or pixel-major, a
// vector of output channels at a time, as the float32 plan chose), then the epilogue.
void forward_group(const Wide& w, bool pixel_major, const PairedRows& r, const Bfloat16Pair* p2,
                   const Bfloat16Pair* a2, const float* bias, const ConvOutput& out, int64_t plane0,
                   float* scratch) {
  if (pixel_major) {
    for (int64_t m0 = 0; m0 < w.cout; m0 += simd::kLanes) {
      pixel_major_forward_bf16(w, r.off.data(), r.pairs, p2, a2, bias, m0, scratch);
      store_pixel_major(w, out, plane0, m0, scratch);
    }
    return;
  }
  rows_gemm_bf16(w.cout, a2, w.cout, p2, r.off.data(), r.pairs, bias, scratch, w.nq, w.nq);
  store_wide(w, out, plane0, scratch);
}
}  // namespace

void pair_rows(const float* a, int64_t channels, int64_t kk, int64_t cols, Bfloat16Pair* out) {
  for (int64_t cp = 0; cp < (channels + 1) / 2; ++cp) {
    for (int64_t k = 0; k < kk; ++k) {
      const float* lo = a + (2 * cp * kk + k) * cols;
      const float* hi = 2 * cp + 1 < channels ? lo + kk * cols : nullptr;
      pair_bf16(lo, hi, cols, out + (cp * kk + k) * cols);
    }
  }
}

ImplicitBf16Plan plan_implicit_bf16(const Conv2dGeometry& g, const ImplicitPlan& plan) {
  ImplicitBf16Plan bf;
  bf.pixel_dweight = select_pixel_dweight_bf16(g, plan.wide);
  bf.forward = paired(plan.wide);
  if (plan.transposed) bf.transposed = paired(*plan.transposed);
  bf.nq2 = round_up(plan.wide.nq, kBf16Block);
  bf.p_bf16 = plan.wide.p_floats + kBf16Block;
  return bf;
}

int64_t conv2d_implicit_bf16_forward_workspace_bytes(const ImplicitPlan& plan,
                                                     const ImplicitBf16Plan& bf,
                                                     const Conv2dGeometry& g, int threads) {
  const Wide& w = plan.wide;
  const int64_t per_thread = 4 * (w.p_floats + bf.forward.p_pairs + w.wide_floats);
  return threads * per_thread + 4 * g.groups * bf.forward.pairs * w.cout;
}

int64_t conv2d_implicit_bf16_backward_workspace_bytes(const ImplicitPlan& plan,
                                                      const ImplicitBf16Plan& bf,
                                                      const Conv2dGeometry& g, int threads) {
  const Wide& w = plan.wide;
  const int64_t chunk = kImplicitChunk;
  int64_t per_thread = 4 * (w.p_floats + chunk * w.cout * w.nq) +
                       2 * chunk * (bf.p_bf16 + w.cout * bf.nq2) +
                       4 * g.groups * w.cout * (w.taps + 1) * simd::kLanes;
  int64_t shared = 0;
  if (bf.transposed) {
    const Wide& t = *plan.transposed;
    per_thread += 4 * (t.p_floats + bf.transposed->p_pairs + t.wide_floats);
    shared = 4 * g.groups * bf.transposed->pairs * t.cout;
  } else {
    per_thread += 4 * (w.taps * w.dcol_stride + phase_floats(w) + (w.cout + 1) / 2 * w.nq);
    shared = 4 * g.groups * (w.cout + 1) / 2 * w.taps;
  }
  return threads * per_thread + shared;
}

void conv2d_implicit_bf16_forward(const ImplicitPlan& plan, const ImplicitBf16Plan& bf,
                                  const Conv2dGeometry& g, const float* input, const float* weight,
                                  const float* bias, const ConvOutput& out) {
  TCNN_CHECK(!out.pooled || (g.out_h() >= 2 && g.out_w() >= 2),
             "conv2d implicit: a fused 2x2 pool needs an output of at least 2x2, got ", g.out_h(),
             "x", g.out_w());
  const Wide& w = plan.wide;
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = w.cin * g.in_h * g.in_w;
  const std::vector<Bfloat16Pair> a2 = forward_weights(g, w, weight);
  const int64_t a_group = bf.forward.pairs * w.cout;
  parallel_region([&] {
    const Block block = thread_block(g.batch);
    if (block.begin < block.end) {
      std::vector<float> p(strided(w) ? static_cast<size_t>(w.p_floats) : 0, 0.0f);  // zero once
      std::vector<Bfloat16Pair> p2(static_cast<size_t>(bf.forward.p_pairs), 0);
      std::vector<float> scratch(static_cast<size_t>(w.wide_floats), 0.0f);
      for (int64_t n = block.begin; n < block.end; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          pad_image_paired(g, w, input + n * image_size + grp * group_in, p.data(), p2.data());
          forward_group(w, plan.pixel_major, bf.forward, p2.data(), a2.data() + grp * a_group,
                        bias ? bias + grp * w.cout : nullptr, out,
                        n * g.out_channels + grp * w.cout, scratch.data());
        }
      }
    }
  });
}

namespace {
// dinput's operands shared by the threads: the transposed convolution's paired flipped weights,
// or dcol's weights paired over the output channels.
struct Bf16Dinput {
  Conv2dGeometry gt;  // the transposed convolution (when taken)
  std::vector<Bfloat16Pair> a2;
  int64_t a_group = 0;
  Bf16Dinput(const Conv2dGeometry& g, const ImplicitPlan& plan, const ImplicitBf16Plan& bf,
             const float* weight) {
    const Wide& w = plan.wide;
    const int64_t kk = w.taps / w.cin;
    if (plan.transposed) {
      gt = transposed_convolution(g);
      const std::vector<float> flipped = flipped_weights(g, weight);
      a_group = bf.transposed->pairs * w.cin;
      a2.resize(static_cast<size_t>(g.groups * a_group));
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        pair_rows(flipped.data() + grp * w.cout * kk * w.cin, w.cout, kk, w.cin,
                  a2.data() + grp * a_group);
      }
    } else {
      a_group = (w.cout + 1) / 2 * w.taps;
      a2.resize(static_cast<size_t>(g.groups * a_group));
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        pair_rows(weight + grp * w.cout * w.taps, w.cout, 1, w.taps, a2.data() + grp * a_group);
      }
    }
  }
};

// One thread's buffers: a chunk of images' float wide gradients (dc) and, for dweight, their
// bfloat16 forms (dcb, rows nq2 apart) beside their padded inputs as bfloat16 (pcb); a float
// padded image (p); dinput's scratch (the transposed convolution's padded gradient, float and
// paired, and its wide result; or dcol, the strided gather's phases and the paired gradient).
struct Bf16Scratch {
  int64_t chunk;
  std::vector<float> dc, p;
  std::vector<float> image;  // strided, from a bfloat16 input: one group of an image widened
  std::vector<Bfloat16> dcb, pcb;
  std::vector<float> pt, ot, dcol, phases;
  std::vector<Bfloat16Pair> pt2, d2;
  std::vector<float> dt;          // pixel-major dweight: one image's gradient [pixels][cout]
  std::vector<Bfloat16Pair> dt2;  // ... and the chunk's, paired over neighbouring pixels
  Bf16Scratch(const Conv2dGeometry& g, const ImplicitPlan& plan, const ImplicitBf16Plan& bf,
              int64_t images, bool dweight, bool dinput, bool bf16_input)
      : chunk(std::min(kImplicitChunk, images)) {
    const Wide& w = plan.wide;
    const bool pixel = dweight && bf.pixel_dweight;
    if (dinput || !pixel) dc.assign(static_cast<size_t>(chunk * w.cout * w.nq), 0.0f);
    if (dweight) {
      if (strided(w)) p.assign(static_cast<size_t>(w.p_floats), 0.0f);
      if (strided(w) && bf16_input) image.resize(static_cast<size_t>(w.cin * g.in_h * g.in_w));
      pcb.assign(static_cast<size_t>(chunk * bf.p_bf16), 0);
    }
    if (dweight && !pixel) dcb.assign(static_cast<size_t>(chunk * w.cout * bf.nq2), 0);
    if (pixel) {
      dt.resize(static_cast<size_t>(w.oh * w.ow * w.cout));
      dt2.assign(static_cast<size_t>(chunk * w.oh * ((w.ow + 1) / 2) * w.cout), 0);
    }
    if (dinput && plan.transposed) {
      pt.assign(static_cast<size_t>(plan.transposed->p_floats), 0.0f);
      pt2.assign(static_cast<size_t>(bf.transposed->p_pairs), 0);
      ot.assign(static_cast<size_t>(plan.transposed->wide_floats), 0.0f);
    } else if (dinput) {
      dcol.assign(static_cast<size_t>(w.taps * w.dcol_stride), 0.0f);
      phases.resize(static_cast<size_t>(phase_floats(w)));
      d2.assign(static_cast<size_t>((w.cout + 1) / 2 * w.nq), 0);
    }
  }
};

// The image's padded input as bfloat16 rows, and its gradient as the dweight kernel reads it:
// the wide d as bfloat16 rows for rows_gemm_t_bf16, or (pixel-major, from s.dt) transposed
// and paired over neighbouring pixels.
void convert_for_dweight(const Conv2dGeometry& g, const Wide& w, const ImplicitBf16Plan& bf,
                         InputValues image, const float* d, Bf16Scratch& s, int64_t i) {
  pad_image_bf16(g, w, image, s.p.data(), s.image.data(), s.pcb.data() + i * bf.p_bf16);
  if (bf.pixel_dweight) {
    const int64_t owp = (w.ow + 1) / 2;
    Bfloat16Pair* dt2 = s.dt2.data() + i * w.oh * owp * w.cout;
    for (int64_t y = 0; y < w.oh; ++y) {
      for (int64_t xp = 0; xp < owp; ++xp) {
        const float* lo = s.dt.data() + (y * w.ow + 2 * xp) * w.cout;
        pair_bf16(lo, 2 * xp + 1 < w.ow ? lo + w.cout : nullptr, w.cout,
                  dt2 + (y * owp + xp) * w.cout);
      }
    }
    return;
  }
  Bfloat16* db = s.dcb.data() + i * w.cout * bf.nq2;
  for (int64_t m = 0; m < w.cout; ++m) to_bf16(d + m * w.nq, w.nq, db + m * bf.nq2);
}

void image_dinput(const ImplicitPlan& plan, const ImplicitBf16Plan& bf, const Bf16Dinput& dd,
                  const Conv2dGeometry& g, int64_t grp, const float* d, Bf16Scratch& s,
                  float* dinput, int64_t n) {
  const Wide& w = plan.wide;
  if (plan.transposed) {
    const Wide& t = *plan.transposed;
    pad_wide_gradient(w, d, dd.gt, t, s.pt.data());
    pair_image(t, s.pt.data(), s.pt2.data());
    forward_group(t, plan.transposed_pixel_major, *bf.transposed, s.pt2.data(),
                  dd.a2.data() + grp * dd.a_group, nullptr, {.output = dinput},
                  n * g.in_channels + grp * w.cin, s.ot.data());
    return;
  }
  pair_rows(d, w.cout, 1, w.nq, s.d2.data());
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  input_gradient(g, w, {.weight2 = dd.a2.data() + grp * dd.a_group, .d2 = s.d2.data()},
                 s.dcol.data(), s.phases.data(),
                 dinput + n * image_size + grp * w.cin * g.in_h * g.in_w);
}
}  // namespace

void conv2d_implicit_bf16_backward(const ImplicitPlan& plan, const ImplicitBf16Plan& bf,
                                   const Conv2dGeometry& g, InputValues input, const float* weight,
                                   const ConvGradient& grad, float* dinput, float* dweight,
                                   float* dbias) {
  const Wide& w = plan.wide;
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = w.cin * g.in_h * g.in_w;
  // Per thread, as vectors: wide dweight, sums [OC][taps] then dbias sums [OC], each a vector
  // of lane partials; pixel-major, [groups][taps + 1][cout] (the last row dbias), each vector
  // kLanes channels.
  const PixelDweightBf16 pixel_dw = dweight ? bf.pixel_dweight : nullptr;
  const int64_t group_sums = pixel_dw ? (w.taps + 1) * (w.cout / simd::kLanes) : w.cout * w.taps;
  ThreadSums sums(pixel_dw ? g.groups * group_sums : g.groups * w.cout * (w.taps + 1));
  std::optional<Bf16Dinput> dd;
  if (dinput) dd.emplace(g, plan, bf, weight);
  const int64_t d_floats = w.cout * w.nq;

  parallel_region([&] {
    const Block block = thread_block(g.batch);
    if (block.begin >= block.end) return;
    Vec* my_sums = sums.mine();
    Bf16Scratch s(g, plan, bf, block.end - block.begin, dweight, dinput, input.bf16 != nullptr);
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      for (int64_t n0 = block.begin; n0 < block.end; n0 += s.chunk) {
        const int64_t count = std::min(s.chunk, block.end - n0);
        Vec* gsums = my_sums + grp * group_sums;
        for (int64_t i = 0; i < count; ++i) {
          const int64_t n = n0 + i;
          float* d = s.dc.empty() ? nullptr : s.dc.data() + i * d_floats;
          const int64_t plane0 = n * g.out_channels + grp * w.cout;
          if (d) wide_gradient(w, grad, plane0, d);
          if (pixel_dw) {
            pixel_gradient(w, grad, plane0, s.dt.data());
            if (dbias)
              add_dbias_pixel_major(w, w.oh * w.ow, s.dt.data(),
                                    gsums + w.taps * (w.cout / simd::kLanes));
          } else if (dbias) {
            add_dbias_wide(w, d, my_sums + g.out_channels * w.taps + grp * w.cout);
          }
          if (dweight) {
            convert_for_dweight(g, w, bf, input.at(n * image_size + grp * group_in), d, s, i);
          }
          if (dinput) image_dinput(plan, bf, *dd, g, grp, d, s, dinput, n);
        }
        if (pixel_dw) {
          pixel_dw(w, s.pcb.data(), bf.p_bf16, count, s.dt2.data(), gsums);
        } else if (dweight) {
          rows_gemm_t_bf16(w.cout, s.dcb.data(), bf.nq2, s.pcb.data(), w.off.data(), w.taps, bf.nq2,
                           my_sums + grp * w.cout * w.taps,
                           {.count = count, .d_stride = w.cout * bf.nq2, .b_stride = bf.p_bf16});
        }
      }
    }
  });

  if (pixel_dw) {
    reduce_pixel_major(g, w, sums, dweight, dbias);
    return;
  }
  std::vector<float> totals(static_cast<size_t>(g.groups * w.cout * (w.taps + 1)));
  sums.sum_lanes(totals.data());
  const int64_t dweight_size = g.out_channels * w.taps;
  if (dweight) std::copy(totals.begin(), totals.begin() + dweight_size, dweight);
  if (dbias) std::copy(totals.begin() + dweight_size, totals.end(), dbias);
}

}  // namespace tinycnn::kernels
