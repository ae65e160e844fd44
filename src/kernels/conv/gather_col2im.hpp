// dinput of the implicit path where it is not the transposed convolution: dcol[t][q] = sum_m
// W[m][t] D[m][q] (row_gemm's kernel with the roles of A swapped, into rows with zero margins),
// then col2im as a gather: each input pixel sums the dcol entries of its channel's taps (no
// read-modify-write: stores overlapping the next tap's loads stall store forwarding). A strided
// convolution gathers each phase of the padded gradient from the taps that read it, then
// interleaves the phases back (wide_layout.hpp). Compiled with -ffp-contract=fast like the rest
// of kernels/conv/.
#pragma once

#include <cstdint>

#include "kernels/bf16.hpp"
#include "kernels/conv/wide_layout.hpp"
#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

// Floats of the strided gather's scratch (`phases` below): the kept phases of one channel and a
// vector of slack; 0 at stride 1.
int64_t phase_floats(const Wide& w);

// dcol's operands for one image and group: its wide D [cout][nq] and the group's weights
// [cout][taps] in float32; or in bf16 both paired over the output channels (pair_rows of
// implicit_bf16.hpp: weight2 [ceil(cout/2)][taps], d2 [ceil(cout/2)][nq]).
struct DcolOperands {
  const float* weight = nullptr;
  const float* d = nullptr;
  const Bfloat16Pair* weight2 = nullptr;
  const Bfloat16Pair* d2 = nullptr;
};

// dinput of one image and group: `dcol` holds w.taps * w.dcol_stride floats, `phases`
// phase_floats(w); overwrites `dimage`.
void input_gradient(const Conv2dGeometry& g, const Wide& w, const DcolOperands& op, float* dcol,
                    float* phases, float* dimage);

}  // namespace tinycnn::kernels
