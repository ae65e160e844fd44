// Roofline points from the conv profiler and the step profiler, and their picture.
#include "profile/roofline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "core/error.hpp"
#include "io/svg_chart.hpp"
#include "kernels/conv2d.hpp"
#include "model/cost_table.hpp"
#include "nn/layer_kind.hpp"

namespace tinycnn::profile {

double RooflinePoint::intensity() const {
  return bytes > 0 ? static_cast<double>(flops) / static_cast<double>(bytes) : 0.0;
}

double RooflinePoint::gflops() const {
  return ms > 0 ? static_cast<double>(flops) / (ms * 1e6) : 0.0;
}

double roof_gflops(double peak_gflops, double bandwidth_gbps, double intensity) {
  return std::min(peak_gflops, bandwidth_gbps * intensity);
}

bool memory_bound(const Ceilings& c, double intensity) {
  return c.dram.gbps * intensity < c.fma.gflops;
}

std::vector<RooflinePoint> conv_roofline_points(const std::vector<ConvResult>& results) {
  std::vector<RooflinePoint> points;
  for (const auto& r : results) {
    const kernels::ConvPlan plan = kernels::plan_conv2d(kernels::ConvAlgo::Implicit, r.c.g);
    const int64_t batch = r.c.g.batch;
    for (const auto& a : r.results) {
      if (a.algo == kernels::ConvAlgo::Naive) continue;
      if (a.algo == kernels::ConvAlgo::Winograd && !a.forward_kernel.starts_with("winograd"))
        continue;  // declined: the implicit path's, already a point
      TCNN_CHECK(a.dinput_ms_median > 0 && a.dweight_ms_median > 0, "roofline: ", r.c.name,
                 " was profiled without its directions apart");
      const std::string algo = a.label();
      auto add = [&](const char* direction, const kernels::ConvCost& cost, double ms) {
        points.push_back({r.c.name, "conv2d", direction, algo, cost.flops, cost.bytes, ms});
      };
      // The costs are the direct convolution's whatever the algorithm (the plans agree on them).
      add("forward", plan.forward_cost(batch), a.forward_ms_median);
      add("dinput", plan.dinput_cost(batch), a.dinput_ms_median);
      add("dweight", plan.dweight_cost(batch), a.dweight_ms_median);
    }
  }
  return points;
}

namespace {
// A row's own time: its measured time less its direct children's (rows [i+1, end) one level
// deeper, before the next row at its depth or above).
double own_ms(const std::vector<LayerTiming>& rows, size_t i, bool forward) {
  double ms = forward ? rows[i].forward_ms : rows[i].backward_ms;
  for (size_t j = i + 1; j < rows.size() && rows[j].depth > rows[i].depth; ++j) {
    if (rows[j].depth == rows[i].depth + 1)
      ms -= forward ? rows[j].forward_ms : rows[j].backward_ms;
  }
  return ms;
}
}  // namespace

std::vector<RooflinePoint> model_roofline_points(const model::ModelSpec& spec, const StepProfile& p,
                                                 int64_t batch, int warmup, int repeats,
                                                 int threads) {
  const model::CostTable table = model::cost_table(spec, batch);
  TCNN_CHECK(table.error.empty(), table.error);
  const std::vector<const model::LayerCost*> rows = model::flatten_rows(table.layers);
  TCNN_CHECK(rows.size() == p.layers.size(), "roofline: the step profile has ", p.layers.size(),
             " rows, the model ", rows.size());
  std::vector<RooflinePoint> points;
  for (size_t i = 0; i < rows.size(); ++i) {
    const model::LayerCost& c = *rows[i];
    TCNN_CHECK(c.name == p.layers[i].name, "roofline: row ", i, " is ", p.layers[i].name,
               " in the step profile, ", c.name, " in the model");
    if (c.kind == nn::LayerKind::Conv2d) {
      kernels::Conv2dGeometry g = c.plan->geometry;
      g.batch = batch;
      const DirectionTimes t = time_conv_directions(*c.plan, g, warmup, repeats, threads);
      const std::string algo(kernels::to_string(c.plan->algo));
      auto add = [&](const char* direction, const kernels::ConvCost& cost, double ms) {
        points.push_back({c.name, "conv2d", direction, algo, cost.flops, cost.bytes, ms});
      };
      add("forward", c.plan->forward_cost(batch), t.forward.median_ms);
      add("dinput", c.plan->dinput_cost(batch), t.dinput.median_ms);
      add("dweight", c.plan->dweight_cost(batch), t.dweight.median_ms);
      continue;
    }
    const std::string kind =
        c.kind == nn::LayerKind::Residual ? "add" : std::string(nn::name_of(c.kind));
    const std::pair<const char*, const model::Traffic*> directions[] = {{"forward", &c.forward},
                                                                        {"backward", &c.backward}};
    for (const auto& [direction, traffic] : directions) {
      const double ms =
          c.kind == nn::LayerKind::Residual
              ? own_ms(p.layers, i, direction[0] == 'f')
              : (direction[0] == 'f' ? p.layers[i].forward_ms : p.layers[i].backward_ms);
      // No work counted (flatten), or a block whose own time is lost in its branches' noise.
      if (traffic->flops <= 0 || traffic->bytes <= 0 || ms <= 0) continue;
      points.push_back({c.name, kind, direction, "", traffic->flops, traffic->bytes, ms});
    }
  }
  return points;
}

namespace {
io::Marker marker_of(const std::string& direction) {
  if (direction == "forward") return io::Marker::Circle;
  if (direction == "dweight") return io::Marker::Triangle;
  return io::Marker::Square;  // dinput, backward
}

std::string fixed(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A roof from x0 to x1: the bandwidth's slope up to the ridge, then the peak.
io::ChartSeries roof(std::string name, double peak, double gbps, double x0, double x1,
                     bool dashed) {
  io::ChartSeries s{std::move(name), {}, dashed, 6};
  s.marker = io::Marker::None;
  const double ridge = peak / gbps;
  s.points.push_back({x0, roof_gflops(peak, gbps, x0)});
  if (ridge > x0 && ridge < x1) s.points.push_back({ridge, peak});
  s.points.push_back({x1, roof_gflops(peak, gbps, x1)});
  return s;
}
}  // namespace

std::string render_roofline_svg(const std::string& title, const Ceilings& ceilings,
                                const std::vector<RooflinePoint>& points,
                                const std::string& colour_by) {
  double lo = HUGE_VAL, hi = 0;
  for (const auto& pt : points) {
    if (pt.intensity() <= 0 || pt.gflops() <= 0) continue;
    lo = std::min(lo, pt.intensity());
    hi = std::max(hi, pt.intensity());
  }
  const double ridge = ceilings.fma.gflops / std::max(ceilings.dram.gbps, 1e-9);
  if (!(lo <= hi)) lo = 0.1, hi = 10;
  lo = std::min(lo, ridge) / 2;
  hi = std::max(hi, ridge) * 2;

  io::ChartPanel panel{
      "Roofline", "arithmetic intensity (FLOP per byte moved)", "attained GFLOP/s", true, {}};
  panel.log_x = true;
  panel.legend_outside = true;
  panel.series.push_back(roof("FMA " + fixed("%.0f", ceilings.fma.gflops) + " GFLOP/s, DRAM " +
                                  fixed("%.0f", ceilings.dram.gbps) + " GB/s",
                              ceilings.fma.gflops, ceilings.dram.gbps, lo, hi, false));
  panel.series.push_back(roof("L2 " + fixed("%.0f", ceilings.l2.gbps) + " GB/s",
                              ceilings.fma.gflops, ceilings.l2.gbps, lo, hi, true));
  if (ceilings.bf16.gflops > 0) {  // the bf16 products' ceiling over the same DRAM slope
    panel.series.push_back(roof("bf16 " + fixed("%.0f", ceilings.bf16.gflops) + " GFLOP/s",
                                ceilings.bf16.gflops, ceilings.dram.gbps, lo, hi, true));
  }
  // One series per (colour key, direction), in the order they first appear.
  std::map<std::string, int> colours;
  std::vector<std::pair<std::string, size_t>> index;  // "key direction" -> series
  for (const auto& pt : points) {
    const std::string& key = colour_by == "algorithm" ? pt.algorithm : pt.kind;
    const int colour = colours.emplace(key, static_cast<int>(colours.size())).first->second;
    const std::string name = key + " " + pt.direction;
    auto it = std::find_if(index.begin(), index.end(),
                           [&](const auto& entry) { return entry.first == name; });
    if (it == index.end()) {
      io::ChartSeries s{name, {}, false, colour % 6};
      s.line = false;
      s.marker = marker_of(pt.direction);
      panel.series.push_back(std::move(s));
      index.emplace_back(name, panel.series.size() - 1);
      it = index.end() - 1;
    }
    io::ChartSeries& s = panel.series[it->second];
    s.points.push_back({pt.intensity(), pt.gflops()});
    s.notes.push_back(pt.layer + " " + pt.direction +
                      (pt.algorithm.empty() ? "" : " (" + pt.algorithm + ")") + ": " +
                      fixed("%.2f", pt.intensity()) + " FLOP/byte, " + fixed("%.1f", pt.gflops()) +
                      " GFLOP/s, " + fixed("%.3f", pt.ms) + " ms");
  }
  return io::render_svg_chart(title, {panel});
}

}  // namespace tinycnn::profile
