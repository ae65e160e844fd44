// `tinycnn lr-find CONFIG`: the learning-rate range test (train/lr_find.hpp), its suggestions
// printed, its curve drawn; nothing else is written.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/error.hpp"
#include "flags.hpp"
#include "format.hpp"
#include "io/atomic_file.hpp"
#include "io/svg_chart.hpp"
#include "json_out.hpp"
#include "kernels/conv2d.hpp"
#include "model/spec.hpp"
#include "train/lr_find.hpp"

namespace tinycnn::cli {

namespace {
// The loss (thin, dashed) and its smoothed curve against the rate on a log axis, with the two
// suggestions as vertical lines.
std::string render(const std::string& name, const train::LrFindResult& r) {
  io::ChartSeries loss{"loss per step", {}, true, 6};
  loss.marker = io::Marker::None;
  io::ChartSeries smoothed{"smoothed loss", {}, false, 0};
  smoothed.marker = io::Marker::None;
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (size_t i = 0; i < r.lrs.size(); ++i) {
    smoothed.points.push_back({r.lrs[i], r.smoothed[i]});
    lo = std::min(lo, r.smoothed[i]);
    hi = std::max(hi, r.smoothed[i]);
  }
  // The steps' own losses where they stay in the smoothed curve's range (a diverging step's
  // would flatten the picture).
  for (size_t i = 0; i < r.lrs.size(); ++i) {
    if (r.losses[i] <= hi + (hi - lo)) loss.points.push_back({r.lrs[i], r.losses[i]});
  }
  io::ChartSeries steep{"steepest fall: lr " + fmt("%.3g", r.steepest_lr),
                        {{r.steepest_lr, lo}, {r.steepest_lr, hi}},
                        false,
                        1};
  steep.marker = io::Marker::None;
  io::ChartSeries min10{"minimum / 10: lr " + fmt("%.3g", r.min_lr / 10),
                        {{r.min_lr / 10, lo}, {r.min_lr / 10, hi}},
                        true,
                        2};
  min10.marker = io::Marker::None;
  io::ChartPanel panel{"Learning-rate range test",
                       "learning rate",
                       "training loss",
                       false,
                       {smoothed, loss, steep, min10}};
  panel.log_x = true;
  panel.y_from_zero = false;
  panel.legend_outside = true;
  return io::render_svg_chart("tinycnn lr-find " + name, {panel});
}
}  // namespace

CLI::App* setup_lr_find(CLI::App& app, LrFindOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "lr-find", "Learning-rate range test: suggest a learning rate for a config");
  cmd->add_option("config", o.config, "Model config (JSON)")->required();
  cmd->add_option("--data", o.data, "Directory with the data set's files (training.data_dir)");
  cmd->add_option("--dataset", o.dataset, "Data set kind (training.dataset)")
      ->check(CLI::IsMember(model::dataset_names()));
  cmd->add_option("--batch-size", o.batch_size, "Mini-batch size (training.batch_size)")
      ->check(kNumber);
  cmd->add_option("--seed", o.seed, "Seed for the weights and data order (training.seed)")
      ->check(kNumber);
  cmd->add_option("--conv-algo", o.conv_algo, "Convolution algorithm (training.conv_algo)")
      ->check(CLI::IsMember(kernels::conv_algo_names()));
  cmd->add_option("--start", o.start, "First learning rate (> 0; default 1e-7)");
  cmd->add_option("--end", o.end, "Last learning rate (> --start; default 10)");
  cmd->add_option("--steps", o.steps, "Training steps, one rate each")
      ->check(CLI::Range(int64_t{2}, int64_t{100000}));
  cmd->add_option("--limit-train", o.limit_train, "Use only the first N training examples")
      ->check(kCount);
  cmd->add_option("--out", o.out, "Draw the loss against the rate into FILE.svg");
  cmd->add_flag("--json", o.json, "Print one JSON document on stdout");
  return cmd;
}

int run_lr_find(const LrFindOptions& o) {
  TCNN_CHECK(std::isfinite(o.start) && o.start > 0, "lr-find: expected --start > 0, got ", o.start);
  TCNN_CHECK(std::isfinite(o.end) && o.start < o.end,
             "lr-find: expected --start below --end, got --start ", o.start, " and --end ", o.end);
  if (!o.out.empty()) io::check_writable(o.out, {o.config});
  const model::ModelSpec spec = resolve_config(o.config, [&](model::Json& t) {
    apply_data_flags(t, o.dataset, o.data);
    if (o.batch_size) t["batch_size"] = number_flag("--batch-size", *o.batch_size);
    if (o.seed) t["seed"] = number_flag("--seed", *o.seed);
    if (o.conv_algo) t["conv_algo"] = *o.conv_algo;
  });
  const train::LrFindResult r = train::find_lr(
      spec, {.start = o.start, .end = o.end, .steps = o.steps, .limit_train = o.limit_train});
  if (!o.out.empty()) io::write_file_atomically(o.out, render(spec.name, r));
  if (o.json) {
    nlohmann::ordered_json doc{{"model", spec.name},
                               {"steps", r.lrs.size()},
                               {"diverged", r.diverged},
                               {"suggested_lr", r.steepest_lr},
                               {"min_loss_lr", r.min_lr},
                               {"min_loss_lr_div10", r.min_lr / 10},
                               {"lrs", r.lrs},
                               {"losses", r.losses},
                               {"smoothed_losses", r.smoothed}};
    std::cout << doc.dump(-1, ' ', false, kReplaceInvalidUtf8) << "\n";
    return kExitOk;
  }
  std::cout << "lr-find " << spec.name << ": " << r.lrs.size() << " steps, lr "
            << fmt("%.3g", o.start) << " to " << fmt("%.3g", r.lrs.back())
            << (r.diverged ? " (stopped: the smoothed loss diverged)" : "") << "\n"
            << "suggested learning rate: " << fmt("%.3g", r.steepest_lr)
            << " (the smoothed loss falls fastest there); the minimum's / 10: "
            << fmt("%.3g", r.min_lr / 10) << " (minimum at " << fmt("%.3g", r.min_lr) << ")\n";
  if (!o.out.empty()) std::cout << "wrote " << o.out << "\n";
  return kExitOk;
}

}  // namespace tinycnn::cli
