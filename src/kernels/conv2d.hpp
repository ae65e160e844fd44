// The convolution's front door: the algorithms by name, and forward / backward dispatched as a
// layer's plan says (conv_plan.hpp), or as one algorithm planned for the call.
// `conv2d_reference.hpp` is the naive loops every other algorithm is tested and profiled against;
// `conv/` holds the fast paths (im2col + GEMM, implicit GEMM, Winograd) and their micro-kernels.
// Shapes and overwrite semantics as conv2d_reference.hpp: input [N, C, H, W], weight [OC, C/groups,
// KH, KW], bias [OC] (or null), output [N, OC, OH, OW].
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/conv_plan.hpp"
#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

inline constexpr std::array<ConvAlgo, 4> kConvAlgos = {ConvAlgo::Naive, ConvAlgo::Im2col,
                                                       ConvAlgo::Implicit, ConvAlgo::Winograd};

std::vector<std::string> conv_algo_names();  // in kConvAlgos order, then "auto"
// Throws core::Error (Invalid) listing the names for anything else.
ConvAlgo conv_algo_from_string(std::string_view name);

// `plan` made for `g` (ConvPlan::fits). `columns` (im2col only, ignored by the others): see
// conv/im2col_gemm.hpp — the forward's column matrices kept for the backward, memory for speed
// (ConvPlan::saved_columns floats).
// A fused ReLU: forward `relu` stores max(0, .) of each output; backward `relu_output` (that
// output) masks doutput first. The implicit kernels do it in their stores and copies, the others
// in a separate pass.
void conv2d_forward(const ConvPlan& plan, const Conv2dGeometry& g, const float* input,
                    const float* weight, const float* bias, float* output, float* columns = nullptr,
                    bool relu = false);
// Overwrites dinput, dweight, dbias; null ones are skipped.
// `input` may be given as bfloat16 (bf16.hpp's InputValues) to a bf16 plan: the values its
// kernels round the input to, so the results are the same bits.
void conv2d_backward(const ConvPlan& plan, const Conv2dGeometry& g, InputValues input,
                     const float* weight, const float* doutput, float* dinput, float* dweight,
                     float* dbias, const float* columns = nullptr,
                     const float* relu_output = nullptr);

// conv2d, ReLU and a 2x2 / stride 2 max pool as one: pooled [N, OC, OH/2, OW/2] and argmax (the
// index in the OH x OW plane, as maxpool2d_forward's); the values of the three kernels in turn.
// The implicit kernels pool in their epilogue and never write the full output; the others run
// the three kernels. Needs OH, OW >= 2.
void conv2d_relu_pool_forward(const ConvPlan& plan, const Conv2dGeometry& g, const float* input,
                              const float* weight, const float* bias, float* pooled,
                              int32_t* argmax);
// Its backward from dpooled: the gradients of maxpool2d_backward, relu_backward and
// conv2d_backward in turn.
void conv2d_relu_pool_backward(const ConvPlan& plan, const Conv2dGeometry& g, InputValues input,
                               const float* weight, const float* pooled, const int32_t* argmax,
                               const float* dpooled, float* dinput, float* dweight, float* dbias);

// The same with `algo` planned for this call alone (tests, benchmarks, the profiler's cases).
void conv2d_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input, const float* weight,
                    const float* bias, float* output, float* columns = nullptr, bool relu = false);
void conv2d_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                     const float* weight, const float* doutput, float* dinput, float* dweight,
                     float* dbias, const float* columns = nullptr,
                     const float* relu_output = nullptr);
void conv2d_relu_pool_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                              const float* weight, const float* bias, float* pooled,
                              int32_t* argmax);
void conv2d_relu_pool_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                               const float* weight, const float* pooled, const int32_t* argmax,
                               const float* dpooled, float* dinput, float* dweight, float* dbias);

}  // namespace tinycnn::kernels
