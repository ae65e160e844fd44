// SVG line-chart renderer.
#include "io/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace tinycnn::io {

namespace {
constexpr double kPanelW = 520, kPanelH = 380, kLeft = 80, kRight = 20, kTop = 40, kBottom = 60;

size_t longest_name(const ChartPanel& p) {
  size_t longest = 0;
  for (const auto& s : p.series) longest = std::max(longest, s.name.size());
  return longest;
}

// A legend beside the plot widens the panel by its own width.
double legend_width(const ChartPanel& p) { return 44 + 6.8 * static_cast<double>(longest_name(p)); }
double panel_width(const ChartPanel& p) {
  return kPanelW + (p.legend_outside ? legend_width(p) + 10 : 0);
}
const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                         "#9467bd", "#8c564b", "#7f7f7f", "#17becf"};
constexpr size_t kPaletteSize = sizeof kColors / sizeof kColors[0];

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
  return std::isfinite(x) && std::isfinite(y) && !(p.log_y && y <= 0) && !(p.log_x && x <= 0);
}

// The decades covering [lo, hi] (both > 0) as exponents; at least two.
std::vector<double> decades(double lo, double hi) {
  const double first = std::floor(std::log10(lo)), last = std::ceil(std::log10(hi));
  std::vector<double> e;
  for (double d = first; d <= last; ++d) e.push_back(d);  // |d| <= 324: always advances
  if (e.size() < 2) e.insert(e.begin(), first - 1);       // below, so 1e308 gives no inf label
  return e;
}

// Where a panel's data goes: its ranges (of the drawable points), y ticks, and the mapping to
// SVG coordinates of the panel at x offset ox.
struct Frame {
  double ox = 0, xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  std::vector<double> yticks;  // values, or exponents on a log axis
  std::vector<double> xticks;  // log x axis: exponents; else empty (the data's x values)
  double w = kPanelW - kLeft - kRight, h = kPanelH - kTop - kBottom;
  bool log_y = false, log_x = false;
  double px_axis(double v) const { return ox + kLeft + (v - xmin) / (xmax - xmin) * w; }
  double px(double x) const { return px_axis(log_x ? std::log10(x) : x); }
  double py_axis(double v) const { return kTop + h - (v - ymin) / (ymax - ymin) * h; }
  double py(double y) const { return py_axis(log_y ? std::log10(y) : y); }
};

Frame fit_frame(const ChartPanel& p, double ox) {
  Frame f;
  f.ox = ox;
  f.log_y = p.log_y;
  f.log_x = p.log_x;
  double xmin = HUGE_VAL, xmax = -HUGE_VAL, ymin = HUGE_VAL, ymax = -HUGE_VAL;
  for (const auto& s : p.series) {
    for (auto [x, y] : s.points) {
      if (!drawable(p, x, y)) continue;
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
  }
  if (xmin > xmax) {
    xmin = p.log_x ? 1 : 0, xmax = p.log_x ? 10 : 1;
    ymin = p.log_y ? 1 : 0, ymax = p.log_y ? 10 : 1;
  }
  if (p.log_y) {
    f.yticks = decades(ymin, ymax);
    f.ymin = f.yticks.front(), f.ymax = f.yticks.back();
  } else {
    f.yticks = nice_ticks(p.y_from_zero ? std::min(0.0, ymin) : ymin, ymax);
    f.ymin = f.yticks.front(), f.ymax = f.yticks.back();
  }
  if (p.log_x) {
    f.xticks = decades(xmin, xmax);
    f.xmin = f.xticks.front(), f.xmax = f.xticks.back();
    return f;
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
  std::vector<double> xs;  // axis values: the data's x, nice ticks, or decades' exponents
  if (p.log_x) {
    xs = f.xticks;
  } else {
    for (const auto& s : p.series) {
      for (auto [x, y] : s.points) {
        if (drawable(p, x, y)) xs.push_back(x);
      }
    }
    std::sort(xs.begin(), xs.end());
    xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
    if (xs.size() > 12) xs = nice_ticks(f.xmin, f.xmax);
  }
  for (double v : xs) {  // vertical gridlines with labels
    const double x = f.px_axis(v);
    svg << "<line x1=\"" << x << "\" y1=\"" << kTop << "\" x2=\"" << x << "\" y2=\"" << kTop + f.h
        << "\" stroke=\"#eee\"/>\n";
    svg << "<text x=\"" << x << "\" y=\"" << kTop + f.h + 18 << "\" class=\"c\">"
        << number(p.log_x ? std::pow(10, v) : v) << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << kTop << "\" width=\"" << f.w << "\" height=\"" << f.h
      << "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg << "<text x=\"" << left + f.w / 2 << "\" y=\"" << kPanelH - 18 << "\" class=\"c\">"
      << escape(p.x_label) << "</text>\n";
  svg << "<text transform=\"translate(" << f.ox + 18 << " " << kTop + f.h / 2
      << ") rotate(-90)\" class=\"c\">" << escape(p.y_label) << "</text>\n";
}

// A point's marker, centred on (x, y), with its tooltip.
void draw_marker(std::ostringstream& svg, Marker m, double x, double y, const char* color,
                 const std::string& note) {
  const std::string tip = note.empty() ? "" : "<title>" + escape(note) + "</title>";
  const std::string end = tip.empty() ? "/>\n" : ">" + tip;
  switch (m) {
    case Marker::Circle:
      svg << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"3.5\" fill=\"" << color << "\""
          << end << (tip.empty() ? "" : "</circle>\n");
      break;
    case Marker::Square:
      svg << "<rect x=\"" << x - 3.5 << "\" y=\"" << y - 3.5
          << "\" width=\"7\" height=\"7\" fill=\"" << color << "\"" << end
          << (tip.empty() ? "" : "</rect>\n");
      break;
    case Marker::Triangle:
      svg << "<path d=\"M" << x << " " << y - 4.5 << " L" << x + 4.5 << " " << y + 3.5 << " L"
          << x - 4.5 << " " << y + 3.5 << " Z\" fill=\"" << color << "\"" << end
          << (tip.empty() ? "" : "</path>\n");
      break;
    case Marker::None:
      break;
  }
}

// Each series as a path and / or a marker per point, and the legend over them.
void draw_series(std::ostringstream& svg, const ChartPanel& p, const Frame& f) {
  // The legend's box: inside the plot's top-left corner, or beside the plot.
  const double left = p.legend_outside ? f.ox + kLeft + f.w + kRight : f.ox + kLeft;
  std::ostringstream legend;
  legend << "<rect x=\"" << left + 4 << "\" y=\"" << kTop + 2 << "\" width=\"" << legend_width(p)
         << "\" height=\"" << 18 * static_cast<double>(p.series.size()) + 6
         << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n";
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const char* color = kColors[(s.color >= 0 ? static_cast<size_t>(s.color) : i) % kPaletteSize];
    const char* dash = s.dashed ? " stroke-dasharray=\"6 4\"" : "";
    if (s.line) {
      svg << "<path fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\"" << dash << " d=\"";
      bool first = true;
      for (auto [x, y] : s.points) {
        if (!drawable(p, x, y)) continue;
        svg << (first ? "M" : " L") << f.px(x) << " " << f.py(y);
        first = false;
      }
      svg << "\"/>\n";
    }
    for (size_t k = 0; k < s.points.size(); ++k) {
      const auto [x, y] = s.points[k];
      if (!drawable(p, x, y)) continue;
      draw_marker(svg, s.marker, f.px(x), f.py(y), color, k < s.notes.size() ? s.notes[k] : "");
    }
    const double ly = kTop + 18 + 18 * static_cast<double>(i);
    if (s.line) {
      legend << "<line x1=\"" << left + 10 << "\" y1=\"" << ly - 4 << "\" x2=\"" << left + 34
             << "\" y2=\"" << ly - 4 << "\" stroke=\"" << color << "\" stroke-width=\"2\"" << dash
             << "/>\n";
    }
    std::ostringstream mark;
    draw_marker(mark, s.marker, left + 22, ly - 4, color, "");
    legend << mark.str();
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
  double width = 0;
  for (const auto& p : panels) width += panel_width(p);
  width = std::max(width, kPanelW);
  const double height = kPanelH + 30;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\">\n"
      << "<style>.c{text-anchor:middle}.r{text-anchor:end}</style>\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2 << "\" y=\"" << height - 8
      << "\" class=\"c\" font-family=\"sans-serif\" font-size=\"13\" fill=\"#555\">"
      << escape(title) << "</text>\n<g transform=\"translate(0 0)\">\n";
  double ox = 0;
  for (const auto& p : panels) {
    render_panel(svg, p, ox);
    ox += panel_width(p);
  }
  svg << "</g>\n</svg>\n";
  return svg.str();
}

}  // namespace tinycnn::io
