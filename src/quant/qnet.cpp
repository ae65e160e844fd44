// The int8 network's forward: portable integer kernels (the compiler vectorises the int32
// multiply-adds); each image of a batch on one thread.
#include "quant/qnet.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/error.hpp"
#include "kernels/int8_gemm.hpp"
#include "kernels/parallel.hpp"

namespace tinycnn::quant {

namespace {
using tensor::Shape;

uint8_t clamp_u8(float v, int32_t lo) {
  const auto q = static_cast<int32_t>(std::nearbyint(v));
  return static_cast<uint8_t>(std::clamp(q, lo, 255));
}

std::atomic<bool> g_portable{false};

int64_t k4_of(int64_t rows) { return (rows + 3) / 4; }

// One image through a conv (or a linear layer as a 1x1 conv): im2col of u8 padded with the
// input's zero point, packed in groups of four rows for the int8 product, then the epilogue.
void conv_image(const QLayer& l, const uint8_t* x, uint8_t* y, float* logits,
                std::vector<uint8_t>& col, std::vector<int32_t>& acc) {
  const bool linear = l.op == QLayer::Op::Linear;
  const int64_t c = l.input[0], h = linear ? 1 : l.input[1], w = linear ? 1 : l.input[2];
  const int64_t oc = l.output[0], oh = linear ? 1 : l.output[1], ow = linear ? 1 : l.output[2];
  const int64_t cg = c / l.groups, og = oc / l.groups, rows = cg * l.kh * l.kw, cols = oh * ow;
  const int64_t k4 = k4_of(rows);
  col.assign(static_cast<size_t>(k4 * 4 * cols), static_cast<uint8_t>(l.in.zero));
  acc.resize(static_cast<size_t>(og * cols));
  for (int64_t g = 0; g < l.groups; ++g) {
    for (int64_t r = 0; r < rows; ++r) {  // r = (ci, ki, kj) -> col[r / 4][p][r % 4]
      const int64_t ci = g * cg + r / (l.kh * l.kw), ki = r / l.kw % l.kh, kj = r % l.kw;
      const uint8_t* plane = x + ci * h * w;
      uint8_t* out = col.data() + (r / 4) * cols * 4 + r % 4;
      // Output columns whose source lies inside the row: [j_lo, j_hi) (the rest stay the zero
      // point the column buffer was filled with).
      const int64_t j_lo = std::clamp<int64_t>((l.pw - kj + l.sw - 1) / l.sw, 0, ow);
      const int64_t j_hi = std::clamp<int64_t>((w + l.pw - kj + l.sw - 1) / l.sw, j_lo, ow);
      for (int64_t i = 0; i < oh; ++i) {
        const int64_t ih = i * l.sh - l.ph + ki;
        if (ih < 0 || ih >= h) continue;
        const uint8_t* src = plane + ih * w + (j_lo * l.sw - l.pw + kj);
        uint8_t* dst = out + (i * ow + j_lo) * 4;
        for (int64_t j = 0; j < j_hi - j_lo; ++j) dst[j * 4] = src[j * l.sw];
      }
    }
    kernels::gemm_s8u8(og, cols, k4, l.weight_k4.data() + g * og * k4 * 4, col.data(), acc.data(),
                       g_portable.load(std::memory_order_relaxed));
    for (int64_t f = g * og; f < (g + 1) * og; ++f) {
      const auto fi = static_cast<size_t>(f);
      const int32_t offset = l.bias[fi] - l.in.zero * l.weight_sums[fi];
      const int32_t* a = acc.data() + (f - g * og) * cols;
      const float real = l.in.scale * l.weight_scale[fi];
      if (l.float_output) {
        for (int64_t p = 0; p < cols; ++p) {
          logits[f * cols + p] = static_cast<float>(a[p] + offset) * real;
        }
        continue;
      }
      const float m = real / l.out.scale;
      const int32_t lo = l.relu ? l.out.zero : 0;
      for (int64_t p = 0; p < cols; ++p) {
        y[f * cols + p] =
            clamp_u8(static_cast<float>(a[p] + offset) * m + static_cast<float>(l.out.zero), lo);
      }
    }
  }
}

void pool_image(const QLayer& l, const uint8_t* x, uint8_t* y) {
  const int64_t c = l.input[0], h = l.input[1], w = l.input[2], oh = l.output[1], ow = l.output[2];
  const bool max = l.op == QLayer::Op::MaxPool;
  const int64_t area = l.kh * l.kw;
  for (int64_t ch = 0; ch < c; ++ch) {
    const uint8_t* plane = x + ch * h * w;
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        int32_t best = 0, sum = 0;
        for (int64_t a = 0; a < l.kh; ++a) {
          for (int64_t b = 0; b < l.kw; ++b) {
            const int64_t ih = i * l.sh - l.ph + a, iw = j * l.sw - l.pw + b;
            const bool inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
            // Max pooling pads with -inf (skipped), average pooling with zeros (the zero point).
            const int32_t v = inside ? plane[ih * w + iw] : l.in.zero;
            if (inside) best = std::max(best, v);
            sum += v;
          }
        }
        const auto avg = static_cast<float>(sum) / static_cast<float>(area);
        y[(ch * oh + i) * ow + j] = max ? static_cast<uint8_t>(best) : clamp_u8(avg, 0);
      }
    }
  }
}

// The batch [n, ...] of u8 values through `layers`; `q` is the values' quantization.
struct Batch {
  int64_t n = 0;
  Shape example;
  std::vector<uint8_t> values;
  Quant q;
};

tensor::Tensor dequantize(const Batch& b) {
  std::vector<int64_t> dims{b.n};
  for (const int64_t d : b.example.dims()) dims.push_back(d);
  tensor::Tensor t = tensor::Tensor::empty(Shape(dims));
  for (size_t i = 0; i < b.values.size(); ++i) {
    t[static_cast<int64_t>(i)] = b.q.scale * static_cast<float>(b.values[i] - b.q.zero);
  }
  return t;
}

Batch run_layers(const std::vector<QLayer>& layers, Batch x, tensor::Tensor* logits,
                 const LayerObserver& observe);

Batch run_weighted(const QLayer& l, const Batch& x, tensor::Tensor* logits) {
  Batch y{x.n, l.output, {}, l.out};
  const int64_t in_size = x.example.numel(), out_size = l.output.numel();
  if (l.float_output) {
    TCNN_CHECK(logits != nullptr, "int8: ", l.name, ": a float output where none is expected");
    *logits = tensor::Tensor::empty(Shape{x.n, out_size});
  } else {
    y.values.resize(static_cast<size_t>(x.n * out_size));
  }
  kernels::parallel_region([&] {
    const kernels::Block images = kernels::thread_block(x.n);
    std::vector<uint8_t> col;
    std::vector<int32_t> acc;
    for (int64_t i = images.begin; i < images.end; ++i) {
      conv_image(l, x.values.data() + i * in_size,
                 l.float_output ? nullptr : y.values.data() + i * out_size,
                 l.float_output ? logits->data() + i * out_size : nullptr, col, acc);
    }
  });
  return y;
}

Batch run_layer(const QLayer& l, Batch x, tensor::Tensor* logits, const LayerObserver& observe) {
  switch (l.op) {
    case QLayer::Op::Conv:
    case QLayer::Op::Linear:
      return run_weighted(l, x, logits);
    case QLayer::Op::MaxPool:
    case QLayer::Op::AvgPool:
    case QLayer::Op::GlobalAvgPool: {
      Batch y{x.n, l.output, std::vector<uint8_t>(static_cast<size_t>(x.n * l.output.numel())),
              x.q};
      QLayer window = l;
      if (l.op == QLayer::Op::GlobalAvgPool) {
        window.kh = window.sh = l.input[1];
        window.kw = window.sw = l.input[2];
      }
      window.in = x.q;
      for (int64_t i = 0; i < x.n; ++i) {
        pool_image(window, x.values.data() + i * l.input.numel(),
                   y.values.data() + i * l.output.numel());
      }
      return y;
    }
    case QLayer::Op::Flatten:
      x.example = l.output;
      return x;
    case QLayer::Op::Relu:
      for (uint8_t& v : x.values) v = static_cast<uint8_t>(std::max<int32_t>(v, x.q.zero));
      return x;
    case QLayer::Op::Residual: {
      const Batch a = run_layers(l.main, x, nullptr, observe);
      const Batch b = run_layers(l.shortcut, std::move(x), nullptr, observe);
      Batch y{a.n, l.output, std::vector<uint8_t>(a.values.size()), l.out};
      const float ka = a.q.scale / l.out.scale, kb = b.q.scale / l.out.scale;
      const int32_t lo = l.relu ? l.out.zero : 0;
      for (size_t i = 0; i < a.values.size(); ++i) {
        const float v = ka * static_cast<float>(a.values[i] - a.q.zero) +
                        kb * static_cast<float>(b.values[i] - b.q.zero);
        y.values[i] = clamp_u8(v + static_cast<float>(l.out.zero), lo);
      }
      return y;
    }
  }
  return x;
}

Batch run_layers(const std::vector<QLayer>& layers, Batch x, tensor::Tensor* logits,
                 const LayerObserver& observe) {
  for (const QLayer& l : layers) {
    x = run_layer(l, std::move(x), logits, observe);
    if (observe && !l.float_output) observe(l, dequantize(x));
    if (observe && l.float_output) observe(l, *logits);
  }
  return x;
}
}  // namespace

Quant quant_of_range(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  const double scale = hi > lo ? (hi - lo) / 255.0 : 1.0;
  const auto zero = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / scale), 0.0, 255.0));
  return {static_cast<float>(scale), zero};
}

void compute_weight_sums(std::vector<QLayer>& layers) {
  for (QLayer& l : layers) {
    compute_weight_sums(l.main);
    compute_weight_sums(l.shortcut);
    if (!l.has_weights()) continue;
    const auto oc = static_cast<size_t>(l.out_channels());
    const size_t per = l.weight.size() / oc,
                 padded = static_cast<size_t>(k4_of(static_cast<int64_t>(per))) * 4;
    l.weight_sums.assign(oc, 0);
    l.weight_k4.assign(oc * padded, 0);
    for (size_t f = 0; f < oc; ++f) {
      for (size_t k = 0; k < per; ++k) {
        l.weight_sums[f] += l.weight[f * per + k];
        l.weight_k4[f * padded + k] = l.weight[f * per + k];
      }
    }
  }
}

void set_portable(bool portable) { g_portable.store(portable); }
bool portable() { return g_portable.load(); }

tensor::Tensor run(const QNet& net, const tensor::Tensor& images, const LayerObserver& observe) {
  const Shape& s = images.shape();
  TCNN_CHECK(s.rank() == 4 && s[1] == net.input[0] && s[2] == net.input[1] && s[3] == net.input[2],
             "int8: expected images [N, ", net.input[0], ", ", net.input[1], ", ", net.input[2],
             "], got ", s.to_string());
  Batch x{s[0], net.input, std::vector<uint8_t>(static_cast<size_t>(images.numel())),
          net.input_quant};
  const float inv = 1.0f / net.input_quant.scale;
  for (int64_t i = 0; i < images.numel(); ++i) {
    x.values[static_cast<size_t>(i)] =
        clamp_u8(images[i] * inv + static_cast<float>(net.input_quant.zero), 0);
  }
  tensor::Tensor logits;
  run_layers(net.layers, std::move(x), &logits, observe);
  TCNN_CHECK(logits.defined(), "int8: the network ends without a float output");
  return logits;
}

}  // namespace tinycnn::quant
