// ONNX model pieces; see onnx_proto.hpp.
#include "export/onnx_proto.hpp"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace tinycnn::exporter::proto {

namespace {
onnx::AttributeProto* attribute(onnx::NodeProto& node, const std::string& name,
                                onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

void metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* e = model.add_metadata_props();
  e->set_key(key);
  e->set_value(value);
}
}  // namespace

void ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = attribute(node, name, onnx::AttributeProto::INTS);
  for (const int64_t v : values) a->add_ints(v);
}

void one_int(onnx::NodeProto& node, const std::string& name, int64_t value) {
  attribute(node, name, onnx::AttributeProto::INT)->set_i(value);
}

void one_float(onnx::NodeProto& node, const std::string& name, float value) {
  attribute(node, name, onnx::AttributeProto::FLOAT)->set_f(value);
}

onnx::NodeProto& node(onnx::GraphProto& graph, const std::string& op, const std::string& output,
                      const std::vector<std::string>& inputs, const std::string& domain) {
  onnx::NodeProto* n = graph.add_node();
  n->set_op_type(op);
  n->set_name(output);
  if (!domain.empty()) n->set_domain(domain);
  for (const auto& in : inputs) n->add_input(in);
  n->add_output(output);
  return *n;
}

void raw_initializer(onnx::GraphProto& graph, const std::string& name,
                     onnx::TensorProto::DataType type, const std::vector<int64_t>& dims,
                     const void* data, size_t bytes) {
  onnx::TensorProto* p = graph.add_initializer();
  p->set_name(name);
  p->set_data_type(type);
  for (const int64_t d : dims) p->add_dims(d);
  // little-endian, as ONNX's raw_data is
  p->set_raw_data(std::string(static_cast<const char*>(data), bytes));
}

void int64_initializer(onnx::GraphProto& graph, const std::string& name,
                       const std::vector<int64_t>& values) {
  onnx::TensorProto* p = graph.add_initializer();
  p->set_name(name);
  p->set_data_type(onnx::TensorProto::INT64);
  p->add_dims(static_cast<int64_t>(values.size()));
  for (const int64_t v : values) p->add_int64_data(v);
}

void tensor_value(onnx::ValueInfoProto& v, const std::string& name,
                  const std::vector<int64_t>& dims, onnx::TensorProto::DataType type) {
  v.set_name(name);
  onnx::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  t->mutable_shape()->add_dim()->set_dim_param("N");  // any batch size
  for (const int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::ModelProto begin_model(const OnnxMetadata& meta,
                             const std::vector<std::string>& extra_domains) {
  onnx::ModelProto model;
  model.set_ir_version(7);  // the first with opset 13
  model.set_producer_name("tinycnn");
  model.set_producer_version(TINYCNN_VERSION);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  for (const std::string& domain : extra_domains) {
    onnx::OperatorSetIdProto* extra = model.add_opset_import();
    extra->set_domain(domain);
    extra->set_version(1);
  }
  metadata(model, "name", meta.model_name);
  metadata(model, "classes", nlohmann::json(meta.classes).dump());
  metadata(model, "normalize_mean", nlohmann::json(meta.mean).dump());
  metadata(model, "normalize_std", nlohmann::json(meta.std).dump());
  metadata(model, "tinycnn_version", TINYCNN_VERSION);
  model.mutable_graph()->set_name(meta.model_name.empty() ? "tinycnn" : meta.model_name);
  return model;
}

OnnxModel finish(onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    TCNN_CHECK_RUNTIME(false, "export: ONNX rejects the model: ", e.what());
  }
  OnnxModel out;
  out.nodes = model.graph().node_size();
  out.initializers = model.graph().initializer_size();
  TCNN_CHECK_RUNTIME(model.SerializeToString(&out.bytes), "export: could not serialise the model");
  return out;
}

}  // namespace tinycnn::exporter::proto
