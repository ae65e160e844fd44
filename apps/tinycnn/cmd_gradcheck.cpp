// `tinycnn gradcheck CONFIG [--checkpoint FILE] [--batch N] [--seed S] [--eps E] [--json]`:
// every layer's backward against finite differences of the loss (check/model_check.hpp).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "check/model_check.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "format.hpp"
#include "json_out.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "run/checkpoint.hpp"

namespace tinycnn::cli {

namespace {
std::string scientific(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

void print_json(const check::ModelCheckReport& r) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const auto& l : r.layers) {
    nlohmann::ordered_json checks = nlohmann::ordered_json::array();
    for (const auto& c : l.checks) {
      checks.push_back({{"name", c.name},
                        {"entries", c.entries},
                        {"skipped", c.skipped},
                        {"refined", c.refined},
                        {"nonlinear", c.nonlinear},
                        {"max_abs_error", c.max_abs_error},
                        {"max_rel_error", c.max_rel_error},
                        {"pass", c.pass}});
    }
    layers.push_back({{"index", l.index}, {"type", l.type}, {"checks", checks}});
  }
  std::cout << nlohmann::ordered_json{{"layers", layers}, {"pass", r.pass}}.dump(
                   -1, ' ', false, kReplaceInvalidUtf8)
            << "\n";
}

void print_table(const check::ModelCheckReport& r, const std::string& name) {
  TextTable t(
      {"#", "layer", "what", "entries", "skipped", "refined", "max abs error", "max rel error", ""},
      {true, false, false, true, true, true, true, true, false});
  int failures = 0;
  for (const auto& l : r.layers) {
    bool first = true;
    for (const auto& c : l.checks) {
      t.add({first ? std::to_string(l.index) : "", first ? l.description : "", c.name,
             std::to_string(c.entries), std::to_string(c.skipped + c.nonlinear),
             std::to_string(c.refined), scientific(c.max_abs_error), scientific(c.max_rel_error),
             c.pass ? "PASS" : "FAIL"});
      failures += c.pass ? 0 : 1;
      first = false;
    }
  }
  std::cout << t.render();
  std::cout << name << ": " << (r.pass ? "every gradient PASSES" : "FAIL")
            << (failures ? " (" + std::to_string(failures) + " checks failed)" : "") << "\n";
}
}  // namespace

CLI::App* setup_gradcheck(CLI::App& app, GradcheckOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "gradcheck", "Check every layer's backward against finite differences of the loss");
  cmd->add_option("config", o.config, "Model config (JSON)")->required();
  cmd->add_option("--checkpoint", o.checkpoint, "Weights from a checkpoint (default: random)");
  cmd->add_option("--batch", o.batch, "Examples in the random batch (default 4)")
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
  cmd->add_option("--seed", o.seed, "Seed of the weights and the batch (training.seed)")
      ->check(kNumber);
  cmd->add_option("--eps", o.eps, "Finite-difference nudge (default 1e-3)")
      ->check(CLI::Range(1e-7, 1.0));
  cmd->add_flag("--json", o.json, "Print one JSON document on stdout");
  return cmd;
}

int run_gradcheck(const GradcheckOptions& o) {
  // --seed goes through the config's parser: the values training.seed takes, as for train.
  const model::ModelSpec spec = resolve_config(o.config, [&](model::Json& t) {
    if (o.seed) t["seed"] = number_flag("--seed", *o.seed);
  });
  auto net = model::build_model(spec);
  if (o.checkpoint) run::load_checkpoint(*o.checkpoint, *net, nullptr);
  const check::ModelCheckReport r = check::check_model(
      *net, model::input_shape(spec),
      {.batch = o.batch, .seed = spec.training.seed, .eps = o.eps, .tolerance = 1e-2});
  if (o.json) {
    print_json(r);
  } else {
    print_table(r, spec.name);
  }
  return r.pass ? kExitOk : kExitRuntime;
}

}  // namespace tinycnn::cli
