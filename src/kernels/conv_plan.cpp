// The convolution's plan; see conv_plan.hpp.
#include "kernels/conv_plan.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "kernels/conv/im2col_gemm.hpp"

namespace tinycnn::kernels {

namespace {
Conv2dGeometry with_batch(Conv2dGeometry g, int64_t batch) {
  g.batch = batch;
  return g;
}
}  // namespace

ConvAlgo auto_conv_algo(const Conv2dGeometry& g) {
  const bool wide_enough =
      g.in_per_group() >= kWinogradMinChannels && g.out_per_group() >= kWinogradMinChannels;
  return winograd_unsupported(g).empty() && wide_enough ? ConvAlgo::Winograd : ConvAlgo::Implicit;
}

ConvPlan plan_conv2d(ConvAlgo algo, const Conv2dGeometry& g, Precision precision) {
  g.check();
  ConvPlan plan;
  plan.precision = precision;
  plan.asked = algo;
  plan.automatic = algo == ConvAlgo::Auto;
  plan.algo = plan.automatic ? auto_conv_algo(g) : algo;
  plan.geometry = with_batch(g, 1);
  if (precision == Precision::Bf16 && plan.algo != ConvAlgo::Naive) {
    if (!plan.automatic && plan.algo != ConvAlgo::Implicit) plan.declined = "no bf16 kernels";
    plan.algo = ConvAlgo::Implicit;
    plan.implicit = plan_implicit(plan.geometry);
    plan.bf16 = plan_implicit_bf16(plan.geometry, *plan.implicit);
    return plan;
  }
  if (plan.algo == ConvAlgo::Winograd) {
    plan.declined = winograd_unsupported(plan.geometry);
    if (plan.declined.empty()) {
      plan.winograd = plan_winograd(plan.geometry);
    } else {
      plan.algo = ConvAlgo::Implicit;
    }
  }
  if (plan.algo == ConvAlgo::Implicit || plan.algo == ConvAlgo::Winograd) {
    plan.implicit = plan_implicit(plan.geometry);
  }
  return plan;
}

ConvPlan plan_winograd_conv2d(const Conv2dGeometry& g, int tile) {
  ConvPlan plan = plan_conv2d(ConvAlgo::Winograd, g);
  TCNN_CHECK(plan.winograd, "winograd: ", plan.declined);
  plan.winograd = plan_winograd(plan.geometry, tile);
  return plan;
}

namespace {
std::string_view winograd_name(const WinogradPlan& w) {
  return w.tile == 2 ? "winograd F(2x2,3x3)" : "winograd F(4x4,3x3)";
}

std::string_view implicit_dinput(const ImplicitPlan& p) {
  return p.transposed ? "implicit transposed" : "implicit gather";
}
}  // namespace

std::string_view ConvPlan::forward_kernel() const {
  if (precision == Precision::Bf16) {
    if (!bf16) return "naive bf16";
    return implicit->pixel_major ? "implicit pixel-major bf16" : "implicit wide bf16";
  }
  if (winograd) return winograd_name(*winograd);
  if (algo != ConvAlgo::Implicit) return to_string(algo);
  return implicit->pixel_major ? "implicit pixel-major" : "implicit wide";
}

std::string_view ConvPlan::dinput_kernel() const {
  if (bf16) return implicit->transposed ? "implicit transposed bf16" : "implicit gather bf16";
  if (winograd && winograd->dinput) return winograd_name(*winograd);
  if (!implicit) return forward_kernel();
  return implicit_dinput(*implicit);
}

std::string_view ConvPlan::dweight_kernel() const {
  if (bf16) return bf16->pixel_dweight ? "implicit pixel-major bf16" : "implicit wide bf16";
  if (!implicit) return forward_kernel();
  return implicit->pixel_dweight ? "implicit pixel-major" : "implicit wide";
}

std::string ConvPlan::summary() const {
  std::string text = summary_float32();
  if (precision == Precision::Bf16) text += " [bf16]";
  return text;
}

std::string ConvPlan::summary_float32() const {
  const std::string by = automatic ? "auto: " : "";
  if (winograd) {
    return by + std::string(forward_kernel()) + " / " + std::string(dinput_kernel()) + " / " +
           std::string(dweight_kernel());
  }
  if (algo != ConvAlgo::Implicit) return by + std::string(forward_kernel());
  const auto part = [](std::string_view k) {
    k = k.substr(k.find(' ') + 1);
    return std::string(k.substr(0, k.find(' ')));
  };
  std::string text = by + "implicit: " + part(forward_kernel()) + " / " + part(dinput_kernel()) +
                     " / " + part(dweight_kernel());
  if (!declined.empty()) {
    text += " (" + std::string(to_string(asked)) + ": " + std::string(declined) + ")";
  }
  return text;
}

bool ConvPlan::fits(const Conv2dGeometry& g) const {
  const Conv2dGeometry p = with_batch(g, 1);
  const Conv2dGeometry& q = geometry;
  return p.in_channels == q.in_channels && p.in_h == q.in_h && p.in_w == q.in_w &&
         p.out_channels == q.out_channels && p.kernel_h == q.kernel_h && p.kernel_w == q.kernel_w &&
         p.stride_h == q.stride_h && p.stride_w == q.stride_w && p.pad_h == q.pad_h &&
         p.pad_w == q.pad_w && p.groups == q.groups;
}

int64_t ConvPlan::saved_columns(int64_t batch) const {
  if (algo != ConvAlgo::Im2col) return 0;
  const int64_t floats = conv2d_columns_numel(with_batch(geometry, batch));
  return floats <= kMaxSavedColumnFloats ? floats : 0;
}

ConvWorkspace ConvPlan::workspace(int64_t batch, int threads) const {
  const Conv2dGeometry g = with_batch(geometry, batch);
  switch (algo) {
    case ConvAlgo::Naive:
    case ConvAlgo::Auto:  // never a plan's algo (plan_conv2d resolves it)
      return {};
    case ConvAlgo::Im2col:
      return {conv2d_im2col_forward_workspace_bytes(g, threads),
              conv2d_im2col_backward_workspace_bytes(g, threads)};
    case ConvAlgo::Implicit:
      if (bf16) {
        return {conv2d_implicit_bf16_forward_workspace_bytes(*implicit, *bf16, g, threads),
                conv2d_implicit_bf16_backward_workspace_bytes(*implicit, *bf16, g, threads)};
      }
      return {conv2d_implicit_forward_workspace_bytes(*implicit, g, threads),
              conv2d_implicit_backward_workspace_bytes(*implicit, g, threads)};
    case ConvAlgo::Winograd: {
      // The backward runs the implicit dweight (its dinput skipped where Winograd's runs), then
      // the Winograd dinput: one at a time.
      int64_t backward = conv2d_implicit_backward_workspace_bytes(*implicit, g, threads);
      if (winograd->dinput) {
        backward =
            std::max(backward, conv2d_winograd_dinput_workspace_bytes(*winograd, g, threads));
      }
      return {conv2d_winograd_forward_workspace_bytes(*winograd, g, threads), backward};
    }
  }
  return {};
}

ConvCost ConvPlan::forward_cost(int64_t batch) const {
  const Conv2dGeometry g = with_batch(geometry, batch);
  const int64_t macs = g.output_numel() * g.in_per_group() * g.kernel_h * g.kernel_w;
  const int64_t input = g.batch * g.in_channels * g.in_h * g.in_w;
  return {2 * macs, 4 * (input + g.weight_numel() + g.output_numel())};
}

int64_t ConvPlan::forward_flops_performed(int64_t batch) const {
  if (!winograd) return forward_cost(batch).flops;
  return conv2d_winograd_gemm_flops(*winograd, with_batch(geometry, batch));
}

double ConvPlan::error_bound() const {
  return winograd ? winograd_error_bound(winograd->tile) : 1e-4;
}

// dinput and dweight multiply the same pairs as the forward; each reads two of the three
// tensors and writes the third.
ConvCost ConvPlan::dinput_cost(int64_t batch) const { return forward_cost(batch); }
ConvCost ConvPlan::dweight_cost(int64_t batch) const { return forward_cost(batch); }

}  // namespace tinycnn::kernels
