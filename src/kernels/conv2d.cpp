// The convolution's front door: algorithm names and the dispatch to the reference loops or a
// fast path. Where the fast kernels have no fused form, the separate kernels run in turn.
#include "kernels/conv2d.hpp"

#include <vector>

#include "core/error.hpp"
#include "kernels/bf16.hpp"
#include "kernels/conv/im2col_gemm.hpp"
#include "kernels/conv/implicit.hpp"
#include "kernels/conv/implicit_bf16.hpp"
#include "kernels/conv/winograd.hpp"
#include "kernels/conv2d_reference.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/pooling.hpp"

namespace tinycnn::kernels {

std::string_view to_string(ConvAlgo algo) {
  switch (algo) {
    case ConvAlgo::Naive:
      return "naive";
    case ConvAlgo::Im2col:
      return "im2col";
    case ConvAlgo::Implicit:
      return "implicit";
    case ConvAlgo::Winograd:
      return "winograd";
    case ConvAlgo::Auto:
      return "auto";
  }
  return "?";
}

std::vector<std::string> conv_algo_names() {
  std::vector<std::string> names;
  names.reserve(kConvAlgos.size());
  for (ConvAlgo algo : kConvAlgos) names.emplace_back(to_string(algo));
  names.emplace_back(to_string(ConvAlgo::Auto));
  return names;
}

ConvAlgo conv_algo_from_string(std::string_view name) {
  for (ConvAlgo algo : kConvAlgos) {
    if (name == to_string(algo)) return algo;
  }
  if (name == to_string(ConvAlgo::Auto)) return ConvAlgo::Auto;
  TCNN_CHECK(false, "conv algorithm: expected one of ", core::join(conv_algo_names()), ", got '",
             name, "'");
  return ConvAlgo::Im2col;
}

void conv2d_forward(const ConvPlan& plan, const Conv2dGeometry& g, const float* input,
                    const float* weight, const float* bias, float* output, float* columns,
                    bool relu) {
  TCNN_CHECK(plan.fits(g), "conv2d: a plan used for another geometry");
  if (plan.bf16) {
    conv2d_implicit_bf16_forward(*plan.implicit, *plan.bf16, g, input, weight, bias,
                                 {.output = output, .relu = relu});
    return;
  }
  if (plan.precision == Precision::Bf16) {  // the naive loops on rounded operands
    const std::vector<float> x = rounded_bf16(input, g.batch * g.in_channels * g.in_h * g.in_w);
    const std::vector<float> w = rounded_bf16(weight, g.weight_numel());
    conv2d_naive_forward(g, x.data(), w.data(), bias, output);
    if (relu) relu_forward(g.output_numel(), output, output);
    return;
  }
  if (plan.winograd) {
    conv2d_winograd_forward(*plan.winograd, g, input, weight, bias, output, relu);
    return;
  }
  if (plan.algo == ConvAlgo::Implicit) {
    conv2d_implicit_forward(*plan.implicit, g, input, weight, bias,
                            {.output = output, .relu = relu});
    return;
  }
  if (plan.algo == ConvAlgo::Naive) {
    conv2d_naive_forward(g, input, weight, bias, output);
  } else {
    conv2d_im2col_forward(g, input, weight, bias, output, columns);
  }
  if (relu) relu_forward(g.output_numel(), output, output);
}

namespace {
// The input as float32: empty where it is float32 already, else its bfloat16 values widened.
std::vector<float> widened_input(const Conv2dGeometry& g, InputValues values) {
  if (values.f32) return {};
  std::vector<float> x(static_cast<size_t>(g.batch * g.in_channels * g.in_h * g.in_w));
  from_bf16(values.bf16, static_cast<int64_t>(x.size()), x.data());
  return x;
}
}  // namespace

void conv2d_backward(const ConvPlan& plan, const Conv2dGeometry& g, InputValues values,
                     const float* weight, const float* doutput, float* dinput, float* dweight,
                     float* dbias, const float* columns, const float* relu_output) {
  TCNN_CHECK(plan.fits(g), "conv2d: a plan used for another geometry");
  TCNN_CHECK(values.f32 || plan.precision == Precision::Bf16,
             "conv2d: a bfloat16 input for a float32 plan");
  if (plan.bf16) {
    conv2d_implicit_bf16_backward(*plan.implicit, *plan.bf16, g, values, weight,
                                  {.doutput = doutput, .relu_output = relu_output}, dinput, dweight,
                                  dbias);
    return;
  }
  const std::vector<float> widened = widened_input(g, values);
  const float* input = values.f32 ? values.f32 : widened.data();
  if (plan.winograd) {
    // dweight and dbias (and dinput where the padding exceeds 2) from the implicit path.
    const bool winograd_dinput = dinput && plan.winograd->dinput;
    if (dweight || dbias || (dinput && !winograd_dinput)) {
      conv2d_implicit_backward(*plan.implicit, g, input, weight,
                               {.doutput = doutput, .relu_output = relu_output},
                               winograd_dinput ? nullptr : dinput, dweight, dbias);
    }
    if (winograd_dinput) {
      conv2d_winograd_dinput(*plan.winograd, g, weight, doutput, relu_output, dinput);
    }
    return;
  }
  if (plan.algo == ConvAlgo::Implicit) {
    conv2d_implicit_backward(*plan.implicit, g, input, weight,
                             {.doutput = doutput, .relu_output = relu_output}, dinput, dweight,
                             dbias);
    return;
  }
  std::vector<float> masked;
  if (relu_output) {
    masked.resize(static_cast<size_t>(g.output_numel()));
    relu_backward(g.output_numel(), relu_output, doutput, masked.data());
    doutput = masked.data();
  }
  if (plan.precision == Precision::Bf16) {  // the naive loops on rounded operands
    // Kept bfloat16 values (widened) are rounded already.
    const std::vector<float> x =
        values.f32 ? rounded_bf16(input, g.batch * g.in_channels * g.in_h * g.in_w)
                   : std::vector<float>();
    const std::vector<float> w = rounded_bf16(weight, g.weight_numel());
    const std::vector<float> d = rounded_bf16(doutput, g.output_numel());
    conv2d_naive_backward(g, values.f32 ? x.data() : input, w.data(), d.data(), dinput, dweight,
                          nullptr);
    // dbias multiplies nothing: the float32 gradient's sum.
    if (dbias) conv2d_naive_backward(g, input, weight, doutput, nullptr, nullptr, dbias);
  } else if (plan.algo == ConvAlgo::Naive) {
    conv2d_naive_backward(g, input, weight, doutput, dinput, dweight, dbias);
  } else {
    conv2d_im2col_backward(g, input, weight, doutput, dinput, dweight, dbias, columns);
  }
}

namespace {
Pool2dGeometry pool_after(const Conv2dGeometry& g) {
  return {.batch = g.batch,
          .channels = g.out_channels,
          .in_h = g.out_h(),
          .in_w = g.out_w(),
          .kernel_h = 2,
          .kernel_w = 2,
          .stride_h = 2,
          .stride_w = 2};
}
}  // namespace

void conv2d_relu_pool_forward(const ConvPlan& plan, const Conv2dGeometry& g, const float* input,
                              const float* weight, const float* bias, float* pooled,
                              int32_t* argmax) {
  if (plan.bf16) {
    TCNN_CHECK(plan.fits(g), "conv2d: a plan used for another geometry");
    conv2d_implicit_bf16_forward(*plan.implicit, *plan.bf16, g, input, weight, bias,
                                 {.pooled = pooled, .argmax = argmax});
    return;
  }
  if (plan.algo == ConvAlgo::Implicit) {
    TCNN_CHECK(plan.fits(g), "conv2d: a plan used for another geometry");
    conv2d_implicit_forward(*plan.implicit, g, input, weight, bias,
                            {.pooled = pooled, .argmax = argmax});
    return;
  }
  std::vector<float> output(static_cast<size_t>(g.output_numel()));
  conv2d_forward(plan, g, input, weight, bias, output.data(), nullptr, true);
  maxpool2d_forward(pool_after(g), output.data(), pooled, argmax);
}

void conv2d_relu_pool_backward(const ConvPlan& plan, const Conv2dGeometry& g, InputValues input,
                               const float* weight, const float* pooled, const int32_t* argmax,
                               const float* dpooled, float* dinput, float* dweight, float* dbias) {
  TCNN_CHECK(input.f32 || plan.precision == Precision::Bf16,
             "conv2d: a bfloat16 input for a float32 plan");
  if (plan.bf16) {
    TCNN_CHECK(plan.fits(g), "conv2d: a plan used for another geometry");
    conv2d_implicit_bf16_backward(*plan.implicit, *plan.bf16, g, input, weight,
                                  {.dpooled = dpooled, .pooled = pooled, .argmax = argmax}, dinput,
                                  dweight, dbias);
    return;
  }
  if (plan.algo == ConvAlgo::Implicit) {
    TCNN_CHECK(plan.fits(g), "conv2d: a plan used for another geometry");
    conv2d_implicit_backward(*plan.implicit, g, input.f32, weight,
                             {.dpooled = dpooled, .pooled = pooled, .argmax = argmax}, dinput,
                             dweight, dbias);
    return;
  }
  // The ReLU's mask at each window's maximum is the pooled value's sign.
  const Pool2dGeometry pg = pool_after(g);
  const int64_t pooled_n = pg.batch * pg.channels * pg.out_h() * pg.out_w();
  std::vector<float> masked(static_cast<size_t>(pooled_n));
  relu_backward(pooled_n, pooled, dpooled, masked.data());
  std::vector<float> doutput(static_cast<size_t>(g.output_numel()));
  maxpool2d_backward(pg, masked.data(), argmax, doutput.data());
  conv2d_backward(plan, g, input, weight, doutput.data(), dinput, dweight, dbias);
}

void conv2d_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input, const float* weight,
                    const float* bias, float* output, float* columns, bool relu) {
  conv2d_forward(plan_conv2d(algo, g), g, input, weight, bias, output, columns, relu);
}

void conv2d_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                     const float* weight, const float* doutput, float* dinput, float* dweight,
                     float* dbias, const float* columns, const float* relu_output) {
  conv2d_backward(plan_conv2d(algo, g), g, input, weight, doutput, dinput, dweight, dbias, columns,
                  relu_output);
}

void conv2d_relu_pool_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                              const float* weight, const float* bias, float* pooled,
                              int32_t* argmax) {
  conv2d_relu_pool_forward(plan_conv2d(algo, g), g, input, weight, bias, pooled, argmax);
}

void conv2d_relu_pool_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                               const float* weight, const float* pooled, const int32_t* argmax,
                               const float* dpooled, float* dinput, float* dweight, float* dbias) {
  conv2d_relu_pool_backward(plan_conv2d(algo, g), g, input, weight, pooled, argmax, dpooled, dinput,
                            dweight, dbias);
}

}  // namespace tinycnn::kernels
