// The wide layout shared by the implicit-GEMM convolution's parts (implicit.cpp,
// pixel_major.cpp, epilogue.cpp): one group of one image, zero-padded, the output pixel (y, x)
// at the wide index q = y*wp + x (see implicit.hpp). With stride s the padded image is split
// into phases, phase (a, b) holding its rows a, a + s, ... and columns b, b + s, ...: tap
// (ky, kx) of output (y, x) reads padded pixel (y*s + ky, x*s + kx), which is pixel
// (y + ky/s, x + kx/s) of phase (ky%s, kx%s), so every tap is again a shifted window, read
// contiguously from q. Stride 1 is one phase, the padded image itself.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/geometry.hpp"

namespace tinycnn::kernels {

// The gathering col2im (dinput): input rows computed at once, as independent sums (7 splits a
// 14-row plane into two blocks without padded rows; docs/performance.md).
inline constexpr int kGatherRows = 7;

// Everything the kernels need about one group of one image, in the wide layout.
struct Wide {
  int64_t cin, cout, taps;
  int64_t sh, sw;              // the stride
  int64_t phases_h, phases_w;  // phases kept: min(kernel, stride) (the others are never read)
  int64_t hp, wp, plane;       // one phase: hp x wp = ceil(padded size / stride)
  int64_t oh, ow, nq, p_floats;
  // per tap t = (c, ky, kx): ((c*phases_h + ky%sh)*phases_w + kx%sw)*plane + in_plane[t]
  std::vector<int64_t> off;
  std::vector<int64_t> in_plane;  // per tap of one channel: (ky/sh)*wp + kx/sw
  // per kept phase a*phases_w + b: the taps of one channel that read it (ky%sh == a, kx%sw == b)
  std::vector<std::vector<int64_t>> phase_taps;
  std::vector<int64_t> cout_off;  // per output channel m: m*nq (rows of D as B for dcol)
  // dcol rows: dcol_front zeros, nq values, zeros to dcol_stride; the gathering col2im reads a
  // row from (index - the tap's in-plane offset), up to one vector past the plane.
  int64_t dcol_front, dcol_stride;
  // Floats of a wide result [cout][nq], with room for the pooling epilogue's vector reads.
  int64_t wide_floats;
};

Wide make_wide(const Conv2dGeometry& g);

// Stride 2 across: even[k] = src[2k] and odd[k] = src[2k + 1] for 2k (+ 1) < n (either may be
// null: not wanted), and back (a null one gives zeros).
void deinterleave(const float* src, int64_t n, float* even, float* odd);
void interleave(const float* even, const float* odd, int64_t n, float* dst);

// Where input pixel (y, x0) of a channel lives among that channel's phases (columns x0 + sw,
// x0 + 2*sw, ... follow it); -1 when its phase is not kept (no tap reads it).
int64_t phase_offset(const Conv2dGeometry& g, const Wide& w, int64_t y, int64_t x0);

// P = the group's channels of one image, zero-padded, in a buffer of w.p_floats. Writes only the
// image's pixels: the buffer must be zero elsewhere (zero it once when allocating it; every call
// for one geometry writes the same pixels).
void pad_image(const Conv2dGeometry& g, const Wide& w, const float* image, float* p);

}  // namespace tinycnn::kernels
