// `tinycnn profile --conv | --model CONFIG`: the convolution algorithms side by side (cases, a
// model's conv layers, or a sweep with an SVG chart), and a per-layer profile of one training
// step.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "busy.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "core/sysinfo.hpp"
#include "format.hpp"
#include "heap_counter.hpp"
#include "io/atomic_file.hpp"
#include "io/svg_chart.hpp"
#include "json_out.hpp"
#include "kernels/bf16.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/gemm.hpp"
#include "kernels/precision.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "profile/conv_profile.hpp"
#include "profile/roofline.hpp"
#include "profile/step_profile.hpp"
#include "profile/timing.hpp"
#include "roofline_report.hpp"
#include "train/memory_check.hpp"
#include "train/optimizer_config.hpp"

namespace tinycnn::cli {

namespace {
using nlohmann::ordered_json;
using profile::AlgoResult;
using profile::ConvResult;

// The peak of two probes: one measured on quiet cores wins over a busy one.
profile::Peak better_peak(const profile::Peak& a, const profile::Peak& b) {
  if (a.contention.busy() != b.contention.busy()) return a.contention.busy() ? b : a;
  return a.gflops >= b.gflops ? a : b;
}

// "" on a quiet machine; else what was seen, for the table's footnote and --strict's error.
std::string busy_summary(const std::vector<ConvResult>& results, const profile::Peak& peak) {
  runtime::Contention worst = peak.contention;
  int busy = 0;
  for (const auto& r : results) {
    for (const auto& a : r.results) {
      busy += a.contention.busy() ? 1 : 0;
      if (a.contention.wait_share() > worst.wait_share()) worst = a.contention;
    }
  }
  if (busy == 0 && !peak.contention.busy()) return "";
  return busy_text(busy, worst);
}

ordered_json pair_or_int(int64_t a, int64_t b) {
  return a == b ? ordered_json(a) : ordered_json::array({a, b});
}

ordered_json algo_json(const AlgoResult& r, const profile::ConvCosts& c) {
  ordered_json j = {{"busy", r.contention.busy()},
                    {"contention", contention_json(r.contention)},
                    {"forward_ms_median", r.forward_ms_median},
                    {"forward_ms_min", r.forward_ms_min},
                    {"backward_ms_median", r.backward_ms_median},
                    {"backward_ms_min", r.backward_ms_min},
                    {"repeats", r.repeats},
                    {"gflops_forward", r.gflops_forward},
                    {"flops_forward_performed", r.flops_forward_performed},
                    {"error_bound", r.error_bound},
                    {"workspace_bytes", r.workspace_bytes},
                    {"workspace_bytes_allocated", r.workspace_bytes_allocated},
                    {"weight_bytes", c.weight_bytes},
                    {"activation_bytes", c.activation_bytes},
                    {"speedup_forward", r.speedup_forward},
                    {"speedup_backward", r.speedup_backward},
                    {"max_abs_diff", r.max_abs_diff},
                    {"max_rel_diff", r.max_rel_diff}};
  if (r.dinput_ms_median > 0) {  // measured apart for the roofline
    j["dinput_ms_median"] = r.dinput_ms_median;
    j["dweight_ms_median"] = r.dweight_ms_median;
  }
  return j;
}

ordered_json case_json(const ConvResult& r) {
  const auto& g = r.c.g;
  ordered_json results = ordered_json::object();
  for (const auto& a : r.results) {
    ordered_json j = algo_json(a, r.costs);
    j["kernels"] = {
        {"forward", a.forward_kernel}, {"dinput", a.dinput_kernel}, {"dweight", a.dweight_kernel}};
    results[a.label()] = std::move(j);
  }
  // The case-level speedups compare im2col with naive (docs/cli.md); each result has its own.
  const AlgoResult* im2col = r.find(kernels::ConvAlgo::Im2col);
  return {{"name", r.c.name},
          {"input_shape", {g.batch, g.in_channels, g.in_h, g.in_w}},
          {"out_channels", g.out_channels},
          {"kernel_size", pair_or_int(g.kernel_h, g.kernel_w)},
          {"stride", pair_or_int(g.stride_h, g.stride_w)},
          {"padding", pair_or_int(g.pad_h, g.pad_w)},
          {"groups", g.groups},
          {"flops_forward", r.costs.flops_forward},
          {"results", results},
          {"speedup_forward", im2col ? im2col->speedup_forward : 0.0},
          {"speedup_backward", im2col ? im2col->speedup_backward : 0.0},
          {"max_abs_diff", r.max_abs_diff},
          {"max_rel_diff", r.max_rel_diff}};
}

std::string shape_text(const kernels::Conv2dGeometry& g) {
  return "[" + std::to_string(g.batch) + "," + std::to_string(g.in_channels) + "," +
         std::to_string(g.in_h) + "," + std::to_string(g.in_w) + "]";
}

// One row per case and algorithm; the case's columns on its first row only.
void print_conv_table(const std::vector<ConvResult>& results, const profile::Peak& measured,
                      double bf16_peak, const ProfileOptions& o) {
  const double peak = measured.gflops;
  TextTable t({"case", "input", "OC", "k/s/p", "MFLOP", "algo", "MFLOP done", "fwd ms", "bwd ms",
               "fwd speedup", "bwd speedup", "GFLOP/s", "% peak", "ws (textbook)", "allocated",
               "max rel diff", "plan (fwd / dinput / dweight)"},
              {false, false, true, false, true, false, true, true, true, true, true, true, true,
               true, true, true, false});
  // A bf16 row's % is of the bf16 products' peak.
  const auto row_peak = [&](const AlgoResult& a) {
    return a.precision == kernels::Precision::Bf16 ? bf16_peak : peak;
  };
  for (const auto& r : results) {
    const auto& g = r.c.g;
    bool first = true;
    for (const auto& a : r.results) {
      const bool ref = a.algo == kernels::ConvAlgo::Naive;
      t.add({first ? r.c.name : "", first ? shape_text(g) : "",
             first ? std::to_string(g.out_channels) : "",
             first ? std::to_string(g.kernel_h) + "/" + std::to_string(g.stride_h) + "/" +
                         std::to_string(g.pad_h)
                   : "",
             first ? fmt("%.1f", static_cast<double>(r.costs.flops_forward) / 1e6) : "", a.label(),
             fmt("%.1f", static_cast<double>(a.flops_forward_performed) / 1e6),
             fmt("%.3f", a.forward_ms_median) + (a.contention.busy() ? "*" : ""),
             fmt("%.3f", a.backward_ms_median) + (a.contention.busy() ? "*" : ""),
             ref ? "" : fmt("%.1fx", a.speedup_forward),
             ref ? "" : fmt("%.1fx", a.speedup_backward), fmt("%.1f", a.gflops_forward),
             fmt("%.0f%%", row_peak(a) > 0 ? 100 * a.gflops_forward / row_peak(a) : 0),
             human_bytes(a.workspace_bytes), human_bytes(a.workspace_bytes_allocated),
             ref ? "" : fmt("%.1e", a.max_rel_diff) + fmt(" (<=%.0e)", a.error_bound),
             a.plan_summary});
      first = false;
    }
  }
  std::cout << t.render();
  std::cout << "\ntimes: median of " << o.repeats << " runs after " << o.warmup
            << " warm-up (naive: fewer when one run exceeds 1 s); backward = dinput + dweight + "
               "dbias; speedup = naive time / this algorithm's; "
               "peak = "
            << fmt("%.0f", peak) << " GFLOP/s measured (FMA loop, " << omp_get_max_threads()
            << " threads" << (measured.contention.busy() ? ", while the machine was busy" : "")
            << ")"
            << (bf16_peak > 0
                    ? "; bf16 rows: % of the bf16 peak = " + fmt("%.0f", bf16_peak) +
                          " GFLOP/s measured (" + std::string(kernels::bf16_path_name()) + " loop)"
                    : "")
            << "; GFLOP/s and % peak = the direct convolution's FLOPs (MFLOP) / time: Winograd "
               "does fewer (MFLOP done), so its effective rate may pass 100% of peak; ws "
               "(textbook) = the whole batch's im2col matrix; allocated = measured peak extra heap "
               "during one call; max rel diff = against naive, with the bound it is held to\n";
  const std::string busy = busy_summary(results, measured);
  if (!busy.empty()) std::cout << "* " << busy << "\n";
}

void print_conv_csv(const std::vector<ConvResult>& results) {
  std::cout << "case,algo,n,c,h,w,out_channels,kh,kw,stride,padding,groups,flops_forward,"
               "forward_ms_median,forward_ms_min,backward_ms_median,backward_ms_min,repeats,"
               "gflops_forward,workspace_bytes,workspace_bytes_allocated,weight_bytes,"
               "activation_bytes,speedup_forward,speedup_backward,max_abs_diff,max_rel_diff,"
               "flops_forward_performed,error_bound\n";
  for (const auto& r : results) {
    const auto& g = r.c.g;
    for (const auto& a : r.results) {
      std::cout << r.c.name << "," << a.label() << "," << g.batch << "," << g.in_channels << ","
                << g.in_h << "," << g.in_w << "," << g.out_channels << "," << g.kernel_h << ","
                << g.kernel_w << "," << g.stride_h << "," << g.pad_h << "," << g.groups << ","
                << r.costs.flops_forward << "," << a.forward_ms_median << "," << a.forward_ms_min
                << "," << a.backward_ms_median << "," << a.backward_ms_min << "," << a.repeats
                << "," << a.gflops_forward << "," << a.workspace_bytes << ","
                << a.workspace_bytes_allocated << "," << r.costs.weight_bytes << ","
                << r.costs.activation_bytes << "," << a.speedup_forward << "," << a.speedup_backward
                << "," << a.max_abs_diff << "," << a.max_rel_diff << ","
                << a.flops_forward_performed << "," << a.error_bound << "\n";
    }
  }
}

std::string sweep_axis_label(const std::string& parameter) {
  if (parameter == "size") return "input height = width (pixels)";
  if (parameter == "batch") return "batch size N";
  if (parameter == "kernel") return "kernel size K (padding K/2)";
  return "channels in = out";
}

// Latency of every algorithm (one colour each; forward solid, backward dashed) and memory.
std::string render_sweep_chart(const std::string& parameter,
                               const std::vector<ConvResult>& results) {
  std::vector<io::ChartSeries> latency;
  for (size_t i = 0; i < kernels::kConvAlgos.size(); ++i) {
    const std::string name(kernels::to_string(kernels::kConvAlgos[i]));
    io::ChartSeries fwd{name + " forward", {}, false, static_cast<int>(i)};
    io::ChartSeries bwd{name + " backward", {}, true, static_cast<int>(i)};
    for (const auto& r : results) {
      const AlgoResult* a = r.find(kernels::kConvAlgos[i]);
      if (!a) continue;
      const double x = static_cast<double>(profile::sweep_value(parameter, r.c.g));
      fwd.points.push_back({x, a->forward_ms_median});
      bwd.points.push_back({x, a->backward_ms_median});
    }
    if (fwd.points.empty()) continue;
    latency.push_back(std::move(fwd));
    latency.push_back(std::move(bwd));
  }
  io::ChartSeries textbook{"im2col matrix (textbook, whole batch)", {}, false, 1},
      allocated{"im2col scratch allocated (measured)", {}, true, 1},
      output{"output activations", {}, false, 3};
  constexpr double kMiB = 1048576.0;
  for (const auto& r : results) {
    const double x = static_cast<double>(profile::sweep_value(parameter, r.c.g));
    if (const AlgoResult* a = r.find(kernels::ConvAlgo::Im2col)) {
      textbook.points.push_back({x, static_cast<double>(a->workspace_bytes) / kMiB});
      allocated.points.push_back({x, static_cast<double>(a->workspace_bytes_allocated) / kMiB});
    }
    output.points.push_back({x, static_cast<double>(r.costs.activation_bytes) / kMiB});
  }
  const std::string xlabel = sweep_axis_label(parameter);
  return io::render_svg_chart(
      "tinycnn profile --conv --sweep " + parameter +
          " (base: 16->32 channels, 3x3, pad 1, "
          "32x32, batch " +
          std::to_string(results.front().c.g.batch) + ")",
      {{"Latency (median)", xlabel, "milliseconds (log scale)", true, latency},
       {"Memory", xlabel, "MiB", false, {textbook, allocated, output}}});
}

std::vector<profile::ConvCase> conv_cases(const ProfileOptions& o) {
  if (!o.sweep.empty()) return profile::sweep_cases(o.sweep, o.batch > 0 ? o.batch : 8);
  if (!o.config.empty()) {
    auto cases =
        profile::model_conv_cases(model::load_config(o.config), o.batch > 0 ? o.batch : 64);
    TCNN_CHECK(!cases.empty(), o.config, ": the model has no conv2d layer to profile");
    return cases;
  }
  auto cases = profile::default_conv_cases();
  if (o.batch > 0) {
    for (auto& c : cases) c.g.batch = o.batch;
  }
  return cases;
}

void print_conv_json(const std::vector<ConvResult>& results, const profile::Peak& peak,
                     double bf16_peak, int threads, const ordered_json& roofline) {
  ordered_json doc = {{"machine",
                       {{"cpu", core::cpu_model()},
                        {"threads", threads},
                        {"blas_core", kernels::blas_core_name()},
                        {"peak_gflops", peak.gflops},
                        {"peak_busy", peak.contention.busy()},
                        {"load_average", peak.contention.load_average}}},
                      {"busy", !busy_summary(results, peak).empty()},
                      {"cases", ordered_json::array()}};
  if (bf16_peak > 0) doc["machine"]["bf16_peak_gflops"] = bf16_peak;
  for (const auto& r : results) doc["cases"].push_back(case_json(r));
  if (!roofline.is_null()) doc["roofline"] = roofline;
  std::cout << doc.dump(-1, ' ', false, kReplaceInvalidUtf8) << "\n";
}

// --precision with --conv: bf16 adds the bf16 rows; float32 (the default) changes nothing.
bool bf16_rows(const ProfileOptions& o) {
  return o.precision && kernels::precision_from_string(*o.precision) == kernels::Precision::Bf16;
}

int run_conv(const ProfileOptions& o) {
  if (!o.plot.empty()) io::check_writable(o.plot);  // before the sweep, not after it
  if (!o.roofline.empty()) io::check_writable(o.roofline);
  const std::vector<profile::ConvCase> cases = conv_cases(o);
  const int threads = omp_get_max_threads();
  // The FMA probe runs twice: first it also absorbs the start-up period in which the BLAS
  // library's idle threads still compete for the cores (it skewed the first case's times).
  profile::Peak peak = profile::measure_peak_gflops(threads);
  const profile::HeapProbe probe{heap_reset_peak, heap_peak_extra_bytes};
  std::vector<ConvResult> results;
  results.reserve(cases.size());
  for (const auto& c : cases) {
    results.push_back(profile::profile_conv(c, {.warmup = o.warmup,
                                                .repeats = o.repeats,
                                                .threads = threads,
                                                .probe = &probe,
                                                .directions = !o.roofline.empty(),
                                                .bf16 = bf16_rows(o)}));
  }
  peak = better_peak(peak, profile::measure_peak_gflops(threads));
  profile::Ceilings ceilings;
  std::vector<profile::RooflinePoint> points;
  if (!o.roofline.empty()) {
    ceilings = profile::measure_ceilings(threads);
    ceilings.fma = better_peak(peak, ceilings.fma);
    peak = ceilings.fma;
    points = profile::conv_roofline_points(results);
  }
  std::string busy = busy_summary(results, peak);
  if (busy.empty() && ceilings.busy()) busy = busy_text(1, ceilings.dram.contention);
  if (o.strict) refuse_if_busy(busy);
  if (!o.plot.empty()) io::write_file_atomically(o.plot, render_sweep_chart(o.sweep, results));
  if (!o.roofline.empty()) {
    io::write_file_atomically(
        o.roofline, profile::render_roofline_svg(
                        "tinycnn profile --conv: " + std::to_string(results.size()) + " cases, " +
                            std::to_string(threads) + " threads (" + core::cpu_model() + ")",
                        ceilings, points, "algorithm"));
  }
  const double bf16_peak = bf16_rows(o) ? profile::measure_bf16_peak_gflops(threads).gflops : 0.0;
  if (o.json) {
    print_conv_json(results, peak, bf16_peak, threads,
                    o.roofline.empty() ? ordered_json() : roofline_json(ceilings, points));
  } else if (o.csv) {
    print_conv_csv(results);
  } else {
    std::cout << "machine: " << core::cpu_model() << ", " << threads << " threads, OpenBLAS core "
              << kernels::blas_core_name() << "\n\n";
    print_conv_table(results, peak, bf16_peak, o);
    if (!o.roofline.empty()) print_roofline_summary(ceilings, points, "algorithm", o.roofline);
  }
  return kExitOk;
}

}  // namespace

CLI::App* setup_profile(CLI::App& app, ProfileOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("profile", "Profile convolution algorithms or a training step");
  auto* conv = cmd->add_flag("--conv", o.conv, "The convolution algorithms, side by side");
  auto* model =
      cmd->add_option("--model", o.model, "Per-layer profile of one training step of CONFIG");
  conv->excludes(model);
  cmd->add_option("--int8", o.int8,
                  "With --model: time this int8 model (tinycnn quantize) for inference, layer by "
                  "layer beside the float model")
      ->needs(model);
  cmd->add_option("--precision", o.precision,
                  "float32 or bf16: the products of --model's step (training.precision); "
                  "bf16 adds bf16 rows to --conv");
  cmd->add_option("--config", o.config, "With --conv: profile this model's conv layers")
      ->needs(conv);
  cmd->add_option("--batch", o.batch, "Batch size")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--repeats", o.repeats, "Timed runs (median and min reported)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--warmup", o.warmup, "Untimed runs first")->check(CLI::Range(0, 100));
  auto* sweep = cmd->add_option("--sweep", o.sweep, "Vary one parameter")
                    ->check(CLI::IsMember({"size", "batch", "kernel", "channels"}))
                    ->needs(conv);
  cmd->add_option("--plot", o.plot, "With --sweep: write an SVG chart to FILE")->needs(sweep);
  cmd->add_option("--roofline", o.roofline,
                  "Write the roofline (each direction's FLOP/byte against GFLOP/s, under the "
                  "measured FMA peak and memory bandwidth) to FILE.svg");
  auto* json = cmd->add_flag("--json", o.json, "Print one JSON document on stdout");
  cmd->add_flag("--csv", o.csv, "With --conv: CSV on stdout")->excludes(json)->needs(conv);
  cmd->add_flag("--strict", o.strict,
                "Exit 1 instead of reporting timings taken while the machine was busy");
  return cmd;
}

int run_profile(const ProfileOptions& o) {
  TCNN_CHECK(o.conv || !o.model.empty(), "profile: expected --conv or --model CONFIG");
  if (o.conv) return run_conv(o);
  return o.int8.empty() ? run_profile_model(o) : run_profile_int8(o);
}

}  // namespace tinycnn::cli
