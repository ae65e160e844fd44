// `tinycnn predict CONFIG --checkpoint FILE IMAGE... [--top K] [--json]`: classifies image
// files with a trained model and prints each one's top K classes with their probabilities.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "commands.hpp"
#include "json_out.hpp"
#include "loaded_model.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "train/predict.hpp"

namespace tinycnn::cli {

namespace {
// Class indices by falling probability (the lower index first on ties), the first k.
std::vector<int64_t> top_classes(const std::vector<double>& p, int64_t k) {
  std::vector<int64_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)];
  });
  order.resize(static_cast<size_t>(std::min<int64_t>(k, static_cast<int64_t>(p.size()))));
  return order;
}

void print_predictions(const PredictOptions& o, const std::vector<std::vector<double>>& probs,
                       const std::vector<std::string>& names) {
  const auto name_of = [&](int64_t c) -> nlohmann::json {
    return static_cast<size_t>(c) < names.size() ? nlohmann::json(names[static_cast<size_t>(c)])
                                                 : nlohmann::json(nullptr);
  };
  if (o.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t f = 0; f < probs.size(); ++f) {
      nlohmann::ordered_json top = nlohmann::ordered_json::array();
      for (int64_t c : top_classes(probs[f], o.top)) {
        top.push_back({{"class", c},
                       {"name", name_of(c)},
                       {"probability", probs[f][static_cast<size_t>(c)]}});
      }
      list.push_back({{"file", o.images[f]}, {"top", top}, {"probabilities", probs[f]}});
    }
    std::cout << nlohmann::ordered_json{{"predictions", list}}.dump(-1, ' ', false,
                                                                    kReplaceInvalidUtf8)
              << "\n";
    return;
  }
  for (size_t f = 0; f < probs.size(); ++f) {
    std::cout << o.images[f] << "\n";
    for (int64_t c : top_classes(probs[f], o.top)) {
      char line[64];
      std::snprintf(line, sizeof line, "  %6.2f%%  class %lld",
                    100 * probs[f][static_cast<size_t>(c)], static_cast<long long>(c));
      std::cout << line;
      if (static_cast<size_t>(c) < names.size()) std::cout << " " << names[static_cast<size_t>(c)];
      std::cout << "\n";
    }
  }
}
}  // namespace

CLI::App* setup_predict(CLI::App& app, PredictOptions& o) {
  CLI::App* cmd = app.add_subcommand("predict", "Classify image files with a trained model");
  cmd->add_option("config", o.config, "Model config (JSON)")->required();
  cmd->add_option("images", o.images, "Image files (PNG, JPEG, BMP, PGM/PPM)")->required();
  cmd->add_option("--checkpoint", o.checkpoint, "Checkpoint (safetensors)")->required();
  cmd->add_option("--top", o.top, "Classes to show per image (default 3)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  cmd->add_flag("--json", o.json, "Print one JSON document on stdout");
  return cmd;
}

int run_predict(const PredictOptions& o) {
  const model::ModelSpec spec = model::load_config(o.config);
  const LoadedModel loaded = load_for_inference(spec, o.checkpoint);
  const std::vector<std::vector<double>> probs = train::predict_files(spec, *loaded.net, o.images);
  const int64_t k = loaded.net->output_shape(model::input_shape(spec))[0];
  std::vector<std::string> names =
      spec.training.classes.empty() ? loaded.classes : spec.training.classes;
  if (static_cast<int64_t>(names.size()) != k) names.clear();
  print_predictions(o, probs, names);
  return kExitOk;
}

}  // namespace tinycnn::cli
