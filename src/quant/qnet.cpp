// The int8 network's forward on channels-last (NHWC) u8 activations, each pixel's channels
// padded to a multiple of 4 (the padding's weights are 0): a convolution reads each kernel
// tap's channels in place — four consecutive channels are the four bytes vpdpbusd takes — with
// output channels in the vector lanes (kernels/int8_gemm.hpp); each image on one thread.
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

std::atomic<bool> g_portable{false};

// The byte of real value v / scale on a tensor with `zero`: rounded half to even, then the zero
// point added as an integer (exact; the order ONNX runtimes use), clamped to [lo, 255].
uint8_t to_u8(float v, int32_t zero, int32_t lo) {
  const auto q = static_cast<int32_t>(std::nearbyint(v)) + zero;
  return static_cast<uint8_t>(std::clamp(q, lo, 255));
}

// The average of `area` bytes summing to `sum`: the mean distance from the zero point rounded
// half away from zero (symmetric about the real 0, as OpenCV's int8 pooling rounds), clamped.
uint8_t average(int32_t sum, int32_t area, int32_t zero) {
  const float mean = static_cast<float>(sum - area * zero) / static_cast<float>(area);
  return static_cast<uint8_t>(std::clamp(static_cast<int32_t>(std::round(mean)) + zero, 0, 255));
}

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// An example's geometry: [C, H, W] or [F] (one pixel of F channels).
struct Geometry {
  int64_t c = 0, h = 1, w = 1;
  explicit Geometry(const Shape& s)
      : c(s[0]), h(s.rank() == 3 ? s[1] : 1), w(s.rank() == 3 ? s[2] : 1) {}
  int64_t cp() const { return round_up(c, 4); }  // a pixel's stride
  int64_t pixels() const { return h * w; }
  int64_t bytes() const { return pixels() * cp(); }
};

// The batch [n, H, W, Cp] of u8 values; `q` is their quantization.
struct Batch {
  int64_t n = 0;
  Shape example;
  std::vector<uint8_t> values;
  Quant q;
};

Batch make_batch(int64_t n, const Shape& example, Quant q) {
  return {n, example,
          std::vector<uint8_t>(static_cast<size_t>(n * Geometry(example).bytes()),
                               static_cast<uint8_t>(q.zero)),
          q};
}

// [n, ...] floats in the float model's NCHW order.
tensor::Tensor dequantize(const Batch& b) {
  const Geometry g(b.example);
  std::vector<int64_t> dims{b.n};
  for (const int64_t d : b.example.dims()) dims.push_back(d);
  tensor::Tensor t = tensor::Tensor::empty(Shape(dims));
  for (int64_t i = 0; i < b.n; ++i) {
    for (int64_t c = 0; c < g.c; ++c) {
      for (int64_t p = 0; p < g.pixels(); ++p) {
        const uint8_t v = b.values[static_cast<size_t>(i * g.bytes() + p * g.cp() + c)];
        t[(i * g.c + c) * g.pixels() + p] = b.q.scale * static_cast<float>(v - b.q.zero);
      }
    }
  }
  return t;
}

// One image through a conv or linear layer: the input copied into a frame of zero points (the
// padding), each output pixel's window start and each kernel tap's offset in it, the int8
// sums, the epilogue.
struct Scratch {
  std::vector<uint8_t> padded;
  std::vector<const uint8_t*> base;
  std::vector<int64_t> tap;
  std::vector<int32_t> acc;
};

// Whether a grouped layer is depthwise (each channel its own filter): the vector kernel.
bool depthwise(const QLayer& l) {
  return l.groups > 1 && l.groups == l.input[0] && l.out_channels() == l.input[0];
}

// The input in a frame of zero points (the padding) and each output pixel's window start in
// it; returns the frame's row length in pixels.
int64_t frame_windows(const QLayer& l, const uint8_t* x, Scratch& s) {
  const Geometry in(l.input), out(l.output);
  const int64_t cp = in.cp();
  const int64_t hp = in.h + 2 * l.ph, wp = in.w + 2 * l.pw;
  const uint8_t* frame = x;
  if (l.ph > 0 || l.pw > 0) {
    s.padded.assign(static_cast<size_t>(hp * wp * cp), static_cast<uint8_t>(l.in.zero));
    for (int64_t i = 0; i < in.h; ++i) {
      std::copy(x + i * in.w * cp, x + (i + 1) * in.w * cp,
                s.padded.data() + ((i + l.ph) * wp + l.pw) * cp);
    }
    frame = s.padded.data();
  }
  s.base.resize(static_cast<size_t>(out.pixels()));
  for (int64_t i = 0; i < out.h; ++i) {
    for (int64_t j = 0; j < out.w; ++j) {
      s.base[static_cast<size_t>(i * out.w + j)] = frame + (i * l.sh * wp + j * l.sw) * cp;
    }
  }
  return wp;
}

// The layer's requantizing epilogue into one image's output bytes y.
kernels::Requantize epilogue(const QLayer& l, uint8_t* y) {
  const Geometry out(l.output);
  return {.offset = l.offset.data(),
          .scale = l.multiplier.data(),
          .zero = l.out.zero,
          .lo = l.relu ? l.out.zero : 0,
          .channels = out.c,
          .y = y,
          .y_stride = out.cp()};
}

// One image through a depthwise layer: channels in the vector lanes, a tap at a time.
void depthwise_image(const QLayer& l, const uint8_t* x, uint8_t* y, Scratch& s) {
  const Geometry in(l.input), out(l.output);
  const int64_t wp = frame_windows(l, x, s);
  s.tap.resize(static_cast<size_t>(l.kh * l.kw));
  for (int64_t a = 0; a < l.kh; ++a) {
    for (int64_t b = 0; b < l.kw; ++b) {
      s.tap[static_cast<size_t>(a * l.kw + b)] = (a * wp + b) * in.cp();
    }
  }
  kernels::depthwise_s8u8(out.pixels(), l.kh * l.kw, round_up(out.c, 16), s.base.data(),
                          s.tap.data(), l.weight_taps.data(), epilogue(l, y),
                          g_portable.load(std::memory_order_relaxed));
}

void weighted_image(const QLayer& l, const uint8_t* x, uint8_t* y, float* logits, Scratch& s) {
  const Geometry in(l.input), out(l.output);
  const int64_t n = round_up(out.c, 16), cp = in.cp();
  const int64_t wp = frame_windows(l, x, s);
  // A window row's kw pixels are contiguous in the frame, and the packed weights run
  // [a][b][group] alike: each kernel row is one tap of kw x cp / 4 channel groups.
  s.tap.resize(static_cast<size_t>(l.kh));
  for (int64_t a = 0; a < l.kh; ++a) s.tap[static_cast<size_t>(a)] = a * wp * cp;
  const int64_t row_groups = l.kw * cp / 4;
  s.acc.resize(static_cast<size_t>(out.pixels() * n));
  const bool portable = g_portable.load(std::memory_order_relaxed);
  if (!l.float_output) {
    const kernels::Requantize e = epilogue(l, y);
    kernels::conv_taps_s8u8(out.pixels(), l.kh, row_groups, n, s.base.data(), s.tap.data(),
                            l.weight_taps.data(), s.acc.data(), &e, portable);
    return;
  }
  kernels::conv_taps_s8u8(out.pixels(), l.kh, row_groups, n, s.base.data(), s.tap.data(),
                          l.weight_taps.data(), s.acc.data(), nullptr, portable);
  for (int64_t p = 0; p < out.pixels(); ++p) {
    const int32_t* a = s.acc.data() + p * n;
    for (int64_t f = 0; f < out.c; ++f) {
      const auto fi = static_cast<size_t>(f);
      logits[p * out.c + f] =
          static_cast<float>(a[f] + l.offset[fi]) * l.in.scale * l.weight_scale[fi];
    }
  }
}

// A grouped convolution other than depthwise, channels-last, plain loops.
void grouped_image(const QLayer& l, const uint8_t* x, uint8_t* y) {
  const Geometry in(l.input), out(l.output);
  const int64_t cg = in.c / l.groups, og = out.c / l.groups, per = cg * l.kh * l.kw;
  for (int64_t i = 0; i < out.h; ++i) {
    for (int64_t j = 0; j < out.w; ++j) {
      for (int64_t f = 0; f < out.c; ++f) {
        const int64_t g = f / og;
        int32_t acc = 0;
        for (int64_t a = 0; a < l.kh; ++a) {
          for (int64_t b = 0; b < l.kw; ++b) {
            const int64_t ih = i * l.sh - l.ph + a, iw = j * l.sw - l.pw + b;
            const bool inside = ih >= 0 && ih < in.h && iw >= 0 && iw < in.w;
            for (int64_t c = 0; c < cg; ++c) {
              const int32_t v = inside ? x[(ih * in.w + iw) * in.cp() + g * cg + c] : l.in.zero;
              acc += v * l.weight[static_cast<size_t>(f * per + (c * l.kh + a) * l.kw + b)];
            }
          }
        }
        const auto fi = static_cast<size_t>(f);
        y[(i * out.w + j) * out.cp() + f] =
            to_u8(static_cast<float>(acc + l.offset[fi]) * l.multiplier[fi], l.out.zero,
                  l.relu ? l.out.zero : 0);
      }
    }
  }
}

Batch run_weighted(const QLayer& l, const Batch& x, tensor::Tensor* logits) {
  Batch y = make_batch(x.n, l.output, l.out);
  const int64_t in_bytes = Geometry(l.input).bytes(), out_bytes = Geometry(l.output).bytes();
  const int64_t k = l.output.numel();
  if (l.float_output) {
    TCNN_CHECK(logits != nullptr, "int8: ", l.name, ": a float output where none is expected");
    *logits = tensor::Tensor::empty(Shape{x.n, k});
  }
  kernels::parallel_region([&] {
    const kernels::Block images = kernels::thread_block(x.n);
    Scratch s;
    for (int64_t i = images.begin; i < images.end; ++i) {
      const uint8_t* in = x.values.data() + i * in_bytes;
      uint8_t* out = y.values.data() + i * out_bytes;
      if (depthwise(l)) {
        depthwise_image(l, in, out, s);
      } else if (l.groups > 1) {
        grouped_image(l, in, out);
      } else {
        weighted_image(l, in, out, l.float_output ? logits->data() + i * k : nullptr, s);
      }
    }
  });
  return y;
}

// One image's average pooling per channel, channels-last; the window's padding is the zero
// point, a real 0 (count_include_pad). (Max pooling: kernels::max_pool_u8.)
void average_pool_image(const kernels::PoolGeometry& g, int32_t zero, const uint8_t* src,
                        uint8_t* dst, std::vector<int32_t>& acc) {
  const auto area = static_cast<int32_t>(g.kh * g.kw);
  acc.resize(static_cast<size_t>(g.cp));
  for (int64_t i = 0; i < g.oh; ++i) {
    for (int64_t j = 0; j < g.ow; ++j) {
      std::fill(acc.begin(), acc.end(), 0);
      int32_t outside = 0;  // padded window positions, each the zero point
      for (int64_t a = 0; a < g.kh; ++a) {
        for (int64_t b = 0; b < g.kw; ++b) {
          const int64_t ih = i * g.sh - g.ph + a, iw = j * g.sw - g.pw + b;
          if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) {
            ++outside;
            continue;
          }
          const uint8_t* px = src + (ih * g.w + iw) * g.cp;
          for (int64_t c = 0; c < g.cp; ++c) acc[static_cast<size_t>(c)] += px[c];
        }
      }
      uint8_t* o = dst + (i * g.ow + j) * g.cp;
      for (int64_t c = 0; c < g.cp; ++c) {
        o[c] = average(acc[static_cast<size_t>(c)] + outside * zero, area, zero);
      }
    }
  }
}

Batch run_pool(const QLayer& l, const Batch& x) {
  const Geometry in(l.input), out(l.output);
  Batch y = make_batch(x.n, l.output, x.q);
  const bool global = l.op == QLayer::Op::GlobalAvgPool;
  kernels::PoolGeometry g{.h = in.h, .w = in.w, .cp = in.cp(), .oh = out.h, .ow = out.w};
  if (global) {
    g.kh = g.sh = in.h;
    g.kw = g.sw = in.w;
  } else {
    g.kh = l.kh, g.kw = l.kw, g.sh = l.sh, g.sw = l.sw, g.ph = l.ph, g.pw = l.pw;
  }
  kernels::parallel_region([&] {
    const kernels::Block images = kernels::thread_block(x.n);
    std::vector<int32_t> acc;
    for (int64_t n = images.begin; n < images.end; ++n) {
      const uint8_t* src = x.values.data() + n * in.bytes();
      uint8_t* dst = y.values.data() + n * out.bytes();
      if (l.op == QLayer::Op::MaxPool) {
        kernels::max_pool_u8(g, src, dst);
      } else {
        average_pool_image(g, x.q.zero, src, dst, acc);
      }
    }
  });
  return y;
}

// [C, H, W] channels-last to the float model's flat [C * H * W] order (c, h, w).
Batch run_flatten(const QLayer& l, const Batch& x) {
  const Geometry in(l.input), out(l.output);
  Batch y = make_batch(x.n, l.output, x.q);
  for (int64_t n = 0; n < x.n; ++n) {
    for (int64_t c = 0; c < in.c; ++c) {
      for (int64_t p = 0; p < in.pixels(); ++p) {
        y.values[static_cast<size_t>(n * out.bytes() + c * in.pixels() + p)] =
            x.values[static_cast<size_t>(n * in.bytes() + p * in.cp() + c)];
      }
    }
  }
  return y;
}

// What a run reports as it goes.
struct Watchers {
  const LayerObserver& observe;
  const LayerClock& clock;
};

Batch run_layers(const std::vector<QLayer>& layers, Batch x, tensor::Tensor* logits,
                 const Watchers& w);

Batch run_layer(const QLayer& l, Batch x, tensor::Tensor* logits, const Watchers& w) {
  switch (l.op) {
    case QLayer::Op::Conv:
    case QLayer::Op::Linear:
      return run_weighted(l, x, logits);
    case QLayer::Op::MaxPool:
    case QLayer::Op::AvgPool:
    case QLayer::Op::GlobalAvgPool:
      return run_pool(l, x);
    case QLayer::Op::Flatten:
      return run_flatten(l, x);
    case QLayer::Op::Relu:
      for (uint8_t& v : x.values) v = static_cast<uint8_t>(std::max<int32_t>(v, x.q.zero));
      return x;
    case QLayer::Op::Residual: {
      const Batch a = run_layers(l.main, x, nullptr, w);
      const Batch b = run_layers(l.shortcut, std::move(x), nullptr, w);
      Batch y{a.n, l.output, std::vector<uint8_t>(a.values.size()), l.out};
      const float ka = a.q.scale / l.out.scale, kb = b.q.scale / l.out.scale;
      const int32_t lo = l.relu ? l.out.zero : 0;
      for (size_t i = 0; i < a.values.size(); ++i) {
        const float v = ka * static_cast<float>(a.values[i] - a.q.zero) +
                        kb * static_cast<float>(b.values[i] - b.q.zero);
        y.values[i] = to_u8(v, l.out.zero, lo);
      }
      return y;
    }
  }
  return x;
}

Batch run_layers(const std::vector<QLayer>& layers, Batch x, tensor::Tensor* logits,
                 const Watchers& w) {
  for (const QLayer& l : layers) {
    if (w.clock.start) w.clock.start(l);
    x = run_layer(l, std::move(x), logits, w);
    if (w.clock.end) w.clock.end(l);
    if (w.observe && !l.float_output) w.observe(l, dequantize(x));
    if (w.observe && l.float_output) w.observe(l, *logits);
  }
  return x;
}

// W[f][c][a][b] as [a * kw + b][c / 4][f (of n, a multiple of 16)][c % 4], zeros elsewhere.
void pack_taps(QLayer& l) {
  const Geometry in(l.input), out(l.output);
  const int64_t taps = l.kh * l.kw, c4 = in.cp() / 4, n = round_up(out.c, 16);
  l.weight_taps.assign(static_cast<size_t>(taps * c4 * n * 4), 0);
  if (depthwise(l)) {  // [taps][n]
    l.weight_taps.assign(static_cast<size_t>(taps * n), 0);
    for (int64_t f = 0; f < out.c; ++f) {
      for (int64_t t = 0; t < taps; ++t) {
        l.weight_taps[static_cast<size_t>(t * n + f)] = l.weight[static_cast<size_t>(f * taps + t)];
      }
    }
    return;
  }
  if (l.groups > 1) return;  // other grouped layers read l.weight directly
  for (int64_t f = 0; f < out.c; ++f) {
    for (int64_t c = 0; c < in.c; ++c) {
      for (int64_t t = 0; t < taps; ++t) {
        l.weight_taps[static_cast<size_t>(((t * c4 + c / 4) * n + f) * 4 + c % 4)] =
            l.weight[static_cast<size_t>((f * in.c + c) * taps + t)];
      }
    }
  }
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
    const size_t per = l.weight.size() / oc;
    l.weight_sums.assign(oc, 0);
    // offset and multiplier padded with zeros to whole vectors of 16 (the kernels' epilogue)
    l.offset.assign(static_cast<size_t>(round_up(l.out_channels(), 16)), 0);
    l.multiplier.assign(l.offset.size(), 0.0f);
    for (size_t f = 0; f < oc; ++f) {
      for (size_t k = 0; k < per; ++k) l.weight_sums[f] += l.weight[f * per + k];
      l.offset[f] = l.bias[f] - l.in.zero * l.weight_sums[f];
      l.multiplier[f] = l.in.scale * l.weight_scale[f] / l.out.scale;
    }
    pack_taps(l);
  }
}

void set_portable(bool portable) { g_portable.store(portable); }

tensor::Tensor run(const QNet& net, const tensor::Tensor& images, const LayerObserver& observe,
                   const LayerClock& clock) {
  const Shape& s = images.shape();
  TCNN_CHECK(s.rank() == 4 && s[1] == net.input[0] && s[2] == net.input[1] && s[3] == net.input[2],
             "int8: expected images [N, ", net.input[0], ", ", net.input[1], ", ", net.input[2],
             "], got ", s.to_string());
  const Geometry g(net.input);
  Batch x = make_batch(s[0], net.input, net.input_quant);
  const float inv = 1.0f / net.input_quant.scale;
  const int32_t zero = net.input_quant.zero;
  for (int64_t n = 0; n < s[0]; ++n) {
    for (int64_t c = 0; c < g.c; ++c) {
      for (int64_t p = 0; p < g.pixels(); ++p) {
        x.values[static_cast<size_t>(n * g.bytes() + p * g.cp() + c)] =
            to_u8(images[(n * g.c + c) * g.pixels() + p] * inv, zero, 0);
      }
    }
  }
  tensor::Tensor logits;
  run_layers(net.layers, std::move(x), &logits, Watchers{observe, clock});
  TCNN_CHECK(logits.defined(), "int8: the network ends without a float output");
  return logits;
}

}  // namespace tinycnn::quant
