// The double-precision forward; see double_forward.hpp.
#include "check/double_forward.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "nn/batchnorm.hpp"
#include "nn/conv2d.hpp"
#include "nn/groupnorm.hpp"
#include "nn/linear.hpp"
#include "nn/pooling.hpp"
#include "nn/residual.hpp"
#include "nn/sequential.hpp"
#include "nn/simple_layers.hpp"

namespace tinycnn::check {

namespace {
using tensor::Shape;

std::vector<double> widen(const tensor::Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<size_t>(i)] = t.data()[i];
  return out;
}

constexpr int64_t kParallelMacs = int64_t{1} << 22;

DoubleBatch conv2d(nn::Conv2d& conv, const DoubleBatch& x) {
  const nn::Conv2dOptions& o = conv.options();
  const Shape out_shape = conv.output_shape(x.example);
  const int64_t c = x.example[0], h = x.example[1], w = x.example[2];
  const int64_t oc = out_shape[0], oh = out_shape[1], ow = out_shape[2];
  const int64_t kh = o.kernel_size[0], kw = o.kernel_size[1];
  const int64_t cg = c / o.groups, og = oc / o.groups, rows = cg * kh * kw, cols = oh * ow;
  const std::vector<double> weight = widen(conv.weight().data());  // [oc, cg, kh, kw]
  const std::vector<double> bias =
      o.bias ? widen(conv.bias().data()) : std::vector<double>(static_cast<size_t>(oc), 0.0);
  DoubleBatch y{x.batch, out_shape, std::vector<double>(static_cast<size_t>(x.batch * oc * cols))};
  // A block of images per thread (OpenBLAS runs single-threaded inside the parallel region);
  // one thread for a small layer, whose region would cost more than its work when the cores
  // are shared (the check's tests run beside others).
  kernels::parallel_region(
      [&] {
        const kernels::Block images = kernels::thread_block(x.batch);
        std::vector<double> col(static_cast<size_t>(rows * cols));
        for (int64_t n = images.begin; n < images.end; ++n) {
          for (int64_t g = 0; g < o.groups; ++g) {
            for (int64_t r = 0; r < rows; ++r) {  // r = (ci, ki, kj)
              const int64_t ci = g * cg + r / (kh * kw), ki = r / kw % kh, kj = r % kw;
              const double* plane = x.values.data() + (n * c + ci) * h * w;
              for (int64_t i = 0; i < oh; ++i) {
                const int64_t ih = i * o.stride[0] - o.padding[0] + ki;
                for (int64_t j = 0; j < ow; ++j) {
                  const int64_t iw = j * o.stride[1] - o.padding[1] + kj;
                  const bool inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
                  col[static_cast<size_t>(r * cols + i * ow + j)] =
                      inside ? plane[ih * w + iw] : 0.0;
                }
              }
            }
            double* out = y.values.data() + (n * oc + g * og) * cols;
            kernels::dgemm(og, cols, rows, weight.data() + g * og * rows, rows, col.data(), cols,
                           out, cols);
            for (int64_t f = 0; f < og; ++f) {
              for (int64_t p = 0; p < cols; ++p)
                out[f * cols + p] += bias[static_cast<size_t>(g * og + f)];
            }
          }
        }
      },
      x.batch * oc * cols * rows >= kParallelMacs);
  return y;
}

DoubleBatch linear(nn::Linear& layer, const DoubleBatch& x) {
  const int64_t in = layer.options().in_features, out = layer.options().out_features;
  TCNN_CHECK(x.example.rank() == 1 && x.example[0] == in, "linear: expected [", in, "], got ",
             x.example.to_string());
  const std::vector<double> weight = widen(layer.weight().data());  // [out, in]
  std::vector<double> wt(weight.size());                            // [in, out]
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) wt[static_cast<size_t>(i * out + o)] = weight[o * in + i];
  }
  DoubleBatch y{x.batch, Shape{out}, std::vector<double>(static_cast<size_t>(x.batch * out))};
  kernels::dgemm(x.batch, out, in, x.values.data(), in, wt.data(), out, y.values.data(), out);
  if (layer.options().bias) {
    const std::vector<double> bias = widen(layer.bias().data());
    for (int64_t n = 0; n < x.batch; ++n) {
      for (int64_t o = 0; o < out; ++o) y.values[static_cast<size_t>(n * out + o)] += bias[o];
    }
  }
  return y;
}

DoubleBatch pool2d(const nn::Pool2d& pool, const DoubleBatch& x, bool max,
                   const std::vector<int32_t>* argmax) {
  const Shape out_shape = pool.output_shape(x.example);
  const int64_t c = x.example[0], h = x.example[1], w = x.example[2];
  const int64_t oh = out_shape[1], ow = out_shape[2];
  const auto k = pool.kernel_size(), s = pool.stride(), p = pool.padding();
  DoubleBatch y{x.batch, out_shape,
                std::vector<double>(static_cast<size_t>(x.batch * c * oh * ow))};
  size_t o = 0;
  for (int64_t plane = 0; plane < x.batch * c; ++plane) {
    const double* in = x.values.data() + plane * h * w;
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j, ++o) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t best_at = -1;
        for (int64_t a = i * s[0] - p[0]; a < i * s[0] - p[0] + k[0]; ++a) {
          for (int64_t b = j * s[1] - p[1]; b < j * s[1] - p[1] + k[1]; ++b) {
            if (a < 0 || a >= h || b < 0 || b >= w) continue;  // padding: -inf for max, 0 for avg
            const double v = in[a * w + b];
            sum += v;
            if (v > best || best_at < 0) best = v, best_at = a * w + b;
          }
        }
        if (argmax) best = in[(*argmax)[o]];
        y.values[o] = max ? best : sum / static_cast<double>(k[0] * k[1]);
      }
    }
  }
  return y;
}

DoubleBatch global_avgpool(const DoubleBatch& x) {
  const int64_t c = x.example[0], plane = x.example[1] * x.example[2];
  DoubleBatch y{x.batch, Shape{c, 1, 1}, std::vector<double>(static_cast<size_t>(x.batch * c))};
  for (int64_t i = 0; i < x.batch * c; ++i) {
    double sum = 0;
    for (int64_t p = 0; p < plane; ++p) sum += x.values[static_cast<size_t>(i * plane + p)];
    y.values[static_cast<size_t>(i)] = sum / static_cast<double>(plane);
  }
  return y;
}

const tensor::Tensor* find_parameter(nn::Module& layer, const std::string& name) {
  for (auto& p : layer.parameters()) {
    if (p.name == name) return &p.var.data();
  }
  return nullptr;
}

const tensor::Tensor* find_buffer(nn::Module& layer, const std::string& name) {
  for (auto& b : layer.buffers()) {
    if (b.name == name) return b.f32;
  }
  return nullptr;
}

DoubleBatch batchnorm(nn::BatchNorm& bn, DoubleBatch x) {
  const int64_t c = bn.options().features;
  const int64_t plane = x.example.numel() / c, count = x.batch * plane;
  const auto at = [&](int64_t n, int64_t ch, int64_t p) -> double& {
    return x.values[static_cast<size_t>((n * c + ch) * plane + p)];
  };
  const tensor::Tensor* gamma = find_parameter(bn, "weight");
  const tensor::Tensor* beta = find_parameter(bn, "bias");
  const tensor::Tensor* running_mean = find_buffer(bn, "running_mean");
  const tensor::Tensor* running_var = find_buffer(bn, "running_var");
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    if (bn.training()) {
      for (int64_t n = 0; n < x.batch; ++n) {
        for (int64_t p = 0; p < plane; ++p) mean += at(n, ch, p);
      }
      mean /= static_cast<double>(count);
      for (int64_t n = 0; n < x.batch; ++n) {
        for (int64_t p = 0; p < plane; ++p) var += (at(n, ch, p) - mean) * (at(n, ch, p) - mean);
      }
      var /= static_cast<double>(count);  // biased, as the forward uses
    } else {
      TCNN_CHECK(running_mean && running_var, bn.type(), ": no running statistics");
      mean = running_mean->data()[ch];
      var = running_var->data()[ch];
    }
    const double scale = (gamma ? gamma->data()[ch] : 1.0) / std::sqrt(var + bn.options().eps);
    const double shift = beta ? beta->data()[ch] : 0.0;
    for (int64_t n = 0; n < x.batch; ++n) {
      for (int64_t p = 0; p < plane; ++p) at(n, ch, p) = (at(n, ch, p) - mean) * scale + shift;
    }
  }
  return x;
}

// Each (example, group) row normalised by its own mean and biased variance, then the affine
// (per channel, or per element for layernorm).
DoubleBatch groupnorm(nn::GroupNorm& gn, DoubleBatch x) {
  const nn::GroupNormOptions& o = gn.options();
  const int64_t example = x.example.numel(), rows = x.batch * o.groups, m = example / o.groups;
  const int64_t repeat = o.layer ? 1 : example / x.example[0];
  const std::vector<double> gamma = o.affine ? widen(gn.weight().data()) : std::vector<double>();
  const std::vector<double> beta = o.affine ? widen(gn.bias().data()) : std::vector<double>();
  for (int64_t r = 0; r < rows; ++r) {
    double* row = x.values.data() + r * m;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < m; ++i) mean += row[i];
    mean /= static_cast<double>(m);
    for (int64_t i = 0; i < m; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= static_cast<double>(m);
    const double invstd = 1.0 / std::sqrt(var + o.eps);
    const int64_t first = r % o.groups * m;
    for (int64_t i = 0; i < m; ++i) {
      const auto a = static_cast<size_t>((first + i) / repeat);
      row[i] = (row[i] - mean) * invstd;
      if (o.affine) row[i] = row[i] * gamma[a] + beta[a];
    }
  }
  return x;
}

void relu(DoubleBatch& x, const std::vector<uint8_t>* positive) {
  std::vector<double>& v = x.values;
  for (size_t i = 0; i < v.size(); ++i) {
    const bool pass = positive ? (*positive)[i] != 0 : v[i] > 0;
    v[i] = pass ? v[i] : 0.0;
  }
}

// A layer with no double form (a test's own): its float forward.
DoubleBatch in_float(nn::Module& layer, const DoubleBatch& x) {
  std::vector<int64_t> dims{x.batch};
  for (const int64_t d : x.example.dims()) dims.push_back(d);
  tensor::Tensor t = tensor::Tensor::empty(Shape(dims));
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = static_cast<float>(x.values[static_cast<size_t>(i)]);
  autograd::NoGradGuard no_grad;
  return to_double(layer.forward(autograd::Variable(t)).data());
}

template <typename T>
const std::vector<T>* piece_of(const std::unordered_map<const nn::Module*, std::vector<T>>* map,
                               const nn::Module& layer, size_t size) {
  if (!map) return nullptr;
  const auto it = map->find(&layer);
  if (it == map->end()) return nullptr;
  TCNN_CHECK(it->second.size() == size, layer.type(), ": expected a recorded piece of ", size,
             " entries, got ", it->second.size());
  return &it->second;
}
}  // namespace

DoubleBatch to_double(const tensor::Tensor& batch) {
  TCNN_CHECK(batch.shape().rank() >= 2, "expected a batch [N, ...], got ",
             batch.shape().to_string());
  const std::vector<int64_t>& dims = batch.shape().dims();
  return {dims[0], Shape(std::vector<int64_t>(dims.begin() + 1, dims.end())), widen(batch)};
}

DoubleBatch forward_double(nn::Module& layer, DoubleBatch x, const Pieces* pieces) {
  switch (layer.kind()) {
    case nn::LayerKind::Sequential: {
      auto& seq = nn::as<nn::Sequential>(layer);
      for (size_t i = 0; i < seq.size(); ++i)
        x = forward_double(seq.layer(i), std::move(x), pieces);
      return x;
    }
    case nn::LayerKind::Residual: {
      auto& block = nn::as<nn::Residual>(layer);
      DoubleBatch main = forward_double(block.main(), x, pieces);
      const DoubleBatch shortcut = forward_double(block.shortcut(), std::move(x), pieces);
      TCNN_CHECK(main.values.size() == shortcut.values.size(), "residual: branch shapes ",
                 main.example.to_string(), " and ", shortcut.example.to_string());
      for (size_t i = 0; i < main.values.size(); ++i) main.values[i] += shortcut.values[i];
      return main;
    }
    case nn::LayerKind::Conv2d:
      return conv2d(nn::as<nn::Conv2d>(layer), x);
    case nn::LayerKind::Linear:
      return linear(nn::as<nn::Linear>(layer), x);
    case nn::LayerKind::BatchNorm2d:
    case nn::LayerKind::BatchNorm1d:
      return batchnorm(nn::as<nn::BatchNorm>(layer), std::move(x));
    case nn::LayerKind::LayerNorm:
    case nn::LayerKind::GroupNorm:
      return groupnorm(nn::as<nn::GroupNorm>(layer), std::move(x));
    case nn::LayerKind::MaxPool2d: {
      auto& pool = nn::as<nn::Pool2d>(layer);
      const auto outputs = static_cast<size_t>(x.batch * pool.output_shape(x.example).numel());
      return pool2d(pool, x, true,
                    piece_of(pieces ? &pieces->pool_argmax : nullptr, layer, outputs));
    }
    case nn::LayerKind::AvgPool2d:
      return pool2d(nn::as<nn::Pool2d>(layer), x, false, nullptr);
    case nn::LayerKind::GlobalAvgPool2d:
      return global_avgpool(x);
    case nn::LayerKind::Flatten:
      x.example = Shape{x.example.numel()};
      return x;
    case nn::LayerKind::Relu:
      relu(x, piece_of(pieces ? &pieces->relu_positive : nullptr, layer, x.values.size()));
      return x;
    case nn::LayerKind::Tanh:
      for (double& e : x.values) e = std::tanh(e);
      return x;
    case nn::LayerKind::Sigmoid:
      for (double& e : x.values) e = 1.0 / (1.0 + std::exp(-e));
      return x;
    case nn::LayerKind::Dropout:
      TCNN_CHECK(!layer.training(), "gradcheck: dropout must be off");
      return x;
    case nn::LayerKind::Custom:
      break;
  }
  return in_float(layer, x);
}

double mean_cross_entropy(const DoubleBatch& logits, const std::vector<int32_t>& labels) {
  const int64_t k = logits.example.numel();
  double total = 0;
  for (int64_t i = 0; i < logits.batch; ++i) {
    const double* row = logits.values.data() + i * k;
    const double top = *std::max_element(row, row + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(row[j] - top);
    total += top + std::log(sum) - row[labels[static_cast<size_t>(i)]];
  }
  return total / static_cast<double>(logits.batch);
}

}  // namespace tinycnn::check
