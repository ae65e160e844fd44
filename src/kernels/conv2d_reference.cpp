// Cross-correlation as in PyTorch: out[n,oc,oh,ow] = bias[oc] +
//   sum_{ic in group, kh, kw} in[n, ic, oh*s - p + kh, ow*s - p + kw] * w[oc, ic', kh, kw].
#include "kernels/conv2d_reference.hpp"

#include <algorithm>

namespace tinycnn::kernels {

void conv2d_naive_forward(const Conv2dGeometry& g, const float* input, const float* weight,
                          const float* bias, float* output) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  const int64_t cg = g.in_per_group(), ocg = g.out_per_group();
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t oc = 0; oc < g.out_channels; ++oc) {
      const int64_t c0 = (oc / ocg) * cg;  // first input channel of this group
      for (int64_t oh = 0; oh < oh_n; ++oh) {
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          float acc = bias ? bias[oc] : 0.0f;
          for (int64_t ic = 0; ic < cg; ++ic) {
            for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t ih = oh * g.stride_h - g.pad_h + kh;
                const int64_t iw = ow * g.stride_w - g.pad_w + kw;
                if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
                acc += input[((n * g.in_channels + c0 + ic) * g.in_h + ih) * g.in_w + iw] *
                       weight[((oc * cg + ic) * g.kernel_h + kh) * g.kernel_w + kw];
              }
            }
          }
          output[((n * g.out_channels + oc) * oh_n + oh) * ow_n + ow] = acc;
        }
      }
    }
  }
}

void conv2d_naive_backward(const Conv2dGeometry& g, const float* input, const float* weight,
                           const float* doutput, float* dinput, float* dweight, float* dbias) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w();
  const int64_t cg = g.in_per_group(), ocg = g.out_per_group();
  if (dinput) std::fill(dinput, dinput + g.batch * g.in_channels * g.in_h * g.in_w, 0.0f);
  if (dweight) std::fill(dweight, dweight + g.weight_numel(), 0.0f);
  if (dbias) std::fill(dbias, dbias + g.out_channels, 0.0f);
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t oc = 0; oc < g.out_channels; ++oc) {
      const int64_t c0 = (oc / ocg) * cg;
      for (int64_t oh = 0; oh < oh_n; ++oh) {
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          const float dout = doutput[((n * g.out_channels + oc) * oh_n + oh) * ow_n + ow];
          if (dbias) dbias[oc] += dout;
          for (int64_t ic = 0; ic < cg; ++ic) {
            for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t ih = oh * g.stride_h - g.pad_h + kh;
                const int64_t iw = ow * g.stride_w - g.pad_w + kw;
                if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
                const int64_t in_idx = ((n * g.in_channels + c0 + ic) * g.in_h + ih) * g.in_w + iw;
                const int64_t w_idx = ((oc * cg + ic) * g.kernel_h + kh) * g.kernel_w + kw;
                if (dinput) dinput[in_idx] += weight[w_idx] * dout;
                if (dweight) dweight[w_idx] += input[in_idx] * dout;
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace tinycnn::kernels
