// Line and scatter charts as standalone SVG (no dependency): one or more panels side by side,
// each with axes, ticks, labels, gridlines and a legend; linear or log10 axes.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tinycnn::io {

enum class Marker { Circle, Square, Triangle, None };

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
  bool dashed = false;
  int color = -1;    // index into the palette; -1: by position
  bool line = true;  // false: the points alone (a scatter)
  Marker marker = Marker::Circle;
  std::vector<std::string> notes{};  // per point, shown as its tooltip (empty: none)
};

struct ChartPanel {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_y = false;
  std::vector<ChartSeries> series;
  bool log_x = false;
  bool legend_outside = false;  // the legend beside the plot (widening the panel), not over it
  bool y_from_zero = true;      // linear axis: include 0, or fit the data's range
};

std::string render_svg_chart(const std::string& title, const std::vector<ChartPanel>& panels);

}  // namespace tinycnn::io
