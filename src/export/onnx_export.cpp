// The ONNX exporter; see onnx_export.hpp.
#include "export/onnx_export.hpp"

#include "core/error.hpp"
#include "export/onnx_proto.hpp"
#include "nn/batchnorm.hpp"
#include "nn/conv2d.hpp"
#include "nn/groupnorm.hpp"
#include "nn/linear.hpp"
#include "nn/pooling.hpp"
#include "nn/residual.hpp"
#include "nn/simple_layers.hpp"

namespace tinycnn::exporter {

namespace {
using tensor::Shape;

using proto::ints;
using proto::one_float;
using proto::one_int;

// Builds the graph layer by layer; each layer's output value is named after the layer.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // The layers of `seq` (named "<prefix>.<j>", prefix already qualified) applied to `x`.
  std::string sequence(nn::Sequential& seq, const std::string& qualifier, std::string x,
                       Shape& shape) {
    for (const nn::NamedChild& child : seq.children()) {
      std::string name = qualifier;
      name += child.name;
      x = layer(*child.module, name, x, shape);
    }
    return x;
  }

  int64_t nodes() const { return graph_.node_size(); }

 private:
  onnx::NodeProto& node(const std::string& op, const std::string& name,
                        const std::vector<std::string>& inputs) {
    return proto::node(graph_, op, name, inputs);
  }

  void initializer(const std::string& name, const tensor::Tensor& t) {
    proto::raw_initializer(graph_, name, onnx::TensorProto::FLOAT, t.shape().dims(), t.data(),
                           static_cast<size_t>(t.numel()) * sizeof(float));
  }

  void initializer(const std::string& name, const std::vector<int64_t>& values) {
    proto::int64_initializer(graph_, name, values);
  }

  const tensor::Tensor& parameter(nn::Module& m, const std::string& name) {
    for (auto& p : m.parameters()) {
      if (p.name == name) return p.var.data();
    }
    throw core::Error(core::ErrorKind::Invalid, "export: " + m.type() + " has no " + name);
  }

  // One node (or a few) per layer; the layer's output value is returned.
  std::string layer(nn::Module& m, const std::string& name, const std::string& x, Shape& shape) {
    const Shape in = shape;
    shape = m.output_shape(in);
    switch (m.kind()) {
      case nn::LayerKind::Residual:
        return residual(nn::as<nn::Residual>(m), name, x, in);
      case nn::LayerKind::Sequential: {
        Shape inner = in;
        return sequence(nn::as<nn::Sequential>(m), name + ".", x, inner);
      }
      case nn::LayerKind::Conv2d:
        return conv(nn::as<nn::Conv2d>(m), name, x);
      case nn::LayerKind::Linear:
        return linear(nn::as<nn::Linear>(m), name, x);
      case nn::LayerKind::BatchNorm2d:
      case nn::LayerKind::BatchNorm1d:
        return batch_norm(nn::as<nn::BatchNorm>(m), name, x);
      case nn::LayerKind::LayerNorm:
      case nn::LayerKind::GroupNorm:
        return group_norm(nn::as<nn::GroupNorm>(m), name, x, in);
      case nn::LayerKind::MaxPool2d:
      case nn::LayerKind::AvgPool2d:
        return pool(nn::as<nn::Pool2d>(m), name, x);
      case nn::LayerKind::GlobalAvgPool2d:
        node("GlobalAveragePool", name, {x});
        return name;
      case nn::LayerKind::Flatten:
        one_int(node("Flatten", name, {x}), "axis", 1);
        return name;
      case nn::LayerKind::Relu:
        node("Relu", name, {x});
        return name;
      case nn::LayerKind::Tanh:
        node("Tanh", name, {x});
        return name;
      case nn::LayerKind::Sigmoid:
        node("Sigmoid", name, {x});
        return name;
      case nn::LayerKind::Dropout:
        return x;  // the identity at inference
      case nn::LayerKind::Custom:
        break;
    }
    throw core::Error(core::ErrorKind::Invalid,
                      "export: layer " + name + " (" + m.type() + ") has no ONNX form");
  }

  std::string residual(nn::Residual& block, const std::string& name, const std::string& x,
                       const Shape& in) {
    Shape main_shape = in, shortcut_shape = in;
    const std::string main = sequence(block.main(), name + ".", x, main_shape);
    const std::string shortcut = sequence(block.shortcut(), name + ".", x, shortcut_shape);
    node("Add", name, {main, shortcut});
    return name;
  }

  std::string conv(nn::Conv2d& conv, const std::string& name, const std::string& x) {
    const nn::Conv2dOptions& o = conv.options();
    initializer(name + ".weight", conv.weight().data());
    std::vector<std::string> inputs{x, name + ".weight"};
    if (o.bias) {
      initializer(name + ".bias", conv.bias().data());
      inputs.push_back(name + ".bias");
    }
    onnx::NodeProto& n = node("Conv", name, inputs);
    ints(n, "kernel_shape", {o.kernel_size[0], o.kernel_size[1]});
    ints(n, "strides", {o.stride[0], o.stride[1]});
    ints(n, "pads", {o.padding[0], o.padding[1], o.padding[0], o.padding[1]});
    ints(n, "dilations", {1, 1});
    one_int(n, "group", o.groups);
    return name;
  }

  std::string linear(nn::Linear& fc, const std::string& name, const std::string& x) {
    initializer(name + ".weight", fc.weight().data());
    std::vector<std::string> inputs{x, name + ".weight"};
    if (fc.options().bias) {
      initializer(name + ".bias", fc.bias().data());
      inputs.push_back(name + ".bias");
    }
    one_int(node("Gemm", name, inputs), "transB", 1);
    return name;
  }

  std::string batch_norm(nn::BatchNorm& bn, const std::string& name, const std::string& x) {
    const nn::BatchNormOptions& o = bn.options();
    std::string scale = name + ".weight", shift = name + ".bias";
    if (o.affine) {
      initializer(scale, parameter(bn, "weight"));
      initializer(shift, parameter(bn, "bias"));
    } else {  // ONNX requires them: the identity affine
      scale = name + ".onnx_scale";
      shift = name + ".onnx_shift";
      initializer(scale, tensor::Tensor::full(Shape{o.features}, 1.0f));
      initializer(shift, tensor::Tensor::zeros(Shape{o.features}));
    }
    for (const auto& b : bn.buffers()) {
      if (b.f32) initializer(name + "." + b.name, *b.f32);  // running_mean, running_var
    }
    onnx::NodeProto& n = node("BatchNormalization", name,
                              {x, scale, shift, name + ".running_mean", name + ".running_var"});
    one_float(n, "epsilon", static_cast<float>(o.eps));
    one_float(n, "momentum", static_cast<float>(1.0 - o.momentum));  // ONNX's is the keep rate
    return name;
  }

  // [N, C, ...] -> [N, G, M, 1] -> InstanceNormalization -> [N, C, ...] -> * weight + bias.
  std::string group_norm(nn::GroupNorm& gn, const std::string& name, const std::string& x,
                         const Shape& in) {
    const nn::GroupNormOptions& o = gn.options();
    initializer(name + ".groups_shape", {0, o.groups, -1, 1});
    std::vector<int64_t> back{0};
    for (const int64_t d : in.dims()) back.push_back(d);
    initializer(name + ".input_shape", back);
    initializer(name + ".onnx_scale", tensor::Tensor::full(Shape{o.groups}, 1.0f));
    initializer(name + ".onnx_shift", tensor::Tensor::zeros(Shape{o.groups}));
    node("Reshape", name + ".groups", {x, name + ".groups_shape"});
    one_float(node("InstanceNormalization", name + ".normalize",
                   {name + ".groups", name + ".onnx_scale", name + ".onnx_shift"}),
              "epsilon", static_cast<float>(o.eps));
    const std::string normalized = o.affine ? name + ".ungroup" : name;
    node("Reshape", normalized, {name + ".normalize", name + ".input_shape"});
    if (!o.affine) return name;
    // [C] broadcasts against [N, C, H, W] from the right only as [C, 1, 1].
    Shape affine = gn.affine_shape();
    if (!o.layer && in.rank() == 3) affine = Shape{in[0], 1, 1};
    initializer(name + ".weight", gn.weight().data().reshape(affine));
    initializer(name + ".bias", gn.bias().data().reshape(affine));
    node("Mul", name + ".scale", {normalized, name + ".weight"});
    node("Add", name, {name + ".scale", name + ".bias"});
    return name;
  }

  std::string pool(nn::Pool2d& pool, const std::string& name, const std::string& x) {
    const auto k = pool.kernel_size(), s = pool.stride(), p = pool.padding();
    const bool max = pool.kind() == nn::LayerKind::MaxPool2d;
    std::string source = x;
    std::vector<int64_t> pads{p[0], p[1], p[0], p[1]};
    if (!max && (p[0] != 0 || p[1] != 0)) {
      // count_include_pad=1 as data: zeros padded in, then an unpadded average.
      initializer(name + ".pads", {0, 0, p[0], p[1], 0, 0, p[0], p[1]});
      node("Pad", name + ".pad", {x, name + ".pads"});
      source = name + ".pad";
      pads = {0, 0, 0, 0};
    }
    onnx::NodeProto& n = node(max ? "MaxPool" : "AveragePool", name, {source});
    ints(n, "kernel_shape", {k[0], k[1]});
    ints(n, "strides", {s[0], s[1]});
    ints(n, "pads", pads);
    return name;
  }

  onnx::GraphProto& graph_;
};

}  // namespace

void check_exportable_size(const nn::Sequential& net) {
  const int64_t weight_bytes = 4 * net.parameter_count();
  TCNN_CHECK(weight_bytes < kMaxOnnxBytes, "export: the model's weights take ", weight_bytes,
             " bytes; one ONNX file holds less than ", kMaxOnnxBytes,
             " (protobuf's 2 GiB limit; ONNX's external data files are not written)");
}

OnnxModel export_onnx(nn::Sequential& net, const tensor::Shape& input, const OnnxMetadata& meta) {
  TCNN_CHECK(input.rank() == 3, "export: expected an input [C, H, W], got ", input.to_string());
  check_exportable_size(net);
  onnx::ModelProto model = proto::begin_model(meta);
  onnx::GraphProto& graph = *model.mutable_graph();
  proto::tensor_value(*graph.add_input(), "input", input.dims());
  GraphBuilder builder(graph);
  Shape shape = input;
  const std::string last = builder.sequence(net, "", "input", shape);
  TCNN_CHECK(shape.rank() == 1, "export: expected the model to end in [K] logits, got ",
             shape.to_string());
  // The last node's output becomes "logits" (an Identity when no node produced it).
  if (last == "input") {
    onnx::NodeProto* n = graph.add_node();
    n->set_op_type("Identity");
    n->set_name("logits");
    n->add_input(last);
    n->add_output("logits");
  } else {
    for (onnx::NodeProto& n : *graph.mutable_node()) {
      for (std::string& in : *n.mutable_input()) {
        if (in == last) in = "logits";
      }
      for (std::string& out : *n.mutable_output()) {
        if (out == last) out = "logits";
      }
    }
  }
  proto::tensor_value(*graph.add_output(), "logits", {shape[0]});

  return proto::finish(model);
}

}  // namespace tinycnn::exporter
