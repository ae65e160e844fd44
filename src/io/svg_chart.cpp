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

// About five "nice" linear ticks covering [lo, hi]: always at least two, increasing, and a
// bounded number of them, whatever the values (huge, nearly equal, or not finite).
std::vector<double> nice_ticks(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0.0, 1.0};
  if (hi <= lo) hi = lo + 1;
  if (hi <= lo) hi = lo + std::abs(lo) * 1e-6;  // lo + 1 == lo for |lo| >= 2^53
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  }
  const double first = std::floor(lo / step), last = std::ceil(hi / step);
  std::vector<double> ticks;
  if (std::isfinite(first) && std::isfinite(last) && last - first <= 20) {
    const auto n = static_cast<int>(last - first);
    for (int k = 0; k <= n; ++k) ticks.push_back((first + k) * step);
    ticks.erase(std::unique(ticks.begin(), ticks.end()), ticks.end());
  }
  if (ticks.size() < 2 || !(ticks.back() > ticks.front())) return {lo, hi};
  return ticks;
}

bool drawable(const ChartPanel& p, double x, double y) {
  return std::isfinite(x) && std::isfinite(y) && !(p.log_y && y <= 0);
}

// Where a panel's data goes: its ranges (of the drawable points), y ticks, and the mapping to
// SVG coordinates of the panel at x offset ox.
struct Frame {
  double ox = 0, xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  std::vector<double> yticks;  // values, or exponents on a log axis
  double w = kPanelW - kLeft - kRight, h = kPanelH - kTop - kBottom;
  bool log_y = false;
  double px(double x) const { return ox + kLeft + (x - xmin) / (xmax - xmin) * w; }
  double py_axis(double v) const { return kTop + h - (v - ymin) / (ymax - ymin) * h; }
  double py(double y) const { return py_axis(log_y ? std::log10(y) : y); }
};

Frame fit_frame(const ChartPanel& p, double ox) {
  Frame f;
  f.ox = ox;
  f.log_y = p.log_y;
  double xmin = HUGE_VAL, xmax = -HUGE_VAL, ymin = HUGE_VAL, ymax = -HUGE_VAL;
  for (const auto& s : p.series) {
    for (auto [x, y] : s.points) {
      if (!drawable(p, x, y)) continue;
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
  }
  if (xmin > xmax) xmin = 0, xmax = 1, ymin = p.log_y ? 1 : 0, ymax = p.log_y ? 10 : 1;
  if (p.log_y) {
    const double lo = std::floor(std::log10(ymin)), hi = std::ceil(std::log10(ymax));
    for (double e = lo; e <= hi; ++e) f.yticks.push_back(e);  // |e| <= 324: always advances
    f.ymin = lo, f.ymax = std::max(hi, lo + 1);
  } else {
    f.yticks = nice_ticks(p.y_from_zero ? std::min(0.0, ymin) : ymin, ymax);
    f.ymin = f.yticks.front(), f.ymax = f.yticks.back();
  }
  const std::vector<double> xr = nice_ticks(xmin, xmax);  // a valid, non-empty x range
  f.xmin = xmin, f.xmax = xmax > xmin ? xmax : xr.back();
  if (!(f.xmax > f.xmin)) f.xmin = xr.front(), f.xmax = xr.back();
  return f;
}

// Gridlines with their labels, the plot's border and the axis labels.
void draw_axes(std::ostringstream& svg, const ChartPanel& p, const Frame& f) {
  const double left = f.ox + kLeft;
  svg << "<text x=\"" << left + f.w / 2 << "\" y=\"24\" class=\"c\" font-size=\"15\">"
      << escape(p.title) << "</text>\n";
  for (double t : f.yticks) {  // horizontal gridlines with labels
    const double y = f.py_axis(t);
    svg << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + f.w << "\" y2=\"" << y
        << "\" stroke=\"#ddd\"/>\n";
    svg << "<text x=\"" << left - 6 << "\" y=\"" << y + 4 << "\" class=\"r\">"
        << (p.log_y ? number(std::pow(10, t)) : number(t)) << "</text>\n";
  }
  std::vector<double> xs;
  for (const auto& s : p.series) {
    for (auto [x, y] : s.points) {
      if (drawable(p, x, y)) xs.push_back(x);
    }
  }
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  if (xs.size() > 12) xs = nice_ticks(f.xmin, f.xmax);
  for (double x : xs) {  // vertical gridlines at the data's x values
    svg << "<line x1=\"" << f.px(x) << "\" y1=\"" << kTop << "\" x2=\"" << f.px(x) << "\" y2=\""
        << kTop + f.h << "\" stroke=\"#eee\"/>\n";
    svg << "<text x=\"" << f.px(x) << "\" y=\"" << kTop + f.h + 18 << "\" class=\"c\">" << number(x)
        << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << kTop << "\" width=\"" << f.w << "\" height=\"" << f.h
      << "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg << "<text x=\"" << left + f.w / 2 << "\" y=\"" << kPanelH - 18 << "\" class=\"c\">"
      << escape(p.x_label) << "</text>\n";
  svg << "<text transform=\"translate(" << f.ox + 18 << " " << kTop + f.h / 2
      << ") rotate(-90)\" class=\"c\">" << escape(p.y_label) << "</text>\n";
}

// Each series as a path with a dot per point, and the legend over them.
void draw_series(std::ostringstream& svg, const ChartPanel& p, const Frame& f) {
  const double left = f.ox + kLeft;
  size_t longest = 0;
  for (const auto& s : p.series) longest = std::max(longest, s.name.size());
  std::ostringstream legend;
  legend << "<rect x=\"" << left + 4 << "\" y=\"" << kTop + 2 << "\" width=\""
         << 44 + 6.8 * static_cast<double>(longest) << "\" height=\""
         << 18 * static_cast<double>(p.series.size()) + 6
         << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n";
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const char* color = kColors[(s.color >= 0 ? static_cast<size_t>(s.color) : i) % 6];
    const char* dash = s.dashed ? " stroke-dasharray=\"6 4\"" : "";
    svg << "<path fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\"" << dash << " d=\"";
    bool first = true;
    for (auto [x, y] : s.points) {
      if (!drawable(p, x, y)) continue;
      svg << (first ? "M" : " L") << f.px(x) << " " << f.py(y);
      first = false;
    }
    svg << "\"/>\n";
    for (auto [x, y] : s.points) {
      if (!drawable(p, x, y)) continue;
      svg << "<circle cx=\"" << f.px(x) << "\" cy=\"" << f.py(y) << "\" r=\"3\" fill=\"" << color
          << "\"/>\n";
    }
    const double ly = kTop + 18 + 18 * static_cast<double>(i);
    legend << "<line x1=\"" << left + 10 << "\" y1=\"" << ly - 4 << "\" x2=\"" << left + 34
           << "\" y2=\"" << ly - 4 << "\" stroke=\"" << color << "\" stroke-width=\"2\"" << dash
           << "/>\n";
    legend << "<text x=\"" << left + 40 << "\" y=\"" << ly << "\">" << escape(s.name)
           << "</text>\n";
  }
  svg << legend.str();
}

void render_panel(std::ostringstream& svg, const ChartPanel& p, double ox) {
  const Frame f = fit_frame(p, ox);
  svg << "<g font-family=\"sans-serif\" font-size=\"12\">\n";
  draw_axes(svg, p, f);
  draw_series(svg, p, f);
  svg << "</g>\n";
}
}  // namespace

std::string render_svg_chart(const std::string& title, const std::vector<ChartPanel>& panels) {
  std::ostringstream svg;
  const double width = kPanelW * static_cast<double>(std::max<size_t>(panels.size(), 1));
  const double height = kPanelH + 30;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\">\n"
      << "<style>.c{text-anchor:middle}.r{text-anchor:end}</style>\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2 << "\" y=\"" << height - 8
      << "\" class=\"c\" font-family=\"sans-serif\" font-size=\"13\" fill=\"#555\">"
      << escape(title) << "</text>\n<g transform=\"translate(0 0)\">\n";
  for (size_t i = 0; i < panels.size(); ++i)
    render_panel(svg, panels[i], kPanelW * static_cast<double>(i));
  svg << "</g>\n</svg>\n";
  return svg.str();
}

}  // namespace tinycnn::io
