// im2col + GEMM convolution. Threads take contiguous blocks of images (static split), each with
// its own column buffer and, in backward, its own dweight partial; partials are summed in thread
// order, so results depend on the thread count only through float summation order.
#include "kernels/conv_im2col.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/conv_implicit.hpp"
#include "kernels/conv_naive.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/im2col.hpp"

namespace tinycnn::kernels {

namespace {
// A 1x1, stride-1, unpadded convolution's column matrix is the image itself.
bool col_is_image(const Conv2dGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
         g.pad_h == 0 && g.pad_w == 0;
}

}  // namespace

int64_t conv2d_im2col_forward_workspace_bytes(const Conv2dGeometry& g, int threads) {
  if (col_is_image(g)) return 0;
  return static_cast<int64_t>(threads) * g.col_rows() * g.col_cols() * 4;
}

int64_t conv2d_im2col_backward_workspace_bytes(const Conv2dGeometry& g, int threads) {
  const int64_t col = col_is_image(g) ? 0 : g.col_rows() * g.col_cols();
  const int64_t dcol = g.col_rows() * g.col_cols();
  return static_cast<int64_t>(threads) * (col + dcol + g.weight_numel()) * 4;
}

int64_t conv2d_columns_numel(const Conv2dGeometry& g) {
  return col_is_image(g) ? 0 : g.batch * g.groups * g.col_rows() * g.col_cols();
}

void conv2d_im2col_forward(const Conv2dGeometry& g, const float* input, const float* weight,
                           const float* bias, float* output, float* columns) {
  const int64_t rows = g.col_rows(), cols = g.col_cols();
  const int64_t ocg = g.out_per_group();
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = g.in_per_group() * g.in_h * g.in_w;
  const bool direct = col_is_image(g);
  const bool keep = columns && !direct;
#pragma omp parallel
  {
    const Block block = thread_block(g.batch);
    const bool idle = block.begin == block.end;  // more threads than images
    std::vector<float> scratch(direct || idle || keep ? 0 : static_cast<size_t>(rows * cols));
    for (int64_t n = block.begin; n < block.end; ++n) {
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const float* image = input + n * image_size + grp * group_in;
        float* col = keep ? columns + (n * g.groups + grp) * rows * cols : scratch.data();
        if (!direct) im2col(g, image, col);
        float* out = output + (n * g.out_channels + grp * ocg) * cols;
        if (bias) {
          for (int64_t oc = 0; oc < ocg; ++oc) {
            std::fill(out + oc * cols, out + (oc + 1) * cols, bias[grp * ocg + oc]);
          }
        }
        gemm({.m = ocg, .n = cols, .k = rows, .a = weight + grp * ocg * rows, .lda = rows,
              .b = direct ? image : col, .ldb = cols, .beta = bias ? 1.0f : 0.0f,
              .c = out, .ldc = cols});
      }
    }
  }
}

void conv2d_im2col_backward(const Conv2dGeometry& g, const float* input, const float* weight,
                            const float* doutput, float* dinput, float* dweight, float* dbias,
                            const float* columns) {
  const int64_t rows = g.col_rows(), cols = g.col_cols();
  const int64_t ocg = g.out_per_group();
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = g.in_per_group() * g.in_h * g.in_w;
  const int64_t wsize = g.weight_numel();
  const bool direct = col_is_image(g);
  const int max_threads = omp_get_max_threads();
  std::vector<float> dweight_partials(dweight ? static_cast<size_t>(max_threads * wsize) : 0, 0.0f);
  int used_threads = 1;

#pragma omp parallel
  {
#pragma omp single
    used_threads = omp_get_num_threads();
    const Block block = thread_block(g.batch);
    const bool idle = block.begin == block.end;  // more threads than images
    const bool saved = columns && !direct;
    std::vector<float> scratch(direct || !dweight || idle || saved ? 0
                                                                    : static_cast<size_t>(rows * cols));
    std::vector<float> dcol(dinput && !idle ? static_cast<size_t>(rows * cols) : 0);
    float* my_dweight = dweight ? dweight_partials.data() + omp_get_thread_num() * wsize : nullptr;
    for (int64_t n = block.begin; n < block.end; ++n) {
      if (dinput) std::fill(dinput + n * image_size, dinput + (n + 1) * image_size, 0.0f);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const float* image = input + n * image_size + grp * group_in;
        const float* dout = doutput + (n * g.out_channels + grp * ocg) * cols;
        if (dweight) {
          const float* col = direct  ? image
                             : saved ? columns + (n * g.groups + grp) * rows * cols
                                     : scratch.data();
          if (!direct && !saved) im2col(g, image, scratch.data());
          gemm({.trans_b = Trans::Yes, .m = ocg, .n = rows, .k = cols, .a = dout, .lda = cols,
                .b = col, .ldb = cols, .beta = 1.0f, .c = my_dweight + grp * ocg * rows,
                .ldc = rows});
        }
        if (dinput) {
          float* dimage = dinput + n * image_size + grp * group_in;
          if (direct) {
            gemm({.trans_a = Trans::Yes, .m = rows, .n = cols, .k = ocg,
                  .a = weight + grp * ocg * rows, .lda = rows, .b = dout, .ldb = cols,
                  .c = dimage, .ldc = cols});
          } else {
            gemm({.trans_a = Trans::Yes, .m = rows, .n = cols, .k = ocg,
                  .a = weight + grp * ocg * rows, .lda = rows, .b = dout, .ldb = cols,
                  .c = dcol.data(), .ldc = cols});
            col2im(g, dcol.data(), dimage);
          }
        }
      }
    }
  }

  if (dweight) {
    std::copy(dweight_partials.begin(), dweight_partials.begin() + wsize, dweight);
    for (int t = 1; t < used_threads; ++t) {
      const float* part = dweight_partials.data() + t * wsize;
      for (int64_t i = 0; i < wsize; ++i) dweight[i] += part[i];
    }
  }
  if (dbias) {
    for (int64_t oc = 0; oc < g.out_channels; ++oc) {
      double acc = 0.0;
      for (int64_t n = 0; n < g.batch; ++n) {
        const float* plane = doutput + (n * g.out_channels + oc) * cols;
        for (int64_t i = 0; i < cols; ++i) acc += plane[i];
      }
      dbias[oc] = static_cast<float>(acc);
    }
  }
}

void conv2d_forward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                    const float* weight, const float* bias, float* output, float* columns) {
  if (algo == ConvAlgo::Naive) {
    conv2d_naive_forward(g, input, weight, bias, output);
  } else if (algo == ConvAlgo::Implicit && conv2d_implicit_supported(g)) {
    conv2d_implicit_forward(g, input, weight, bias, output);
  } else {
    conv2d_im2col_forward(g, input, weight, bias, output, columns);
  }
}

void conv2d_backward(ConvAlgo algo, const Conv2dGeometry& g, const float* input,
                     const float* weight, const float* doutput, float* dinput, float* dweight,
                     float* dbias, const float* columns) {
  if (algo == ConvAlgo::Naive) {
    conv2d_naive_backward(g, input, weight, doutput, dinput, dweight, dbias);
  } else if (algo == ConvAlgo::Implicit && conv2d_implicit_supported(g)) {
    conv2d_implicit_backward(g, input, weight, doutput, dinput, dweight, dbias);
  } else {
    conv2d_im2col_backward(g, input, weight, doutput, dinput, dweight, dbias, columns);
  }
}

}  // namespace tinycnn::kernels
