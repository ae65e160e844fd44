// The int8 ONNX exporter; see onnx_int8_export.hpp.
#include "export/onnx_int8_export.hpp"

#include <set>

#include "core/error.hpp"
#include "export/onnx_proto.hpp"

namespace tinycnn::exporter {

namespace {
using quant::QLayer;
using quant::Quant;

constexpr const char* kMicrosoft = "com.microsoft";

// A u8 tensor of the graph: "<base>_quantized" with "<base>_scale" and "<base>_zero_point".
struct Value {
  std::string base;
  Quant q;
  std::string name() const { return base + "_quantized"; }
  std::string scale() const { return base + "_scale"; }
  std::string zero() const { return base + "_zero_point"; }
};

class Int8GraphBuilder {
 public:
  explicit Int8GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  Value input(const Quant& q) {
    Value v = value("input", q);
    proto::node(graph_, "QuantizeLinear", v.name(), {"input", v.scale(), v.zero()});
    return v;
  }

  Value layers(const std::vector<QLayer>& layers, Value x) {
    for (const QLayer& l : layers) x = layer(l, x);
    return x;
  }

  // The network's last layer: float logits.
  void logits(const QLayer& l, const Value& x) {
    TCNN_CHECK(l.op == QLayer::Op::Linear, "export: int8 layer ", l.name,
               " ends the network but is not linear");
    // (a name ending in "quantized" would be an int8 tensor to OpenCV)
    const std::string real = unique(l.name + ".real");
    proto::node(graph_, "DequantizeLinear", real, {x.name(), x.scale(), x.zero()});
    const auto k = static_cast<size_t>(l.out_channels());
    const size_t per = l.weight.size() / k;
    std::vector<float> w(l.weight.size()), b(k);
    for (size_t f = 0; f < k; ++f) {
      for (size_t j = 0; j < per; ++j) {
        w[f * per + j] = static_cast<float>(l.weight[f * per + j]) * l.weight_scale[f];
      }
      b[f] = static_cast<float>(l.bias[f]) * l.in.scale * l.weight_scale[f];
    }
    floats(l.name + ".weight", {static_cast<int64_t>(k), static_cast<int64_t>(per)}, w);
    floats(l.name + ".bias", {static_cast<int64_t>(k)}, b);
    const std::string flat = unique(l.name + ".flat");
    proto::one_int(proto::node(graph_, "Flatten", flat, {real}), "axis", 1);
    proto::one_int(
        proto::node(graph_, "Gemm", "logits", {flat, l.name + ".weight", l.name + ".bias"}),
        "transB", 1);
  }

  int64_t nodes() const { return graph_.node_size(); }

 private:
  // A name no value of the graph has yet.
  std::string unique(const std::string& wanted) {
    std::string name = wanted;
    for (int i = 2; used_.count(name) > 0; ++i) name = wanted + "." + std::to_string(i);
    used_.insert(name);
    return name;
  }

  // A new u8 value with its scale and zero point as initializers.
  Value value(const std::string& base, const Quant& q) {
    Value v{unique(base), q};
    proto::raw_initializer(graph_, v.scale(), onnx::TensorProto::FLOAT, {}, &v.q.scale,
                           sizeof(float));
    const auto zero = static_cast<uint8_t>(q.zero);
    proto::raw_initializer(graph_, v.zero(), onnx::TensorProto::UINT8, {}, &zero, 1);
    return v;
  }

  void floats(const std::string& name, const std::vector<int64_t>& dims,
              const std::vector<float>& values) {
    proto::raw_initializer(graph_, name, onnx::TensorProto::FLOAT, dims, values.data(),
                           values.size() * sizeof(float));
  }

  Value layer(const QLayer& l, const Value& x) {
    switch (l.op) {
      case QLayer::Op::Conv:
      case QLayer::Op::Linear:
        return conv(l, x);
      case QLayer::Op::MaxPool: {
        Value y = value(l.name, x.q);
        window(proto::node(graph_, "MaxPool", y.name(), {x.name()}), l);
        return y;
      }
      case QLayer::Op::AvgPool: {
        Value y = value(l.name, x.q);
        onnx::NodeProto& n =
            proto::node(graph_, "QLinearAveragePool", y.name(),
                        {x.name(), x.scale(), x.zero(), y.scale(), y.zero()}, kMicrosoft);
        window(n, l);
        proto::one_int(n, "count_include_pad", 1);
        return y;
      }
      case QLayer::Op::GlobalAvgPool: {
        Value y = value(l.name, x.q);
        proto::one_int(
            proto::node(graph_, "QLinearGlobalAveragePool", y.name(),
                        {x.name(), x.scale(), x.zero(), y.scale(), y.zero()}, kMicrosoft),
            "channels_last", 0);
        return y;
      }
      case QLayer::Op::Flatten: {  // [N, C, H, W] -> [N, C*H*W, 1, 1], the (c, h, w) order
        Value y = value(l.name, x.q);
        proto::int64_initializer(graph_, y.base + ".shape", {0, -1, 1, 1});
        proto::node(graph_, "Reshape", y.name(), {x.name(), y.base + ".shape"});
        return y;
      }
      case QLayer::Op::Relu:
        return relu(l.name, x);
      case QLayer::Op::Residual: {
        const Value a = layers(l.main, x);
        const Value b = layers(l.shortcut, x);
        Value y = value(l.name + ".sum", l.out);
        proto::node(
            graph_, "QLinearAdd", y.name(),
            {a.name(), a.scale(), a.zero(), b.name(), b.scale(), b.zero(), y.scale(), y.zero()},
            kMicrosoft);
        return l.relu ? relu(l.name + ".relu", y) : y;
      }
    }
    return x;
  }

  // max(x, zero point): nothing when the zero point is 0 (u8 cannot go below); else through
  // float, where OpenCV and ONNX have a Relu.
  Value relu(const std::string& name, const Value& x) {
    if (x.q.zero == 0) return x;
    const std::string real = unique(name + ".real"), r = unique(name + ".relu");
    proto::node(graph_, "DequantizeLinear", real, {x.name(), x.scale(), x.zero()});
    proto::node(graph_, "Relu", r, {real});
    Value y = value(name, x.q);
    proto::node(graph_, "QuantizeLinear", y.name(), {r, y.scale(), y.zero()});
    return y;
  }

  static void window(onnx::NodeProto& n, const QLayer& l) {
    proto::ints(n, "kernel_shape", {l.kh, l.kw});
    proto::ints(n, "strides", {l.sh, l.sw});
    proto::ints(n, "pads", {l.ph, l.pw, l.ph, l.pw});
  }

  Value conv(const QLayer& l, const Value& x) {
    const int64_t out = l.out_channels();
    const auto per = static_cast<int64_t>(l.weight.size()) / out;
    const int64_t in_per_group = per / (l.kh * l.kw);
    const std::string w = l.name + ".weight";
    proto::raw_initializer(graph_, w, onnx::TensorProto::INT8, {out, in_per_group, l.kh, l.kw},
                           l.weight.data(), l.weight.size());
    proto::raw_initializer(graph_, w + "_scale", onnx::TensorProto::FLOAT, {out},
                           l.weight_scale.data(), l.weight_scale.size() * sizeof(float));
    const std::vector<int8_t> zeros(static_cast<size_t>(out), 0);
    proto::raw_initializer(graph_, w + "_zero_point", onnx::TensorProto::INT8, {out}, zeros.data(),
                           zeros.size());
    proto::raw_initializer(graph_, l.name + ".bias", onnx::TensorProto::INT32, {out}, l.bias.data(),
                           l.bias.size() * sizeof(int32_t));
    // tinycnn clamps a fused ReLU at the output's zero point, which quantize sets to 0
    TCNN_CHECK(!l.relu || l.out.zero == 0, "export: int8 layer ", l.name,
               " clamps a ReLU at zero point ", l.out.zero, "; expected 0");
    Value y = value(l.name, l.out);
    onnx::NodeProto& n = proto::node(graph_, "QLinearConv", y.name(),
                                     {x.name(), x.scale(), x.zero(), w, w + "_scale",
                                      w + "_zero_point", y.scale(), y.zero(), l.name + ".bias"});
    window(n, l);
    proto::ints(n, "dilations", {1, 1});
    proto::one_int(n, "group", l.groups);
    return y;
  }

  onnx::GraphProto& graph_;
  std::set<std::string> used_{"logits"};
};
}  // namespace

OnnxModel export_int8_onnx(const quant::QNet& net, const OnnxMetadata& meta) {
  TCNN_CHECK(net.input.rank() == 3 && !net.layers.empty(),
             "export: expected an int8 network of an input [C, H, W], got ", net.input.to_string());
  onnx::ModelProto model = proto::begin_model(meta, {kMicrosoft});
  onnx::GraphProto& graph = *model.mutable_graph();
  proto::tensor_value(*graph.add_input(), "input", net.input.dims());
  Int8GraphBuilder builder(graph);
  const std::vector<QLayer> hidden(net.layers.begin(), net.layers.end() - 1);
  const Value x = builder.layers(hidden, builder.input(net.input_quant));
  builder.logits(net.layers.back(), x);
  proto::tensor_value(*graph.add_output(), "logits", {net.layers.back().out_channels()});
  return proto::finish(model);
}

}  // namespace tinycnn::exporter
