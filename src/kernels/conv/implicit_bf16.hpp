// The implicit-GEMM convolution (implicit.hpp) in mixed precision: the same wide layout, the
// same choices of dinput (the transposed convolution's forward, or dcol and the gathering
// col2im) and the same epilogues, with every product on bfloat16 operands and float32 sums
// (bf16_gemm.hpp). The operands are converted where they are laid out: the padded image (and
// the transposed convolution's padded gradient, and dcol's gradient) with neighbouring channels
// paired, the weights paired once per call, the dweight operands as plain bfloat16 rows. The
// wide result, the gradient before conversion, bias and every sum stay float32. The pixel-major
// forward kernels are not used in bf16; the pixel-major dweight has a bf16 form.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/bf16.hpp"
#include "kernels/conv/bf16_gemm.hpp"
#include "kernels/conv/epilogue.hpp"
#include "kernels/conv/implicit.hpp"
#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

// A wide layout's reduction rows paired over channels: rows (c, k) of `channels` channels with
// `kk` taps each become rows (c/2, k) of pairs.
struct PairedRows {
  int64_t pairs = 0;         // ceil(channels / 2) * kk: rows_gemm_bf16's reduction length
  std::vector<int64_t> off;  // per paired row, in pairs, into the paired padded image
  int64_t p_pairs = 0;       // pairs of the paired padded image, with room for every read
};

// What the bf16 kernels add to an ImplicitPlan, made once per layer with it.
struct ImplicitBf16Plan {
  PairedRows forward;                    // of the layer's wide layout
  std::optional<PairedRows> transposed;  // of the transposed convolution's, where dinput takes it
  int64_t nq2 = 0;                       // the wide rows rounded up to kBf16Block (dweight)
  int64_t p_bf16 = 0;                    // bfloat16 of a padded image for dweight, with room
  // dweight pixel-major (where the float32 plan's is; bf16_gemm.hpp); null: the wide rows.
  PixelDweightBf16 pixel_dweight = nullptr;
};
ImplicitBf16Plan plan_implicit_bf16(const Conv2dGeometry& g, const ImplicitPlan& plan);

// As conv2d_implicit_forward / _backward (implicit.hpp), in bf16.
void conv2d_implicit_bf16_forward(const ImplicitPlan& plan, const ImplicitBf16Plan& bf,
                                  const Conv2dGeometry& g, const float* input, const float* weight,
                                  const float* bias, const ConvOutput& out);
// The backward's input may be given as bfloat16 (InputValues).
void conv2d_implicit_bf16_backward(const ImplicitPlan& plan, const ImplicitBf16Plan& bf,
                                   const Conv2dGeometry& g, InputValues input, const float* weight,
                                   const ConvGradient& grad, float* dinput, float* dweight,
                                   float* dbias);

// Bytes of scratch held at once with `threads` threads (forward, backward).
int64_t conv2d_implicit_bf16_forward_workspace_bytes(const ImplicitPlan& plan,
                                                     const ImplicitBf16Plan& bf,
                                                     const Conv2dGeometry& g, int threads);
int64_t conv2d_implicit_bf16_backward_workspace_bytes(const ImplicitPlan& plan,
                                                      const ImplicitBf16Plan& bf,
                                                      const Conv2dGeometry& g, int threads);

// rows (c, k) of a [channels * kk][cols] float matrix paired over c into [ceil(channels/2) *
// kk][cols] pairs (a missing partner zero): weights and padded images alike.
void pair_rows(const float* a, int64_t channels, int64_t kk, int64_t cols, Bfloat16Pair* out);

}  // namespace tinycnn::kernels
