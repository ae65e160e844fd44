// `tinycnn export CONFIG --checkpoint FILE --onnx OUT.onnx [--json]`: the trained model as an
// ONNX model (export/onnx_export.hpp), or an int8 file (tinycnn quantize) as ONNX's quantized
// operators (export/onnx_int8_export.hpp); written atomically.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "export/onnx_export.hpp"
#include "export/onnx_int8_export.hpp"
#include "format.hpp"
#include "io/atomic_file.hpp"
#include "json_out.hpp"
#include "loaded_model.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "run/checkpoint.hpp"

namespace tinycnn::cli {

CLI::App* setup_export(CLI::App& app, ExportOptions& o) {
  CLI::App* cmd = app.add_subcommand("export", "Write a trained model as an ONNX model");
  cmd->add_option("config", o.config, "Model config (JSON)")->required();
  cmd->add_option("--checkpoint", o.checkpoint, "Checkpoint (safetensors)")->required();
  cmd->add_option("--onnx", o.onnx, "Output file (.onnx)")->required();
  cmd->add_flag("--json", o.json, "Print one JSON document on stdout");
  return cmd;
}

namespace {
// The float model of `spec` with the checkpoint's weights as ONNX.
exporter::OnnxModel float_onnx(const model::ModelSpec& spec, const std::string& checkpoint,
                               exporter::OnnxMetadata& meta) {
  exporter::check_exportable_size(*model::build_model(spec, {}, model::Weights::None));
  auto net = model::build_model(spec);
  const run::TrainState saved = run::load_checkpoint(checkpoint, *net, nullptr);
  net->set_training(false);
  const tensor::Shape input = model::input_shape(spec);
  if (meta.classes.empty()) meta.classes = saved.classes;
  if (static_cast<int64_t>(meta.classes.size()) != net->output_shape(input)[0]) {
    meta.classes.clear();
  }
  return exporter::export_onnx(*net, input, meta);
}

// The int8 model in `checkpoint` (tinycnn quantize) as ONNX's quantized operators.
exporter::OnnxModel int8_onnx(const model::ModelSpec& spec, const std::string& checkpoint,
                              exporter::OnnxMetadata& meta) {
  const quant::Int8Model q = load_int8_of(spec, checkpoint);
  if (meta.classes.empty()) meta.classes = q.classes;
  if (static_cast<int64_t>(meta.classes.size()) != q.net.layers.back().out_channels()) {
    meta.classes.clear();
  }
  return exporter::export_int8_onnx(q.net, meta);
}
}  // namespace

int run_export(const ExportOptions& o) {
  const model::ModelSpec spec = model::load_config(o.config);
  io::check_writable(o.onnx, {o.config, o.checkpoint});  // before the work: fail fast
  exporter::OnnxMetadata meta{.model_name = spec.name,
                              .classes = spec.training.classes,
                              .mean = spec.training.normalize_mean,
                              .std = spec.training.normalize_std};
  const bool int8 = quant::is_int8_file(o.checkpoint);
  const exporter::OnnxModel model =
      int8 ? int8_onnx(spec, o.checkpoint, meta) : float_onnx(spec, o.checkpoint, meta);
  io::write_file_atomically(o.onnx, model.bytes);
  if (o.json) {
    std::cout << nlohmann::ordered_json{{"onnx", o.onnx},
                                        {"precision", int8 ? "int8" : "float32"},
                                        {"opset", exporter::kOnnxOpset},
                                        {"nodes", model.nodes},
                                        {"initializers", model.initializers},
                                        {"bytes", model.bytes.size()}}
                     .dump(-1, ' ', false, kReplaceInvalidUtf8)
              << "\n";
  } else {
    std::cout << o.onnx << ": ONNX opset " << exporter::kOnnxOpset << (int8 ? ", int8" : "") << ", "
              << model.nodes << " nodes, " << model.initializers << " initializers, "
              << model.bytes.size() << " bytes\n";
  }
  return kExitOk;
}

}  // namespace tinycnn::cli
