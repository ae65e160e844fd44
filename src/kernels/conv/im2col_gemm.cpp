// im2col + GEMM convolution. Threads take contiguous blocks of images (static split), each with
// its own column buffer and, in backward, its own dweight partial; partials are summed in thread
// order, so results depend on the thread count only through float summation order. The GEMMs
// are row_gemm.hpp's micro-kernels (the same as the implicit path's) over the column matrix,
// whose rows are padded with zeros to whole blocks.
// Built with -ffp-contract=fast (src/CMakeLists.txt): a*b + c is one fused multiply-add.
#include "kernels/conv/im2col_gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/conv/im2col.hpp"
#include "kernels/conv/row_gemm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/simd.hpp"

namespace tinycnn::kernels {

namespace {
// Column-matrix rows are padded to whole micro-kernel blocks (zeros in the tail).
int64_t col_ld(const Conv2dGeometry& g) { return round_up(g.col_cols(), kRowBlock); }

std::vector<int64_t> row_offsets(int64_t rows, int64_t ld) {
  std::vector<int64_t> off(static_cast<size_t>(rows));
  for (int64_t t = 0; t < rows; ++t) off[static_cast<size_t>(t)] = t * ld;
  return off;
}
}  // namespace

int64_t conv2d_im2col_forward_workspace_bytes(const Conv2dGeometry& g, int threads) {
  const int64_t ld = col_ld(g);
  return (static_cast<int64_t>(threads) * (g.col_rows() + g.out_per_group()) * ld +
          g.weight_numel()) *
         4;
}

int64_t conv2d_im2col_backward_workspace_bytes(const Conv2dGeometry& g, int threads) {
  const int64_t ld = col_ld(g);
  const int64_t per_thread = (2 * g.col_rows() + g.out_per_group()) * ld +
                             g.out_channels * (g.col_rows() + 1) * simd::kLanes;
  return static_cast<int64_t>(threads) * per_thread * 4;
}

int64_t conv2d_columns_numel(const Conv2dGeometry& g) {
  return g.batch * g.groups * g.col_rows() * col_ld(g);
}

void conv2d_im2col_forward(const Conv2dGeometry& g, const float* input, const float* weight,
                           const float* bias, float* output, float* columns) {
  const int64_t rows = g.col_rows(), cols = g.col_cols(), ld = col_ld(g);
  const int64_t ocg = g.out_per_group();
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = g.in_per_group() * g.in_h * g.in_w;
  const std::vector<float> wt = transpose_groups(weight, g.groups, ocg, rows);
  const std::vector<int64_t> off = row_offsets(rows, ld);
  parallel_region([&] {
    const Block block = thread_block(g.batch);
    if (block.begin < block.end) {
      std::vector<float> scratch(columns ? 0 : static_cast<size_t>(rows * ld));
      std::vector<float> wide(ld == cols ? 0 : static_cast<size_t>(ocg * ld));
      for (int64_t n = block.begin; n < block.end; ++n) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          float* col = columns ? columns + (n * g.groups + grp) * rows * ld : scratch.data();
          im2col(g, input + n * image_size + grp * group_in, col, ld);
          float* out = output + (n * g.out_channels + grp * ocg) * cols;
          // Rows already a whole number of blocks: straight into the output.
          float* c = ld == cols ? out : wide.data();
          rows_gemm(ocg, wt.data() + grp * rows * ocg, ocg, col, off.data(), rows,
                    bias ? bias + grp * ocg : nullptr, c, ld, ld);
          if (c != out) {
            for (int64_t m = 0; m < ocg; ++m) {
              std::copy(c + m * ld, c + m * ld + cols, out + m * cols);
            }
          }
        }
      }
    }
  });
}

void conv2d_im2col_backward(const Conv2dGeometry& g, const float* input, const float* weight,
                            const float* doutput, float* dinput, float* dweight, float* dbias,
                            const float* columns) {
  const int64_t rows = g.col_rows(), cols = g.col_cols(), ld = col_ld(g);
  const int64_t ocg = g.out_per_group();
  const int64_t image_size = g.in_channels * g.in_h * g.in_w;
  const int64_t group_in = g.in_per_group() * g.in_h * g.in_w;
  const std::vector<int64_t> off = row_offsets(rows, ld);
  const std::vector<int64_t> d_off = row_offsets(ocg, ld);
  // Per thread, as vectors: dweight sums [OC][rows] (= dweight's layout), then dbias sums [OC].
  const int64_t sums_per_thread = g.out_channels * (rows + 1);
  ThreadSums sums(sums_per_thread);

  parallel_region([&] {
    const Block block = thread_block(g.batch);
    if (block.begin < block.end) {
      simd::Vec* my_sums = sums.mine();
      std::vector<float> scratch(dweight && !columns ? static_cast<size_t>(rows * ld) : 0);
      std::vector<float> d(static_cast<size_t>(ocg * ld), 0.0f);  // tails stay zero
      std::vector<float> dcol(dinput ? static_cast<size_t>(rows * ld) : 0);
      for (int64_t n = block.begin; n < block.end; ++n) {
        if (dinput) std::fill(dinput + n * image_size, dinput + (n + 1) * image_size, 0.0f);
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const float* dout = doutput + (n * g.out_channels + grp * ocg) * cols;
          for (int64_t m = 0; m < ocg; ++m) {
            std::copy(dout + m * cols, dout + (m + 1) * cols, d.data() + m * ld);
          }
          if (dbias) {
            for (int64_t m = 0; m < ocg; ++m) {
              simd::Vec acc{};
              for (int64_t q = 0; q < ld; q += simd::kLanes)
                acc += simd::load(d.data() + m * ld + q);
              my_sums[g.out_channels * rows + grp * ocg + m] += acc;
            }
          }
          if (dweight) {
            const float* col =
                columns ? columns + (n * g.groups + grp) * rows * ld : scratch.data();
            if (!columns) im2col(g, input + n * image_size + grp * group_in, scratch.data(), ld);
            rows_gemm_t(ocg, d.data(), ld, col, off.data(), rows, ld, my_sums + grp * ocg * rows);
          }
          if (dinput) {
            // dcol[t][q] = sum_m W[m][t] D[m][q], then col2im.
            rows_gemm(rows, weight + grp * ocg * rows, rows, d.data(), d_off.data(), ocg, nullptr,
                      dcol.data(), ld, ld);
            col2im(g, dcol.data(), dinput + n * image_size + grp * group_in, ld);
          }
        }
      }
    }
  });

  std::vector<float> totals(static_cast<size_t>(sums_per_thread));
  sums.sum_lanes(totals.data());
  if (dweight) std::copy(totals.begin(), totals.begin() + g.weight_numel(), dweight);
  if (dbias) std::copy(totals.begin() + g.weight_numel(), totals.end(), dbias);
}

}  // namespace tinycnn::kernels
