// SVG line-chart renderer.
#include "io/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace tinycnn::io {

namespace {
constexpr double kPanelW = 520, kPanelH = 380, kLeft = 80, kRight = 20, kTop = 40, kBottom = 60;
const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3)) {
    std::snprintf(buf, sizeof buf, "%.0e", v);
  } else {
    std::snprintf(buf, sizeof buf, "%g", v);
  }
  return buf;
}

// About five "nice" linear ticks covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi) {
  if (hi <= lo) hi = lo + 1;
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step), last = std::ceil(hi / step);
  for (double i = first; i <= last; ++i) ticks.push_back(i * step);
  return ticks;
}

void render_panel(std::ostringstream& svg, const ChartPanel& p, double ox) {
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (const auto& s : p.series) {
    for (auto [x, y] : s.points) {
      if (p.log_y && y <= 0) continue;
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
  }
  if (xmin > xmax) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  std::vector<double> yticks;
  if (p.log_y) {
    const double lo = std::floor(std::log10(ymin)), hi = std::ceil(std::log10(ymax));
    for (double e = lo; e <= hi; ++e) yticks.push_back(e);
    ymin = lo, ymax = std::max(hi, lo + 1);
  } else {
    yticks = nice_ticks(p.y_from_zero ? std::min(0.0, ymin) : ymin, ymax);
    ymin = yticks.front(), ymax = yticks.back();
  }
  if (xmax == xmin) xmax = xmin + 1;
  const double w = kPanelW - kLeft - kRight, h = kPanelH - kTop - kBottom;
  auto px = [&](double x) { return ox + kLeft + (x - xmin) / (xmax - xmin) * w; };
  auto py = [&](double y) {
    const double v = p.log_y ? std::log10(y) : y;
    return kTop + h - (v - ymin) / (ymax - ymin) * h;
  };
  svg << "<g font-family=\"sans-serif\" font-size=\"12\">\n";
  svg << "<text x=\"" << ox + kLeft + w / 2
      << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" << escape(p.title) << "</text>\n";
  for (double t : yticks) {  // horizontal gridlines with labels
    const double y = p.log_y ? kTop + h - (t - ymin) / (ymax - ymin) * h : py(t);
    svg << "<line x1=\"" << ox + kLeft << "\" y1=\"" << y << "\" x2=\"" << ox + kLeft + w
        << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n";
    svg << "<text x=\"" << ox + kLeft - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
        << (p.log_y ? number(std::pow(10, t)) : number(t)) << "</text>\n";
  }
  std::vector<double> xs;
  for (const auto& s : p.series) {
    for (auto [x, y] : s.points) xs.push_back(x);
  }
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  if (xs.size() > 12) xs = nice_ticks(xmin, xmax);
  for (double x : xs) {  // vertical gridlines at the data's x values
    svg << "<line x1=\"" << px(x) << "\" y1=\"" << kTop << "\" x2=\"" << px(x) << "\" y2=\""
        << kTop + h << "\" stroke=\"#eee\"/>\n";
    svg << "<text x=\"" << px(x) << "\" y=\"" << kTop + h + 18 << "\" text-anchor=\"middle\">"
        << number(x) << "</text>\n";
  }
  svg << "<rect x=\"" << ox + kLeft << "\" y=\"" << kTop << "\" width=\"" << w << "\" height=\""
      << h << "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg << "<text x=\"" << ox + kLeft + w / 2 << "\" y=\"" << kPanelH - 18
      << "\" text-anchor=\"middle\">" << escape(p.x_label) << "</text>\n";
  svg << "<text transform=\"translate(" << ox + 18 << " " << kTop + h / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << escape(p.y_label) << "</text>\n";
  // Legend box first (series are drawn over the plot, the legend over them below).
  size_t longest = 0;
  for (const auto& s : p.series) longest = std::max(longest, s.name.size());
  std::ostringstream legend;
  legend << "<rect x=\"" << ox + kLeft + 4 << "\" y=\"" << kTop + 2 << "\" width=\""
         << 44 + 6.8 * static_cast<double>(longest) << "\" height=\""
         << 18 * static_cast<double>(p.series.size()) + 6
         << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n";
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const char* color = kColors[(s.color >= 0 ? static_cast<size_t>(s.color) : i) % 6];
    svg << "<path fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\""
        << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << " d=\"";
    bool first = true;
    for (auto [x, y] : s.points) {
      if (p.log_y && y <= 0) continue;
      svg << (first ? "M" : " L") << px(x) << " " << py(y);
      first = false;
    }
    svg << "\"/>\n";
    for (auto [x, y] : s.points) {
      if (p.log_y && y <= 0) continue;
      svg << "<circle cx=\"" << px(x) << "\" cy=\"" << py(y) << "\" r=\"3\" fill=\"" << color
          << "\"/>\n";
    }
    const double ly = kTop + 18 + 18 * static_cast<double>(i);
    legend << "<line x1=\"" << ox + kLeft + 10 << "\" y1=\"" << ly - 4 << "\" x2=\""
           << ox + kLeft + 34 << "\" y2=\"" << ly - 4 << "\" stroke=\"" << color
           << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"6 4\"" : "") << "/>\n";
    legend << "<text x=\"" << ox + kLeft + 40 << "\" y=\"" << ly << "\">" << escape(s.name)
           << "</text>\n";
  }
  svg << legend.str() << "</g>\n";
}
}  // namespace

std::string render_svg_chart(const std::string& title, const std::vector<ChartPanel>& panels) {
  std::ostringstream svg;
  const double width = kPanelW * static_cast<double>(std::max<size_t>(panels.size(), 1));
  const double height = kPanelH + 30;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2 << "\" y=\"" << height - 8
      << "\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"13\" fill=\"#555\">"
      << escape(title) << "</text>\n<g transform=\"translate(0 0)\">\n";
  for (size_t i = 0; i < panels.size(); ++i)
    render_panel(svg, panels[i], kPanelW * static_cast<double>(i));
  svg << "</g>\n</svg>\n";
  return svg.str();
}

}  // namespace tinycnn::io
