// `tinycnn shapes CONFIG [--batch N] [--json]`: the layer-by-layer dimension and cost trace.
#include <spdlog/spdlog.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "format.hpp"
#include "json_out.hpp"
#include "model/cost_table.hpp"
#include "model/spec.hpp"

namespace tinycnn::cli {

namespace {
using model::CostTable;
using model::LayerCost;

std::string arithmetic_text(const LayerCost& l) {
  if (l.arithmetic.empty()) return "";
  const auto& h = l.arithmetic[0];
  const auto& w = l.arithmetic[1];
  const bool same = h.in == w.in && h.kernel == w.kernel && h.stride == w.stride && h.pad == w.pad;
  std::string text = same ? h.formula() : "H " + h.formula() + "; W " + w.formula();
  if (h.truncates() || w.truncates()) text += " (truncates)";
  return text;
}

// "3", "3.layers.0", "9.shortcut.1": the row's name in the checkpoint, without "layers.".
std::string row_label(const LayerCost& l) { return l.name.substr(l.name.find('.') + 1); }

nlohmann::ordered_json rows_json(const std::vector<LayerCost>& rows) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const auto& l : rows) {
    nlohmann::ordered_json row = {{"index", l.index},
                                  {"name", l.name},
                                  {"type", l.type},
                                  {"input_shape", l.input.dims()},
                                  {"output_shape", l.output.dims()},
                                  {"params", l.params},
                                  {"macs", l.macs},
                                  {"flops", 2 * l.macs},
                                  {"activation_bytes", l.activation_bytes},
                                  {"workspace_bytes", l.workspace_bytes},
                                  {"receptive_field", l.receptive_field},
                                  {"jump", l.jump}};
    if (l.plan) {
      row["algorithm"] = {{"algo", kernels::to_string(l.plan->algo)},
                          {"forward", l.plan->forward_kernel()},
                          {"dinput", l.plan->dinput_kernel()},
                          {"dweight", l.plan->dweight_kernel()}};
    }
    if (l.kind == nn::LayerKind::Residual) {
      row["layers"] = rows_json(l.layers);
      row["shortcut"] = rows_json(l.shortcut);
    }
    layers.push_back(std::move(row));
  }
  return layers;
}

nlohmann::ordered_json to_json(const CostTable& t) {
  const nlohmann::ordered_json layers = rows_json(t.layers);
  nlohmann::ordered_json doc = {{"model", t.name},
                                {"batch", t.batch},
                                {"input_shape", t.input.dims()},
                                {"layers", layers},
                                {"total",
                                 {{"params", t.total_params()},
                                  {"macs", t.total_macs()},
                                  {"flops", 2 * t.total_macs()},
                                  {"param_bytes", 4 * t.total_params()},
                                  {"activation_bytes", t.total_activation_bytes()}}}};
  if (!t.error.empty()) doc["error"] = t.error;
  return doc;
}

void print_table(const CostTable& t) {
  std::cout << "model " << t.name << ": input " << t.input.to_string() << ", batch " << t.batch
            << " (MACs, FLOPs and bytes are for the whole batch; FLOPs = 2 x MACs)\n\n";
  TextTable table(
      {"#", "layer", "input", "output", "output size (H - K + 2P)/S + 1", "params", "MACs", "FLOPs",
       "act bytes", "im2col bytes", "RF", "jump", "algorithm (fwd / dinput / dweight)"},
      {true, false, false, false, false, true, true, true, true, true, true, true, false});
  for (const LayerCost* row : model::flatten_rows(t.layers)) {
    const LayerCost& l = *row;
    table.add({row_label(l), std::string(static_cast<size_t>(2 * l.depth), ' ') + l.description,
               l.input.to_string(), l.output.to_string(), arithmetic_text(l), with_commas(l.params),
               with_commas(l.macs), with_commas(2 * l.macs), with_commas(l.activation_bytes),
               l.kind == nn::LayerKind::Conv2d ? with_commas(l.workspace_bytes) : "",
               std::to_string(l.receptive_field), std::to_string(l.jump),
               l.plan ? l.plan->summary() : ""});
  }
  std::cout << table.render();
  if (!t.error.empty()) return;
  std::cout << "\ntotal: " << with_commas(t.total_params()) << " params ("
            << human_bytes(4 * t.total_params()) << "), " << with_commas(t.total_macs())
            << " MACs, " << with_commas(2 * t.total_macs()) << " FLOPs, "
            << with_commas(t.total_activation_bytes()) << " activation bytes ("
            << human_bytes(t.total_activation_bytes()) << ")\n";

  bool header = false;
  for (const LayerCost* row : model::flatten_rows(t.layers)) {
    const LayerCost& l = *row;
    if (l.kind != nn::LayerKind::Conv2d) continue;
    if (!header) {
      std::cout << "\nparameter sharing (conv vs a dense layer with the same input and output), "
                   "and a depthwise-separable replacement (depthwise KxK + pointwise 1x1):\n";
      header = true;
    }
    std::cout << "  layer " << row_label(l) << ": " << with_commas(l.params) << " params vs "
              << with_commas(l.dense_params) << " dense ("
              << with_commas(l.params ? l.dense_params / l.params : 0) << "x)";
    if (l.separable_params > 0) {
      std::cout << "; separable: " << with_commas(l.separable_params) << " params, "
                << with_commas(l.separable_macs) << " MACs (vs " << with_commas(l.macs) << ")";
    }
    std::cout << "\n";
  }
}
}  // namespace

CLI::App* setup_shapes(CLI::App& app, ShapesOptions& options) {
  CLI::App* cmd =
      app.add_subcommand("shapes", "Trace a model's dimensions and costs layer by layer");
  cmd->add_option("config", options.config, "Model config (JSON)")->required();
  cmd->add_option("--batch", options.batch, "Batch size N for costs (default 1)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_flag("--json", options.json, "Print one JSON document on stdout");
  return cmd;
}

int run_shapes(const ShapesOptions& options) {
  const model::ModelSpec spec = model::load_config(options.config);
  const CostTable trace = model::cost_table(spec, options.batch);
  if (options.json) {
    std::cout << to_json(trace).dump(2, ' ', false, kReplaceInvalidUtf8) << "\n";
  } else {
    print_table(trace);
  }
  for (const LayerCost* row : model::flatten_rows(trace.layers)) {
    const LayerCost& l = *row;
    std::string previous;
    for (const auto& dim : l.arithmetic) {
      if (!dim.truncates() || dim.formula() == previous) continue;
      previous = dim.formula();
      spdlog::warn(
          "layer {} ({}): {} truncates: the last {} row(s)/column(s) of the padded "
          "input are never covered",
          row_label(l), l.type, previous, (dim.in - dim.kernel + 2 * dim.pad) % dim.stride);
    }
  }
  if (!trace.error.empty()) {
    std::cerr << "error: " << options.config << ": " << trace.error << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace tinycnn::cli
