// A convolution planned once per layer: for one geometry (its batch is not part of the plan),
// the algorithm and the kernel each direction runs (forward, dinput, dweight), the implicit
// path's layouts, what the backward keeps from the forward, the scratch it holds and what it
// costs. Made when a layer first sees its input shape (nn::Conv2d) or once per case (the
// profiler); the front door (conv2d.hpp) takes every choice from it, and `train`'s memory
// estimate, `shapes` and `profile` read it, so they agree with what runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kernels/conv/implicit.hpp"
#include "kernels/conv/implicit_bf16.hpp"
#include "kernels/conv/winograd.hpp"
#include "kernels/geometry.hpp"
#include "kernels/precision.hpp"

namespace tinycnn::kernels {

// Naive: the reference loops. Im2col: column matrix + GEMM. Implicit: the same GEMM reading
// the columns from a padded copy of the image (any stride: a strided image is split into phases).
// Winograd: F(m x m, 3 x 3) for 3x3 stride-1 layers (conv/winograd.hpp); its dweight, and dinput
// where the padding exceeds 2, are the implicit path's. Asked for a layer it cannot serve, the
// plan is the implicit path's and says why (ConvPlan::declined).
// Auto: not an algorithm but the plan's choice per layer (auto_conv_algo), made from the shape
// alone, so it is the same on every machine and run (a resumed run computes the same bits).
// In bf16 (Precision::Bf16) the naive loops run on bfloat16-rounded operands (the reference
// the bf16 kernels are tested against) and the implicit path on bf16 kernels
// (conv/implicit_bf16.hpp); im2col and Winograd have no bf16 form, so asked for they decline to
// the implicit path, and Auto picks it.
enum class ConvAlgo { Naive, Im2col, Implicit, Winograd, Auto };
// "naive" / "im2col" / "implicit" / "winograd" / "auto"
std::string_view to_string(ConvAlgo algo);

// Winograd where it beats the implicit path on this project's measurements (docs/performance.md,
// "Winograd"): 3x3 stride-1 layers with at least this many input and output channels per group.
// Below it the transforms cost as much as the multiplies they save (16 channels: 1.2x slower).
inline constexpr int64_t kWinogradMinChannels = 32;
// What Auto runs for g: Winograd or Implicit.
ConvAlgo auto_conv_algo(const Conv2dGeometry& g);

// Bytes of scratch the algorithm holds at once with `threads` threads.
struct ConvWorkspace {
  int64_t forward = 0, backward = 0;
};

// Per direction: multiply-adds counted as two FLOPs, and the bytes of the operands it must read
// and the result it writes (each once; what the caches save beyond that is not counted).
struct ConvCost {
  int64_t flops = 0, bytes = 0;
};

// While recording a graph, the im2col forward keeps its column matrices for the backward pass
// (saving an im2col per image there) when they hold at most this many floats (64 MiB).
inline constexpr int64_t kMaxSavedColumnFloats = int64_t{16} << 20;

struct ConvPlan {
  ConvAlgo algo = ConvAlgo::Implicit;
  Precision precision = Precision::Float32;
  Conv2dGeometry geometry;               // as planned; a call may differ only in its batch
  std::optional<ImplicitPlan> implicit;  // algo == Implicit or Winograd
  std::optional<WinogradPlan> winograd;  // algo == Winograd
  std::optional<ImplicitBf16Plan> bf16;  // algo == Implicit in bf16
  // Winograd (or im2col in bf16) was asked for and cannot serve this plan: why ("not a 3x3
  // kernel", "no bf16 kernels"); else empty.
  std::string_view declined;
  ConvAlgo asked = ConvAlgo::Implicit;  // the algorithm asked for (Auto for an automatic plan)
  bool automatic = false;               // chosen by Auto (algo is what it chose)

  // The kernel each direction runs: "naive", "im2col", the implicit path's "implicit wide",
  // "implicit pixel-major", "implicit transposed" (dinput as the transposed convolution),
  // "implicit gather" (dinput as dcol and a gathering col2im), or "winograd F(2x2,3x3)" /
  // "winograd F(4x4,3x3)"; in bf16 "naive bf16", "implicit wide bf16", "implicit transposed
  // bf16", "implicit gather bf16" and "implicit pixel-major bf16" (dweight).
  std::string_view forward_kernel() const;
  std::string_view dinput_kernel() const;
  std::string_view dweight_kernel() const;
  // "im2col", or the implicit path's kernels: "implicit: wide / transposed / wide" (forward /
  // dinput / dweight), "winograd F(4x4,3x3) / winograd F(4x4,3x3) / implicit wide"; a declined
  // Winograd adds "(winograd: not a 3x3 kernel)"; a plan Auto chose starts "auto: "; a bf16
  // plan ends " [bf16]".
  std::string summary() const;
  std::string summary_float32() const;  // summary() without the precision

  // Whether `g` is the planned geometry but for its batch.
  bool fits(const Conv2dGeometry& g) const;
  // Floats of the forward's column matrices the backward keeps at `batch` (0: none kept).
  int64_t saved_columns(int64_t batch) const;
  ConvWorkspace workspace(int64_t batch, int threads) const;
  ConvCost forward_cost(int64_t batch) const;
  ConvCost dinput_cost(int64_t batch) const;
  ConvCost dweight_cost(int64_t batch) const;
  // The forward's FLOPs as run: forward_cost's, or Winograd's GEMMs' (fewer; transforms not
  // counted).
  int64_t forward_flops_performed(int64_t batch) const;
  // How far from the naive results of the same precision this plan's results may be, relative
  // to their largest magnitude (Winograd's bound; 1e-4 for the direct algorithms and for the
  // bf16 kernels against the naive loops on bfloat16-rounded operands: summation order).
  double error_bound() const;
};

// Throws core::Error (Invalid) for an inconsistent geometry.
ConvPlan plan_conv2d(ConvAlgo algo, const Conv2dGeometry& g,
                     Precision precision = Precision::Float32);
// Winograd with its tile forced (2 or 4): tests and the profiler. g must be one it serves.
ConvPlan plan_winograd_conv2d(const Conv2dGeometry& g, int tile);

}  // namespace tinycnn::kernels
