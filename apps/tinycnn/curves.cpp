// Curves chart on top of svg_chart.
#include "curves.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/json_text.hpp"
#include "svg_chart.hpp"

namespace tinycnn::cli {

MetricsRun read_metrics(const std::string& path) {
  std::error_code ec;
  TCNN_CHECK_RUNTIME(std::filesystem::is_regular_file(path, ec), path, ": no such file");
  std::ifstream in(path);
  TCNN_CHECK_RUNTIME(in.good(), path, ": cannot open for reading");
  MetricsRun run;
  const std::filesystem::path p(path);
  run.label = p.parent_path().filename().string();
  if (run.label.empty()) run.label = p.stem().string();
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const nlohmann::json j = io::parse_json_text(line, where, core::ErrorKind::Runtime);
    TCNN_CHECK_RUNTIME(j.is_object(), where, ": expected a JSON object per line");
    EpochPoint e{};
    const std::pair<const char*, double*> fields[] = {
        {"epoch", &e.epoch},           {"train_loss", &e.train_loss},
        {"test_loss", &e.test_loss},   {"train_accuracy", &e.train_accuracy},
        {"test_accuracy", &e.test_accuracy}};
    for (const auto& [key, dst] : fields) {
      TCNN_CHECK_RUNTIME(j.contains(key) && j[key].is_number(), where, ": expected a number for ",
                         key);
      *dst = j[key].get<double>();
    }
    run.epochs.push_back(e);
  }
  TCNN_CHECK_RUNTIME(!run.epochs.empty(), path, ": holds no epochs");
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
      train_loss.points.push_back({e.epoch, e.train_loss});
      test_loss.points.push_back({e.epoch, e.test_loss});
      train_acc.points.push_back({e.epoch, 100 * e.train_accuracy});
      test_acc.points.push_back({e.epoch, 100 * e.test_accuracy});
    }
    loss.series.push_back(std::move(train_loss));
    loss.series.push_back(std::move(test_loss));
    accuracy.series.push_back(std::move(train_acc));
    accuracy.series.push_back(std::move(test_acc));
  }
  std::string title = "training curves";
  for (size_t r = 0; r < runs.size(); ++r) title += (r ? ", " : ": ") + runs[r].label;
  return render_svg_chart(title, {loss, accuracy});
}

}  // namespace tinycnn::cli
