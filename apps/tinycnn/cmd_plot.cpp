// `tinycnn plot METRICS.jsonl... --out FILE.svg`: the training curves of one or more runs.
#include <iostream>

#include "commands.hpp"
#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "run/curves.hpp"

namespace tinycnn::cli {

CLI::App* setup_plot(CLI::App& app, PlotOptions& o) {
  CLI::App* cmd = app.add_subcommand("plot", "Draw training curves from metrics.jsonl files");
  cmd->add_option("metrics", o.metrics, "metrics.jsonl of one or more runs")->required();
  cmd->add_option("--out", o.out, "SVG file to write")->required();
  cmd->add_flag("--diagnostics", o.diagnostics,
                "Draw one run's gradient flow per layer (train --diagnostics) instead");
  return cmd;
}

int run_plot(const PlotOptions& o) {
  io::check_writable(o.out, o.metrics);
  TCNN_CHECK(!o.diagnostics || o.metrics.size() == 1,
             "--diagnostics: expected the metrics.jsonl of one run, got ", o.metrics.size());
  std::vector<run::MetricsRun> runs;
  for (const auto& path : o.metrics) runs.push_back(run::read_run(path));
  io::write_file_atomically(
      o.out, o.diagnostics ? run::render_diagnostics(runs.front()) : run::render_curves(runs));
  std::cout << "wrote " << o.out << " (" << runs.size()
            << (runs.size() == 1 ? " run)\n" : " runs)\n");
  return kExitOk;
}

}  // namespace tinycnn::cli
