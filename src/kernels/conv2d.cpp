// The convolution's front door: algorithm names and the dispatch to the reference loops or a
// fast path. Where the fast kernels have no fused form, the separate kernels run in turn.
#include "kernels/conv2d.hpp"

#include <vector>

#include "core/error.hpp"
#include "kernels/conv/im2col_gemm.hpp"
#include "kernels/conv/implicit.hpp"
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
  }
  return "?";
}

std::vector<std::string> conv_algo_names() {
  std::vector<std::string> names;
  for (ConvAlgo algo : kConvAlgos) names.emplace_back(to_string(algo));
  return names;
}

ConvAlgo conv_algo_from_string(std::string_view name) {
  for (ConvAlgo algo : kConvAlgos) {
    if (name == to_string(algo)) return algo;
  }
  std::string list;
  for (const auto& n : conv_algo_names()) list += (list.empty() ? "" : ", ") + n;
  TCNN_CHECK(false, "conv algorithm: expected one of ", list, ", got '", name, "'");
  return ConvAlgo::Im2col;
}

ConvWorkspace conv2d_workspace_bytes(ConvAlgo algo, const Conv2dGeometry& g, int threads) {
  switch (algo) {
    case ConvAlgo::Naive:
      return {};
    case ConvAlgo::Im2col:
      return {conv2d_im2col_forward_workspace_bytes(g, threads),
              conv2d_im2col_backward_workspace_bytes(g, threads)};
    case ConvAlgo::Implicit:
      return {conv2d_implicit_forward_workspace_bytes(g, threads),
              conv2d_implicit_backward_workspace_bytes(g, threads)};
  }
  return {};
}

void conv2d_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input, const float* weight,
                    const float* bias, float* output, float* columns, bool relu) {
  if (algo == ConvAlgo::Implicit) {
    conv2d_implicit_forward(g, input, weight, bias, {.output = output, .relu = relu});
    return;
  }
  if (algo == ConvAlgo::Naive) {
    conv2d_naive_forward(g, input, weight, bias, output);
  } else {
    conv2d_im2col_forward(g, input, weight, bias, output, columns);
  }
  if (relu) relu_forward(g.output_numel(), output, output);
}

void conv2d_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                     const float* weight, const float* doutput, float* dinput, float* dweight,
                     float* dbias, const float* columns, const float* relu_output) {
  if (algo == ConvAlgo::Implicit) {
    conv2d_implicit_backward(g, input, weight, {.doutput = doutput, .relu_output = relu_output},
                             dinput, dweight, dbias);
    return;
  }
  std::vector<float> masked;
  if (relu_output) {
    masked.resize(static_cast<size_t>(g.output_numel()));
    relu_backward(g.output_numel(), relu_output, doutput, masked.data());
    doutput = masked.data();
  }
  if (algo == ConvAlgo::Naive) {
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

void conv2d_relu_pool_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                              const float* weight, const float* bias, float* pooled,
                              int32_t* argmax) {
  if (algo == ConvAlgo::Implicit) {
    conv2d_implicit_forward(g, input, weight, bias, {.pooled = pooled, .argmax = argmax});
    return;
  }
  std::vector<float> output(static_cast<size_t>(g.output_numel()));
  conv2d_forward(algo, g, input, weight, bias, output.data(), nullptr, true);
  maxpool2d_forward(pool_after(g), output.data(), pooled, argmax);
}

void conv2d_relu_pool_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                               const float* weight, const float* pooled, const int32_t* argmax,
                               const float* dpooled, float* dinput, float* dweight, float* dbias) {
  if (algo == ConvAlgo::Implicit) {
    conv2d_implicit_backward(g, input, weight,
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
  conv2d_backward(algo, g, input, weight, doutput.data(), dinput, dweight, dbias);
}

}  // namespace tinycnn::kernels
