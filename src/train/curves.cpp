// Curves chart on top of io::render_svg_chart.
#include "train/curves.hpp"

#include <filesystem>
#include <utility>

#include "io/svg_chart.hpp"

namespace tinycnn::train {

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

}  // namespace tinycnn::train
