// Curves chart on top of io::render_svg_chart.
#include "run/curves.hpp"

#include <array>
#include <filesystem>
#include <map>
#include <utility>

#include "core/error.hpp"
#include "io/svg_chart.hpp"

namespace tinycnn::run {

using io::ChartPanel;
using io::ChartSeries;

MetricsRun read_run(const std::string& metrics_path) {
  MetricsRun run{.label = {}, .epochs = read_metrics(metrics_path)};
  const std::filesystem::path p(metrics_path);
  run.label = p.parent_path().filename().string();
  if (run.label.empty()) run.label = p.stem().string();
  return run;
}

std::string render_curves(const std::vector<MetricsRun>& runs) {
  ChartPanel loss{"Loss", "epoch", "softmax cross-entropy (mean)", false, {}};
  ChartPanel accuracy{"Accuracy", "epoch", "accuracy (%)", false, {}, false};
  for (size_t r = 0; r < runs.size(); ++r) {
    const std::string prefix = runs.size() > 1 ? runs[r].label + ": " : "";
    // One run: train and test in two colours; several: one colour per run, test dashed.
    const int train_color = runs.size() > 1 ? static_cast<int>(r) : 0;
    const int test_color = runs.size() > 1 ? static_cast<int>(r) : 1;
    ChartSeries train_loss{prefix + "train", {}, false, train_color};
    ChartSeries test_loss{prefix + "test", {}, true, test_color};
    ChartSeries train_acc{prefix + "train", {}, false, train_color};
    ChartSeries test_acc{prefix + "test", {}, true, test_color};
    for (const auto& e : runs[r].epochs) {
      train_loss.points.push_back({static_cast<double>(e.epoch), e.train_loss});
      test_loss.points.push_back({static_cast<double>(e.epoch), e.test_loss});
      train_acc.points.push_back({static_cast<double>(e.epoch), 100 * e.train_accuracy});
      test_acc.points.push_back({static_cast<double>(e.epoch), 100 * e.test_accuracy});
    }
    loss.series.push_back(std::move(train_loss));
    loss.series.push_back(std::move(test_loss));
    accuracy.series.push_back(std::move(train_acc));
    accuracy.series.push_back(std::move(test_acc));
  }
  std::string title = "training curves";
  for (size_t r = 0; r < runs.size(); ++r) title += (r ? ", " : ": ") + runs[r].label;
  return io::render_svg_chart(title, {loss, accuracy});
}

std::string render_diagnostics(const MetricsRun& run) {
  ChartPanel grad{"Gradient norm", "epoch", "||grad|| at the epoch's last step", true, {}};
  ChartPanel update{"Update ratio", "epoch", "||dw|| / ||w||", true, {}};
  ChartPanel dead{"Dead ReLU units", "epoch", "fraction dead over the last batch", false, {}};
  // One series per layer, in the order the layers first appear.
  std::vector<std::string> order;
  std::map<std::string, std::array<ChartSeries, 3>> by_layer;
  for (const auto& e : run.epochs) {
    for (const auto& d : e.diagnostics) {
      auto [it, fresh] = by_layer.try_emplace(d.layer);
      if (fresh) {
        order.push_back(d.layer);
        for (auto& series : it->second) series.name = d.layer + " (" + d.type + ")";
      }
      const auto x = static_cast<double>(e.epoch);
      if (d.dead_fraction >= 0) {
        it->second[2].points.push_back({x, d.dead_fraction});
      } else {
        it->second[0].points.push_back({x, d.grad_norm});
        it->second[1].points.push_back({x, d.update_ratio});
      }
    }
  }
  TCNN_CHECK_RUNTIME(!order.empty(), run.label,
                     ": its metrics hold no diagnostics (train with --diagnostics or "
                     "training.diagnostics)");
  for (const auto& layer : order) {
    auto& series = by_layer[layer];
    for (size_t k = 0; k < 3; ++k) {
      if (series[k].points.empty()) continue;
      (k == 0 ? grad : k == 1 ? update : dead).series.push_back(std::move(series[k]));
    }
  }
  std::vector<ChartPanel> panels{grad, update};
  if (!dead.series.empty()) panels.push_back(dead);
  return io::render_svg_chart("gradient flow: " + run.label, panels);
}

}  // namespace tinycnn::run
