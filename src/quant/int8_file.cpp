// The int8 model file; see int8_file.hpp.
#include "quant/int8_file.hpp"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "model/builder.hpp"

namespace tinycnn::quant {

namespace {
using Json = nlohmann::json;

void each_layer(std::vector<QLayer>& layers, const std::function<void(QLayer&)>& visit) {
  for (QLayer& l : layers) {
    each_layer(l.main, visit);
    each_layer(l.shortcut, visit);
    visit(l);
  }
}

// Inputs along the network: each layer's `in` is what comes before it; a layer that keeps its
// input's quantization passes it on.
Quant propagate(std::vector<QLayer>& layers, Quant in) {
  for (QLayer& l : layers) {
    l.in = in;
    if (l.op == QLayer::Op::Residual) {
      propagate(l.main, in);
      propagate(l.shortcut, in);
    } else if (!l.has_weights()) {
      l.out = in;
    }
    in = l.out;
  }
  return in;
}

std::vector<int64_t> weight_dims(const QLayer& l) {
  if (l.op == QLayer::Op::Linear) return {l.output[0], l.input[0]};
  return {l.output[0], l.input[0] / l.groups, l.kh, l.kw};
}

Json quant_json(const Quant& q) { return Json::array({q.scale, q.zero}); }

Quant quant_from(const Json& j, const std::string& where) {
  TCNN_CHECK_RUNTIME(j.is_array() && j.size() == 2 && j[0].is_number() && j[1].is_number_integer(),
                     where, ": expected [scale, zero point], got ", j.dump());
  const auto scale = j[0].get<double>();
  const auto zero = j[1].get<int64_t>();
  TCNN_CHECK_RUNTIME(std::isfinite(scale) && scale > 0 && zero >= 0 && zero <= 255, where,
                     ": expected a scale > 0 and a zero point 0..255, got ", j.dump());
  return {static_cast<float>(scale), static_cast<int32_t>(zero)};
}

const std::string& metadata(const io::SafetensorsFile& f, const std::string& key,
                            const std::string& path) {
  const auto it = f.metadata.find(key);
  TCNN_CHECK_RUNTIME(it != f.metadata.end(), path, ": metadata ", key, " is missing");
  return it->second;
}

Json metadata_json(const io::SafetensorsFile& f, const std::string& key, const std::string& path) {
  try {
    return Json::parse(metadata(f, key, path));
  } catch (const Json::exception&) {
    throw core::Error(core::ErrorKind::Runtime, path + ": metadata " + key + " is not valid JSON");
  }
}

void load_weights(QLayer& l, const io::SafetensorsFile& f, const std::string& path) {
  const std::vector<int64_t> dims = weight_dims(l);
  const io::NamedInts* w = f.find_ints(l.name + ".weight");
  const io::NamedInts* b = f.find_ints(l.name + ".bias");
  const tensor::Tensor* s = f.find(l.name + ".weight_scale");
  TCNN_CHECK_RUNTIME(w && b && s, path, ": ", l.name,
                     ": expected I8 weight, I32 bias and F32 weight_scale tensors");
  const auto shape_text = [](const std::vector<int64_t>& d) {
    return tensor::Shape(d).to_string();
  };
  TCNN_CHECK_RUNTIME(w->type == io::IntType::I8 && w->dims == dims, path, ": ", l.name,
                     ".weight: expected I8 ", shape_text(dims), ", got ", shape_text(w->dims),
                     " (an int8 model of another config?)");
  const int64_t oc = l.output[0];
  TCNN_CHECK_RUNTIME(b->type == io::IntType::I32 && b->dims == std::vector<int64_t>{oc} &&
                         s->shape() == tensor::Shape{oc},
                     path, ": ", l.name, ": expected a bias and a weight_scale of ", oc, " values");
  l.weight.assign(w->values.begin(), w->values.end());
  for (const int64_t v : w->values) {
    TCNN_CHECK_RUNTIME(v >= -127 && v <= 127, path, ": ", l.name, ".weight holds ", v,
                       ", expected -127..127");
  }
  l.bias.assign(b->values.begin(), b->values.end());
  l.weight_scale = s->to_vector();
  for (const float v : l.weight_scale) {
    TCNN_CHECK_RUNTIME(std::isfinite(v) && v > 0, path, ": ", l.name, ".weight_scale holds ", v,
                       ", expected finite values > 0");
  }
}
}  // namespace

bool is_int8_file(const std::string& path) {
  try {
    const io::SafetensorsFile f = io::read_safetensors(path);
    const auto it = f.metadata.find("format");
    return it != f.metadata.end() && it->second == kInt8Format;
  } catch (const core::Error&) {
    return false;
  }
}

void save_int8(const std::string& path, const QuantizeResult& result,
               const std::string& config_json, const std::vector<std::string>& classes) {
  QNet net = result.net;
  std::vector<io::NamedTensor> tensors;
  std::vector<io::NamedInts> ints;
  Json quants = Json::object();
  each_layer(net.layers, [&](QLayer& l) {
    if (l.op == QLayer::Op::Residual || (l.has_weights() && !l.float_output)) {
      quants[l.name] = quant_json(l.out);
    }
    if (!l.has_weights()) return;
    ints.push_back({l.name + ".weight", weight_dims(l),
                    std::vector<int64_t>(l.weight.begin(), l.weight.end()), io::IntType::I8});
    ints.push_back({l.name + ".bias",
                    {l.output[0]},
                    std::vector<int64_t>(l.bias.begin(), l.bias.end()),
                    io::IntType::I32});
    tensors.push_back({l.name + ".weight_scale",
                       tensor::Tensor::from_vector(tensor::Shape{l.output[0]}, l.weight_scale)});
  });
  Json sqnr = Json::object();
  for (const LayerError& e : result.errors) {
    sqnr[e.name] = std::isfinite(e.sqnr_db) ? Json(e.sqnr_db) : Json(nullptr);
  }
  const Json calibration{{"images", result.calibration_images},
                         {"method", method_name(result.method)},
                         {"sqnr_db", sqnr}};
  std::map<std::string, std::string> meta{{"format", kInt8Format},
                                          {"config", config_json},
                                          {"input_quant", quant_json(net.input_quant).dump()},
                                          {"quant", quants.dump()},
                                          {"calibration", calibration.dump()},
                                          {"tinycnn_version", TINYCNN_VERSION}};
  if (!classes.empty()) meta["classes"] = Json(classes).dump();
  io::write_safetensors(path, tensors, meta, ints);
}

Int8Model load_int8(const std::string& path) { return int8_from(io::read_safetensors(path), path); }

Int8Model int8_from(const io::SafetensorsFile& f, const std::string& path) {
  const auto format = f.metadata.find("format");
  TCNN_CHECK_RUNTIME(format != f.metadata.end() && format->second == kInt8Format, path,
                     ": metadata format: expected ", kInt8Format, " (an int8 model), got ",
                     format == f.metadata.end() ? "nothing" : format->second);
  Int8Model m;
  try {
    m.spec = model::parse_config(metadata_json(f, "config", path));
  } catch (const core::Error& e) {
    throw core::Error(core::ErrorKind::Runtime, path + ": metadata config: " + e.what());
  }
  auto shapes = model::build_model(m.spec, {}, model::Weights::None);
  m.net = plan(*shapes, model::input_shape(m.spec));
  m.net.input_quant = quant_from(metadata_json(f, "input_quant", path), path + ": input_quant");
  const Json quants = metadata_json(f, "quant", path);
  TCNN_CHECK_RUNTIME(quants.is_object(), path, ": metadata quant: expected an object");
  size_t expected = 0;
  each_layer(m.net.layers, [&](QLayer& l) {
    if (l.has_weights()) load_weights(l, f, path);
    if (l.op != QLayer::Op::Residual && !(l.has_weights() && !l.float_output)) return;
    ++expected;
    TCNN_CHECK_RUNTIME(quants.contains(l.name), path, ": metadata quant: ", l.name, " is missing");
    l.out = quant_from(quants[l.name], path + ": metadata quant." + l.name);
  });
  TCNN_CHECK_RUNTIME(quants.size() == expected, path, ": metadata quant: ", quants.size(),
                     " entries, the config's int8 network has ", expected);
  propagate(m.net.layers, m.net.input_quant);
  compute_weight_sums(m.net.layers);
  const auto classes = f.metadata.find("classes");
  if (classes != f.metadata.end()) {
    const Json c = metadata_json(f, "classes", path);
    if (c.is_array()) {
      for (const auto& name : c) {
        if (name.is_string()) m.classes.push_back(name.get<std::string>());
      }
    }
  }
  const Json calibration = metadata_json(f, "calibration", path);
  if (calibration.is_object() && calibration.contains("images") &&
      calibration["images"].is_number_integer()) {
    m.calibration_images = calibration["images"].get<int64_t>();
  }
  return m;
}

}  // namespace tinycnn::quant
