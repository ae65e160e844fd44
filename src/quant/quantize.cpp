// Post-training quantization; see quantize.hpp.
#include "quant/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "nn/batchnorm.hpp"
#include "nn/conv2d.hpp"
#include "nn/linear.hpp"
#include "nn/observe.hpp"
#include "nn/pooling.hpp"
#include "nn/residual.hpp"
#include "quant/calibration.hpp"

namespace tinycnn::quant {

namespace {
using tensor::Shape;

bool is_kind(const nn::Sequential& seq, size_t i, nn::LayerKind kind) {
  return i < seq.size() && seq.layer(i).kind() == kind;
}

// A conv's or pool's op and window.
void set_window(QLayer& l, nn::Module& m) {
  if (m.kind() == nn::LayerKind::Conv2d) {
    const nn::Conv2dOptions& o = nn::as<nn::Conv2d>(m).options();
    l.op = QLayer::Op::Conv;
    l.kh = o.kernel_size[0], l.kw = o.kernel_size[1], l.sh = o.stride[0], l.sw = o.stride[1];
    l.ph = o.padding[0], l.pw = o.padding[1], l.groups = o.groups;
    return;
  }
  const auto& p = nn::as<nn::Pool2d>(m);
  l.op = m.kind() == nn::LayerKind::MaxPool2d ? QLayer::Op::MaxPool : QLayer::Op::AvgPool;
  l.kh = p.kernel_size()[0], l.kw = p.kernel_size()[1], l.sh = p.stride()[0];
  l.sw = p.stride()[1], l.ph = p.padding()[0], l.pw = p.padding()[1];
}

[[noreturn]] void refuse(const std::string& name, const nn::Module& m) {
  throw core::Error(core::ErrorKind::Invalid,
                    "quantize: layer " + name + " (" + m.type() +
                        ") has no int8 form; int8 runs conv2d and linear (each with a batch norm "
                        "and a relu after it), relu, max / average / global average pooling, "
                        "flatten, dropout and residual blocks");
}

std::vector<QLayer> plan_list(nn::Sequential& seq, const std::string& qualifier, Shape& shape);

// Layer `m`'s int8 form in `l` (false: none, the identity); `absorb(kind)` takes the next layer
// into it when it is of that kind.
bool plan_layer(QLayer& l, nn::Module& m, const Shape& shape,
                const std::function<bool(nn::LayerKind)>& absorb) {
  using K = nn::LayerKind;
  switch (m.kind()) {
    case K::Conv2d:
      set_window(l, m);
      absorb(K::BatchNorm2d);
      l.relu = absorb(K::Relu);
      return true;
    case K::Linear:
      l.op = QLayer::Op::Linear;
      absorb(K::BatchNorm1d);
      l.relu = absorb(K::Relu);
      return true;
    case K::MaxPool2d:
    case K::AvgPool2d:
      set_window(l, m);
      return true;
    case K::GlobalAvgPool2d:
      l.op = QLayer::Op::GlobalAvgPool;
      return true;
    case K::Flatten:
      l.op = QLayer::Op::Flatten;
      return true;
    case K::Relu:
      l.op = QLayer::Op::Relu;
      return true;
    case K::Dropout:  // the identity at inference
      return false;
    case K::Residual: {
      auto& block = nn::as<nn::Residual>(m);
      l.op = QLayer::Op::Residual;
      Shape main = shape, shortcut = shape;
      l.main = plan_list(block.main(), l.name + ".", main);
      l.shortcut = plan_list(block.shortcut(), l.name + ".", shortcut);
      l.relu = absorb(K::Relu);
      return true;
    }
    case K::BatchNorm2d:
    case K::BatchNorm1d:
    case K::LayerNorm:
    case K::GroupNorm:
    case K::Tanh:
    case K::Sigmoid:
    case K::Sequential:
    case K::Custom:
      refuse(l.name, m);
  }
  return false;
}

// The layers of `seq` (named qualifier + prefix + "." + index) as int8 layers; `shape` is the
// input's and becomes the output's.
std::vector<QLayer> plan_list(nn::Sequential& seq, const std::string& qualifier, Shape& shape) {
  std::vector<QLayer> out;
  const auto name_of = [&](size_t i) { return qualifier + seq.prefix() + "." + std::to_string(i); };
  for (size_t i = 0; i < seq.size(); ++i) {
    nn::Module& m = seq.layer(i);
    const size_t first = i;
    QLayer l;
    l.name = name_of(i);
    l.fused = {l.name};
    l.input = shape;
    const auto absorb = [&](nn::LayerKind kind) {
      if (!is_kind(seq, i + 1, kind)) return false;
      ++i;
      l.fused.push_back(name_of(i));
      return true;
    };
    if (!plan_layer(l, m, shape, absorb)) continue;
    for (size_t j = first; j <= i; ++j) shape = seq.layer(j).output_shape(shape);
    l.output = shape;
    out.push_back(std::move(l));
  }
  return out;
}

// The float weights of a weighted layer with the batch norm after it folded in:
// w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta.
struct Folded {
  std::vector<float> weight, bias;
};

Folded fold(nn::Module& layer, nn::Module* bn) {
  Folded f;
  tensor::Tensor w, b;
  if (layer.kind() == nn::LayerKind::Conv2d) {
    auto& conv = nn::as<nn::Conv2d>(layer);
    w = conv.weight().data();
    if (conv.options().bias) b = conv.bias().data();
  } else {
    auto& fc = nn::as<nn::Linear>(layer);
    w = fc.weight().data();
    if (fc.options().bias) b = fc.bias().data();
  }
  const int64_t oc = w.dim(0), per = w.numel() / oc;
  f.weight = w.to_vector();
  f.bias.assign(static_cast<size_t>(oc), 0.0f);
  if (b.defined()) f.bias = b.to_vector();
  if (!bn) return f;
  auto& norm = nn::as<nn::BatchNorm>(*bn);
  std::map<std::string, const tensor::Tensor*> t;
  for (auto& p : norm.parameters()) t[p.name] = &p.var.data();
  for (auto& buf : norm.buffers()) {
    if (buf.f32) t[buf.name] = buf.f32;
  }
  for (int64_t c = 0; c < oc; ++c) {
    const double gamma = t.count("weight") ? (*t["weight"])[c] : 1.0;
    const double beta = t.count("bias") ? (*t["bias"])[c] : 0.0;
    const double k = gamma / std::sqrt((*t["running_var"])[c] + norm.options().eps);
    for (int64_t j = 0; j < per; ++j) {
      float& v = f.weight[static_cast<size_t>(c * per + j)];
      v = static_cast<float>(v * k);
    }
    float& bc = f.bias[static_cast<size_t>(c)];
    bc = static_cast<float>((bc - (*t["running_mean"])[c]) * k + beta);
  }
  return f;
}

// The float model's layer by its full name.
nn::Module& find_layer(nn::Sequential& model, const std::string& name) {
  nn::Module* found = nullptr;
  nn::walk(model, [&](const std::string& n, nn::Module& layer, int) {
    if (n == name) found = &layer;
  });
  TCNN_CHECK(found != nullptr, "quantize: no layer ", name);
  return *found;
}

// Quantizations from the ranges, weights from the float model, along the network.
void fill(std::vector<QLayer>& layers, Quant in, nn::Sequential& model,
          const std::map<std::string, std::pair<double, double>>& ranges, Quant& out) {
  for (QLayer& l : layers) {
    l.in = in;
    const auto range = ranges.find(l.fused.back());
    TCNN_CHECK(range != ranges.end(), "quantize: no range for ", l.fused.back());
    switch (l.op) {
      case QLayer::Op::Conv:
      case QLayer::Op::Linear: {
        nn::Module& layer = find_layer(model, l.name);
        nn::Module* bn =
            l.fused.size() > 1 && nn::BatchNorm::holds(find_layer(model, l.fused[1]).kind())
                ? &find_layer(model, l.fused[1])
                : nullptr;
        const Folded f = fold(layer, bn);
        const auto oc = static_cast<size_t>(l.out_channels());
        const size_t per = f.weight.size() / oc;
        l.weight.resize(f.weight.size());
        l.weight_scale.resize(oc);
        l.bias.resize(oc);
        for (size_t c = 0; c < oc; ++c) {
          float largest = 0;
          for (size_t j = 0; j < per; ++j)
            largest = std::max(largest, std::abs(f.weight[c * per + j]));
          const float s = largest > 0 ? largest / 127.0f : 1.0f;
          l.weight_scale[c] = s;
          for (size_t j = 0; j < per; ++j) {
            l.weight[c * per + j] = static_cast<int8_t>(
                std::clamp(std::nearbyint(f.weight[c * per + j] / s), -127.0f, 127.0f));
          }
          const double b = std::nearbyint(f.bias[c] / (static_cast<double>(in.scale) * s));
          l.bias[c] = static_cast<int32_t>(std::clamp(b, -2147483647.0, 2147483647.0));
        }
        l.out = quant_of_range(range->second.first, range->second.second);
        break;
      }
      case QLayer::Op::Residual: {
        Quant main_out = in, shortcut_out = in;
        fill(l.main, in, model, ranges, main_out);
        fill(l.shortcut, in, model, ranges, shortcut_out);
        l.out = quant_of_range(range->second.first, range->second.second);
        break;
      }
      case QLayer::Op::MaxPool:
      case QLayer::Op::AvgPool:
      case QLayer::Op::GlobalAvgPool:
      case QLayer::Op::Flatten:
      case QLayer::Op::Relu:
        l.out = in;
        break;
    }
    in = l.out;
  }
  out = in;
}

std::string covers(nn::Sequential& model, const QLayer& l) {
  std::string s;
  for (const std::string& name : l.fused) {
    if (!s.empty()) s += " + ";
    s += find_layer(model, name).type();
  }
  return s;
}

// The first n examples of a data set in batches of 100, normalised.
struct Batches {
  const data::Dataset& data;
  const data::Normalization& norm;
  int64_t n;
  template <typename F>
  void each(F f) const {
    constexpr int64_t kBatch = 100;
    for (int64_t begin = 0; begin < n; begin += kBatch) {
      std::vector<int64_t> idx(static_cast<size_t>(std::min(kBatch, n - begin)));
      std::iota(idx.begin(), idx.end(), begin);
      tensor::Tensor x;
      std::vector<int32_t> labels;
      data.gather(idx, norm, x, labels);
      f(x);
    }
  }
};

// The float model's forward on x, each layer's output handed to `seen` by name.
template <typename F>
void observe_float(nn::Sequential& model, const tensor::Tensor& x, F seen) {
  nn::forward_observed(
      model, autograd::Variable(x),
      {.before = {},
       .after = [&](const std::string& name, nn::Module&, const autograd::Variable&,
                    const autograd::Variable& y) { seen(name, y.data()); }});
}

void list_layers(const std::vector<QLayer>& layers, std::vector<const QLayer*>& out);

// Each int8 layer's output against the float model's at the same point, over the batches.
std::vector<LayerError> layer_errors(nn::Sequential& model, const QNet& net,
                                     const Batches& batches) {
  std::map<std::string, std::pair<double, double>> energy;  // signal, noise
  batches.each([&](const tensor::Tensor& x) {
    std::map<std::string, tensor::Tensor> reference;
    observe_float(model, x,
                  [&](const std::string& name, const tensor::Tensor& y) { reference[name] = y; });
    run(net, x, [&](const QLayer& l, const tensor::Tensor& y) {
      const tensor::Tensor& f = reference.at(l.fused.back());
      auto& [signal, noise] = energy[l.name];
      for (int64_t i = 0; i < y.numel(); ++i) {
        const double d = static_cast<double>(f[i]) - y[i];
        signal += static_cast<double>(f[i]) * f[i];
        noise += d * d;
      }
    });
  });
  std::vector<const QLayer*> order;
  list_layers(net.layers, order);
  std::vector<LayerError> errors;
  for (const QLayer* l : order) {
    if (l->op == QLayer::Op::Flatten) continue;
    const auto [signal, noise] = energy[l->name];
    errors.push_back(
        {l->name, covers(model, *l),
         noise > 0 ? 10 * std::log10(signal / noise) : std::numeric_limits<double>::infinity()});
  }
  return errors;
}

void list_layers(const std::vector<QLayer>& layers, std::vector<const QLayer*>& out) {
  for (const QLayer& l : layers) {
    list_layers(l.main, out);
    list_layers(l.shortcut, out);
    out.push_back(&l);
  }
}
}  // namespace

QNet plan(nn::Sequential& model, const tensor::Shape& input) {
  QNet net;
  net.input = input;
  Shape shape = input;
  net.layers = plan_list(model, "", shape);
  TCNN_CHECK(
      !net.layers.empty() && net.layers.back().op == QLayer::Op::Linear && !net.layers.back().relu,
      "quantize: the model must end in a linear layer (its accumulators become the float "
      "logits), got ",
      net.layers.empty() ? std::string("no layer") : net.layers.back().name);
  net.layers.back().float_output = true;
  return net;
}

QuantizeResult quantize(nn::Sequential& model, const tensor::Shape& input,
                        const data::Dataset& calibration, const data::Normalization& norm,
                        int64_t images, Method method) {
  TCNN_CHECK(images >= 1, "quantize: expected at least 1 calibration image, got ", images);
  QuantizeResult result;
  result.net = plan(model, input);
  result.method = method;
  const int64_t n = std::min(images, calibration.size());
  result.calibration_images = n;
  model.set_training(false);
  autograd::NoGradGuard no_grad;
  const Batches batches{calibration, norm, n};
  // Every layer's output as observed, and the input's (whose range is always its min / max).
  std::map<std::string, Observed> observed;
  Observed input_values;
  batches.each([&](const tensor::Tensor& x) {
    input_values.add_range(x);
    observe_float(model, x, [&](const std::string& name, const tensor::Tensor& y) {
      observed[name].add_range(y);
    });
  });
  if (method != Method::MinMax) {
    batches.each([&](const tensor::Tensor& x) {
      observe_float(model, x, [&](const std::string& name, const tensor::Tensor& y) {
        observed[name].add_histogram(y);
      });
    });
  }
  std::map<std::string, std::pair<double, double>> ranges;
  for (const auto& [name, values] : observed) ranges[name] = values.range(method);
  result.net.input_quant = quant_of_range(input_values.lo(), input_values.hi());
  Quant last;
  fill(result.net.layers, result.net.input_quant, model, ranges, last);
  compute_weight_sums(result.net.layers);
  result.errors = layer_errors(model, result.net, batches);
  return result;
}

}  // namespace tinycnn::quant
