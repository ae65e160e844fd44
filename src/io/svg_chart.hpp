// Line charts as standalone SVG (no dependency): one or more panels side by side, each with
// axes, ticks, labels, gridlines and a legend; linear or log10 y axis.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tinycnn::io {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
  bool dashed = false;
  int color = -1;  // index into the palette; -1: by position
};

struct ChartPanel {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_y = false;
  std::vector<ChartSeries> series;
  bool y_from_zero = true;  // linear axis: include 0, or fit the data's range
};

std::string render_svg_chart(const std::string& title, const std::vector<ChartPanel>& panels);

}  // namespace tinycnn::io
