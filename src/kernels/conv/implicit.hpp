// Implicit-GEMM convolution: the GEMM of im2col_gemm.hpp with the column matrix never
// written. Each image is copied once, zero-padded, into P[C][Hp*Wp]; output pixel (oy, ox) is
// computed at the "wide" index q = oy*Wp + ox, where the im2col row of tap t = (c, ky, kx) is
// P + off_t, off_t = c*Hp*Wp + ky*Wp + kx, read contiguously from q. Columns ox >= OW of the wide
// rows are computed and thrown away: the price is Wp/OW extra work (LeNet: 32/28 and 14/10),
// the gain no column matrix to write and read. A strided convolution splits the padded image
// into phases first (wide_layout.hpp): the formulas hold with P the phases, off_t a tap's phase
// and shift in it, and Wp the width of a phase; dinput gathers each phase from its taps.
//   forward:  out[co][q] = bias[co] + sum_t W[co][t] P[off_t + q]
//   dweight:  dW[co][t]  = sum_q D[co][q] P[off_t + q]   (D: doutput in the wide layout, zeros
//                                                          in the thrown-away columns)
//   dinput:   dcol[t][q] = sum_co W[co][t] D[co][q]; din[c][y][x] = sum over the taps t of
//             channel c of dcol[t][(y+pad_h)*Wp + x+pad_w - off_t]  (col2im as a gather);
//             or, at stride 1 where it costs no more (ResNet's 3x3 pad 1), the forward of the
//             transposed convolution: D padded by K-1-pad, the kernel flipped, in and out
//             channels swapped (no dcol)
// Pixel-major variant (stride 1, output channels a multiple of the vector width and OW/Wp <= 0.8,
// as LeNet's conv2): forward computes only the real pixels, one vector of output channels each, and
// so does dweight for 3x3 and 5x5 kernels (sums per tap as vectors of channels, no thrown-away
// columns). Images are split across OpenMP threads in contiguous blocks; dweight partials are
// summed in thread order, so results depend on the thread count only through float summation order.
// Shapes and overwrite semantics as conv2d_reference.hpp.
#pragma once

#include <cstdint>
#include <optional>

#include "kernels/conv/epilogue.hpp"
#include "kernels/conv/pixel_major.hpp"
#include "kernels/conv/wide_layout.hpp"
#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

// The implicit path's choices for one geometry (its batch does not enter), made once per layer
// (conv_plan.hpp): the wide layout, whether the forward runs pixel-major, which dweight kernel,
// and whether dinput runs as the transposed convolution's forward (with its layout) or as dcol
// and the gathering col2im.
struct ImplicitPlan {
  bool pixel_major = false;              // forward
  PixelDweight pixel_dweight = nullptr;  // dweight pixel-major; null: the wide rows_gemm_t
  bool transposed_pixel_major = false;   // the transposed convolution's forward pixel-major
  Wide wide;
  std::optional<Wide> transposed;  // dinput as the transposed convolution
};
ImplicitPlan plan_implicit(const Conv2dGeometry& g);

// Writes `out` (the output, ReLU'd or not, or the pooled output and argmax; epilogue.hpp).
void conv2d_implicit_forward(const ImplicitPlan& plan, const Conv2dGeometry& g, const float* input,
                             const float* weight, const float* bias, const ConvOutput& out);

// From `grad` (doutput, masked by a fused ReLU's output, or the pooled gradient; see
// epilogue.hpp); null outputs are skipped.
void conv2d_implicit_backward(const ImplicitPlan& plan, const Conv2dGeometry& g, const float* input,
                              const float* weight, const ConvGradient& grad, float* dinput,
                              float* dweight, float* dbias);

// Bytes of scratch held at once with `threads` threads (forward, backward).
int64_t conv2d_implicit_forward_workspace_bytes(const ImplicitPlan& plan, const Conv2dGeometry& g,
                                                int threads);
int64_t conv2d_implicit_backward_workspace_bytes(const ImplicitPlan& plan, const Conv2dGeometry& g,
                                                 int threads);

}  // namespace tinycnn::kernels
