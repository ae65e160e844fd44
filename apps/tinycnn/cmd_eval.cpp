// `tinycnn eval CONFIG --checkpoint FILE`: test loss, accuracy, per-class accuracy and the
// confusion matrix of a trained model.
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "core/error.hpp"
#include "flags.hpp"
#include "format.hpp"
#include "json_out.hpp"
#include "kernels/precision.hpp"
#include "loaded_model.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "train/evaluate.hpp"
#include "train/memory_check.hpp"

namespace tinycnn::cli {

CLI::App* setup_eval(CLI::App& app, EvalOptions& o) {
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a checkpoint on the test set");
  cmd->add_option("config", o.config, "Model config (JSON)")->required();
  cmd->add_option("--checkpoint", o.checkpoint, "Checkpoint (safetensors)")->required();
  cmd->add_option("--data", o.data, "Directory with the data set's files (training.data_dir)");
  cmd->add_option("--dataset", o.dataset, "Data set kind (training.dataset)")
      ->check(CLI::IsMember(model::dataset_names()));
  cmd->add_option("--limit-test", o.limit_test, "Use only the first N test examples")
      ->check(kCount);
  cmd->add_option("--batch-size", o.batch_size, "Images in flight at once (default 100)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--min-accuracy", o.min_accuracy, "Exit 3 if the test accuracy is below A")
      ->check(kFraction);
  cmd->add_option("--precision", o.precision, "Products in float32 or bf16 (training.precision)");
  cmd->add_flag("--json", o.json, "Print one JSON document on stdout");
  return cmd;
}

namespace {
// The config with the command line's data and precision overrides.
model::ModelSpec resolve(const EvalOptions& o) {
  return resolve_config(o.config, [&](model::Json& t) {
    apply_data_flags(t, o.dataset, o.data);
    if (o.precision) t["precision"] = *o.precision;
  });
}
}  // namespace

int run_eval(const EvalOptions& o) {
  const model::ModelSpec spec = resolve(o);
  const std::string& data_dir = spec.training.data_dir;
  train::check_memory(train::estimate_memory(
                          spec, train::Purpose::Evaluation, o.batch_size,
                          train::split_bytes(spec.training.dataset, data_dir, train::Split::Test)),
                      "evaluating " + spec.name);
  LoadedModel loaded = load_for_inference(spec, o.checkpoint);
  nn::Sequential& model = *loaded.net;
  const int64_t k = model.output_shape(model::input_shape(spec))[0];
  const data::Dataset test = train::load_split(spec, data_dir, train::Split::Test, k, o.limit_test);
  const train::EvalResult r =
      train::evaluate(model, test, train::normalization(spec.training), k, o.batch_size);
  TCNN_CHECK_RUNTIME(std::isfinite(r.loss), o.checkpoint, ": the test loss is ", r.loss,
                     ": expected a finite loss (the weights overflow the model's outputs)");

  // The classes' names: the data set's (or the config's), else the checkpoint's.
  const std::vector<std::string>& names = test.classes().empty() ? loaded.classes : test.classes();
  const bool named = static_cast<int64_t>(names.size()) == k;
  const std::string precision =
      loaded.int8 ? "int8" : std::string(kernels::to_string(spec.training.precision));
  if (o.json) {
    nlohmann::ordered_json doc = {{"precision", precision},
                                  {"test_loss", r.loss},
                                  {"test_accuracy", r.accuracy},
                                  {"per_class_accuracy", r.per_class_accuracy},
                                  {"confusion", r.confusion}};
    if (named) doc["classes"] = names;
    std::cout << doc.dump(-1, ' ', false, kReplaceInvalidUtf8) << "\n";
  } else {
    char line[128];
    std::snprintf(line, sizeof line, "%stest loss %.4f, accuracy %.2f%% on %lld images\n\n",
                  loaded.int8           ? "int8 model: "
                  : precision == "bf16" ? "bf16 products: "
                                        : "",
                  r.loss, 100 * r.accuracy, static_cast<long long>(r.examples));
    std::cout << line;
    std::vector<std::string> header{"true \\ predicted"};
    for (int64_t j = 0; j < k; ++j) header.push_back(std::to_string(j));
    header.push_back("accuracy");
    std::vector<bool> right(header.size(), true);
    right[0] = !named;
    TextTable table(header, right);
    for (int64_t i = 0; i < k; ++i) {
      std::vector<std::string> row{std::to_string(i) +
                                   (named ? " " + names[static_cast<size_t>(i)] : "")};
      for (int64_t j = 0; j < k; ++j) row.push_back(std::to_string(r.confusion[i][j]));
      std::snprintf(line, sizeof line, "%.2f%%", 100 * r.per_class_accuracy[i]);
      row.push_back(line);
      table.add(row);
    }
    std::cout << table.render();
  }
  if (o.min_accuracy && r.accuracy < *o.min_accuracy) {
    std::cerr << "error: test accuracy " << r.accuracy << " is below --min-accuracy "
              << *o.min_accuracy << "\n";
    return kExitBelowAccuracy;
  }
  return kExitOk;
}

}  // namespace tinycnn::cli
