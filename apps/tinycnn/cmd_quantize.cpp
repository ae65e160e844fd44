// `tinycnn quantize CONFIG --checkpoint FILE --out FILE [--calibration N] [--method M]`:
// post-training int8 quantization (quant/quantize.hpp) of a trained model, calibrated on the
// first N training images by method M (quant/calibration.hpp), written as one int8 model file
// (quant/int8_file.hpp) with each layer's SQNR.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/error.hpp"
#include "flags.hpp"
#include "format.hpp"
#include "io/atomic_file.hpp"
#include "json_out.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "quant/int8_file.hpp"
#include "run/checkpoint.hpp"
#include "train/dataset.hpp"

namespace tinycnn::cli {

CLI::App* setup_quantize(CLI::App& app, QuantizeOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("quantize", "Quantize a trained model to int8 (post-training)");
  cmd->add_option("config", o.config, "Model config (JSON)")->required();
  cmd->add_option("--checkpoint", o.checkpoint, "Float checkpoint (safetensors)")->required();
  cmd->add_option("--out", o.out, "The int8 model file to write (.safetensors)")->required();
  cmd->add_option("--calibration", o.calibration,
                  "Calibrate on the first N training images (default 1000)")
      ->check(kCount);
  cmd->add_option("--method", o.method,
                  "How a tensor's range is chosen: minmax (default), percentile, entropy")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy"}));
  cmd->add_option("--data", o.data, "Directory with the data set's files (training.data_dir)");
  cmd->add_option("--dataset", o.dataset, "Data set kind (training.dataset)")
      ->check(CLI::IsMember(model::dataset_names()));
  cmd->add_flag("--json", o.json, "Print one JSON document on stdout");
  return cmd;
}

int run_quantize(const QuantizeOptions& o) {
  const model::ModelSpec spec =
      resolve_config(o.config, [&](model::Json& t) { apply_data_flags(t, o.dataset, o.data); });
  TCNN_CHECK(o.calibration >= 1, "--calibration: expected at least 1 image, got ", o.calibration);
  io::check_writable(o.out, {o.config, o.checkpoint});
  TCNN_CHECK_RUNTIME(!quant::is_int8_file(o.checkpoint), o.checkpoint,
                     ": already an int8 model; quantize needs the float checkpoint it came from");
  auto net = model::build_model(spec);
  const tensor::Shape input = model::input_shape(spec);
  quant::plan(*net, input);  // a layer without an int8 form is refused before any work
  const run::TrainState saved = run::load_checkpoint(o.checkpoint, *net, nullptr);
  const int64_t k = net->output_shape(input)[0];
  const data::Dataset calibration =
      train::load_split(spec, spec.training.data_dir, train::Split::Train, k, o.calibration);
  const quant::QuantizeResult r =
      quant::quantize(*net, input, calibration, train::normalization(spec.training), o.calibration,
                      quant::parse_method(o.method).value_or(quant::Method::MinMax));
  const std::vector<std::string>& classes =
      spec.training.classes.empty() ? saved.classes : spec.training.classes;
  quant::save_int8(o.out, r, spec.source ? spec.source->dump() : "{}", classes);
  const auto float_bytes = std::filesystem::file_size(o.checkpoint);
  const auto int8_bytes = std::filesystem::file_size(o.out);
  if (o.json) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const auto& e : r.errors) {
      layers.push_back({{"layer", e.name},
                        {"covers", e.covers},
                        {"sqnr_db", std::isfinite(e.sqnr_db) ? nlohmann::ordered_json(e.sqnr_db)
                                                             : nlohmann::ordered_json()}});
    }
    std::cout << nlohmann::ordered_json{{"model", spec.name},
                                        {"out", o.out},
                                        {"calibration_images", r.calibration_images},
                                        {"method", quant::method_name(r.method)},
                                        {"layers", layers},
                                        {"checkpoint_bytes", float_bytes},
                                        {"int8_bytes", int8_bytes}}
                     .dump(-1, ' ', false, kReplaceInvalidUtf8)
              << "\n";
    return kExitOk;
  }
  std::cout << spec.name << ": int8, calibrated on " << r.calibration_images << " training images ("
            << quant::method_name(r.method) << ")\n\n";
  TextTable table({"layer", "int8 op", "SQNR dB"}, {false, false, true});
  for (const auto& e : r.errors) {
    table.add({e.name, e.covers, std::isfinite(e.sqnr_db) ? fmt("%.1f", e.sqnr_db) : "exact"});
  }
  std::cout << table.render() << "\nwrote " << o.out << " (" << int8_bytes << " bytes; "
            << fmt("%.2f", static_cast<double>(int8_bytes) / static_cast<double>(float_bytes))
            << " of the checkpoint's " << float_bytes << ")\n";
  return kExitOk;
}

}  // namespace tinycnn::cli
