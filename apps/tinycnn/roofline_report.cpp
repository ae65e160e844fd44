// The roofline's JSON and text summary.
#include "roofline_report.hpp"

#include <algorithm>
#include <iostream>
#include <map>

#include "format.hpp"

namespace tinycnn::cli {

namespace {
using nlohmann::ordered_json;

double share_of_roof(const profile::Ceilings& c, const profile::RooflinePoint& p) {
  const double roof = profile::roof_gflops(c.fma.gflops, c.dram.gbps, p.intensity());
  return roof > 0 ? p.gflops() / roof : 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
}  // namespace

ordered_json roofline_json(const profile::Ceilings& c,
                           const std::vector<profile::RooflinePoint>& points) {
  ordered_json list = ordered_json::array();
  for (const auto& p : points) {
    list.push_back({{"layer", p.layer},
                    {"kind", p.kind},
                    {"direction", p.direction},
                    {"algorithm", p.algorithm},
                    {"flops", p.flops},
                    {"bytes", p.bytes},
                    {"ms", p.ms},
                    {"intensity", p.intensity()},
                    {"gflops", p.gflops()},
                    {"roof_gflops", profile::roof_gflops(c.fma.gflops, c.dram.gbps, p.intensity())},
                    {"memory_bound", profile::memory_bound(c, p.intensity())}});
  }
  return {{"peak_gflops", c.fma.gflops},
          {"bf16_peak_gflops", c.bf16.gflops},
          {"dram_gbps", c.dram.gbps},
          {"l2_gbps", c.l2.gbps},
          {"ridge_intensity", c.dram.gbps > 0 ? c.fma.gflops / c.dram.gbps : 0.0},
          {"busy", c.busy()},
          {"points", list}};
}

void print_roofline_summary(const profile::Ceilings& c,
                            const std::vector<profile::RooflinePoint>& points,
                            const std::string& group_by, const std::string& file) {
  struct Group {
    std::vector<double> intensity, gflops, share;
    double ms = 0;
  };
  std::vector<std::string> order;
  std::map<std::string, Group> groups;
  double total_ms = 0;
  for (const auto& p : points) {
    const std::string key = (group_by == "algorithm" ? p.algorithm : p.kind) + " " + p.direction;
    if (!groups.contains(key)) order.push_back(key);
    Group& g = groups[key];
    g.intensity.push_back(p.intensity());
    g.gflops.push_back(p.gflops());
    g.share.push_back(share_of_roof(c, p));
    g.ms += p.ms;
    total_ms += p.ms;
  }
  TextTable t({"points", "n", "FLOP/byte", "GFLOP/s", "% of roof", "ms", "% of ms", "bound by"},
              {false, true, true, true, true, true, true, false});
  for (const auto& key : order) {
    const Group& g = groups[key];
    const double intensity = median(g.intensity);
    t.add({key, std::to_string(g.intensity.size()), fmt("%.2f", intensity),
           fmt("%.1f", median(g.gflops)), fmt("%.0f%%", 100 * median(g.share)), fmt("%.3f", g.ms),
           fmt("%.1f%%", total_ms > 0 ? 100 * g.ms / total_ms : 0),
           profile::memory_bound(c, intensity) ? "memory" : "compute"});
  }
  std::cout << "\nroofline (" << file << "): FMA peak " << fmt("%.0f", c.fma.gflops)
            << " GFLOP/s, bf16 peak " << fmt("%.0f", c.bf16.gflops)
            << " GFLOP/s; triad bandwidth DRAM " << fmt("%.1f", c.dram.gbps) << " GB/s, L2 "
            << fmt("%.1f", c.l2.gbps) << " GB/s; ridge at "
            << fmt("%.1f", c.dram.gbps > 0 ? c.fma.gflops / c.dram.gbps : 0) << " FLOP/byte"
            << (c.busy() ? " (measured while the machine was busy)" : "") << "\n"
            << t.render()
            << "medians per group; FLOP/byte = FLOPs / bytes of the tensors read and written, each "
               "once; % of roof = attained / min(FMA peak, DRAM bandwidth x FLOP/byte): above "
               "100% the data came from the caches (the L2 roof is higher), or Winograd did "
               "fewer FLOPs than the direct count it is credited with\n";
}

}  // namespace tinycnn::cli
