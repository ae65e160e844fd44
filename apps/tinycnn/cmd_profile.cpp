// `tinycnn profile --conv | --model CONFIG`: naive versus im2col convolution (cases, a model's
// conv layers, or a sweep with an SVG chart), and a per-layer profile of one training step.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/error.hpp"
#include "format.hpp"
#include "heap_counter.hpp"
#include "kernels/gemm.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "profile/conv_profile.hpp"
#include "profile/step_profile.hpp"
#include "profile/timing.hpp"
#include "svg_chart.hpp"
#include "train/data_parallel.hpp"
#include "train/schedule.hpp"

namespace tinycnn::cli {

namespace {
using nlohmann::ordered_json;
using profile::AlgoResult;
using profile::ConvResult;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

ordered_json pair_or_int(int64_t a, int64_t b) {
  return a == b ? ordered_json(a) : ordered_json::array({a, b});
}

ordered_json algo_json(const AlgoResult& r, const profile::ConvCosts& c) {
  return {{"forward_ms_median", r.forward_ms_median},
          {"forward_ms_min", r.forward_ms_min},
          {"backward_ms_median", r.backward_ms_median},
          {"backward_ms_min", r.backward_ms_min},
          {"repeats", r.repeats},
          {"gflops_forward", r.gflops_forward},
          {"workspace_bytes", r.workspace_bytes},
          {"workspace_bytes_allocated", r.workspace_bytes_allocated},
          {"weight_bytes", c.weight_bytes},
          {"activation_bytes", c.activation_bytes}};
}

ordered_json results_json(const ConvResult& r) {
  ordered_json j{{"naive", algo_json(r.naive, r.costs)}, {"im2col", algo_json(r.im2col, r.costs)}};
  if (r.implicit) j["implicit"] = algo_json(*r.implicit, r.costs);
  return j;
}

ordered_json case_json(const ConvResult& r) {
  const auto& g = r.c.g;
  return {{"name", r.c.name},
          {"input_shape", {g.batch, g.in_channels, g.in_h, g.in_w}},
          {"out_channels", g.out_channels},
          {"kernel_size", pair_or_int(g.kernel_h, g.kernel_w)},
          {"stride", pair_or_int(g.stride_h, g.stride_w)},
          {"padding", pair_or_int(g.pad_h, g.pad_w)},
          {"groups", g.groups},
          {"flops_forward", r.costs.flops_forward},
          {"results", results_json(r)},
          {"speedup_forward", r.speedup_forward},
          {"speedup_backward", r.speedup_backward},
          {"max_abs_diff", r.max_abs_diff},
          {"max_rel_diff", r.max_rel_diff}};
}

void print_conv_table(const std::vector<ConvResult>& results, double peak, const ProfileOptions& o) {
  TextTable t({"case", "input", "OC", "k/s/p", "MFLOP", "fwd naive ms", "fwd im2col ms", "speedup",
               "bwd naive ms", "bwd im2col ms", "speedup", "im2col GFLOP/s", "% peak",
               "im2col ws (textbook)", "allocated", "fwd implicit ms", "bwd implicit ms",
               "implicit GFLOP/s", "% peak", "max rel diff"},
              {false, false, true, false, true, true, true, true, true, true, true, true, true,
               true, true, true, true, true, true, true});
  for (const auto& r : results) {
    const auto& g = r.c.g;
    t.add({r.c.name,
           "[" + std::to_string(g.batch) + "," + std::to_string(g.in_channels) + "," +
               std::to_string(g.in_h) + "," + std::to_string(g.in_w) + "]",
           std::to_string(g.out_channels),
           std::to_string(g.kernel_h) + "/" + std::to_string(g.stride_h) + "/" + std::to_string(g.pad_h),
           fmt("%.1f", r.costs.flops_forward / 1e6), fmt("%.3f", r.naive.forward_ms_median),
           fmt("%.3f", r.im2col.forward_ms_median), fmt("%.1fx", r.speedup_forward),
           fmt("%.3f", r.naive.backward_ms_median), fmt("%.3f", r.im2col.backward_ms_median),
           fmt("%.1fx", r.speedup_backward), fmt("%.1f", r.im2col.gflops_forward),
           fmt("%.0f%%", peak > 0 ? 100 * r.im2col.gflops_forward / peak : 0),
           human_bytes(r.im2col.workspace_bytes), human_bytes(r.im2col.workspace_bytes_allocated),
           r.implicit ? fmt("%.3f", r.implicit->forward_ms_median) : "-",
           r.implicit ? fmt("%.3f", r.implicit->backward_ms_median) : "-",
           r.implicit ? fmt("%.1f", r.implicit->gflops_forward) : "-",
           r.implicit && peak > 0 ? fmt("%.0f%%", 100 * r.implicit->gflops_forward / peak) : "-",
           fmt("%.1e", r.max_rel_diff)});
  }
  std::cout << t.render();
  std::cout << "\ntimes: median of " << o.repeats << " runs after " << o.warmup
            << " warm-up (naive: fewer when one run exceeds 1 s); backward = dinput + dweight + "
               "dbias; speedup = naive / im2col; implicit = implicit GEMM (stride 1 only; what "
               "configs/lenet5.json trains with); peak = "
            << fmt("%.0f", peak) << " GFLOP/s measured (FMA loop, " << omp_get_max_threads()
            << " threads); allocated = measured peak extra heap during one call\n";
}

void print_conv_csv(const std::vector<ConvResult>& results) {
  std::cout << "case,algo,n,c,h,w,out_channels,kh,kw,stride,padding,groups,flops_forward,"
               "forward_ms_median,forward_ms_min,backward_ms_median,backward_ms_min,repeats,"
               "gflops_forward,workspace_bytes,workspace_bytes_allocated,weight_bytes,"
               "activation_bytes,speedup_forward,speedup_backward,max_abs_diff,max_rel_diff\n";
  for (const auto& r : results) {
    const auto& g = r.c.g;
    std::vector<std::pair<const char*, AlgoResult>> algos{{"naive", r.naive}, {"im2col", r.im2col}};
    if (r.implicit) algos.emplace_back("implicit", *r.implicit);
    for (const auto& [name, a] : algos) {
      std::cout << r.c.name << "," << name << "," << g.batch << "," << g.in_channels << ","
                << g.in_h << "," << g.in_w << "," << g.out_channels << "," << g.kernel_h << ","
                << g.kernel_w << "," << g.stride_h << "," << g.pad_h << "," << g.groups << ","
                << r.costs.flops_forward << "," << a.forward_ms_median << "," << a.forward_ms_min
                << "," << a.backward_ms_median << "," << a.backward_ms_min << "," << a.repeats
                << "," << a.gflops_forward << "," << a.workspace_bytes << ","
                << a.workspace_bytes_allocated << "," << r.costs.weight_bytes << ","
                << r.costs.activation_bytes << "," << r.speedup_forward << ","
                << r.speedup_backward << "," << r.max_abs_diff << "," << r.max_rel_diff << "\n";
    }
  }
}

void write_sweep_plot(const std::string& path, const std::string& parameter,
                      const std::vector<ConvResult>& results) {
  TCNN_CHECK(!results.empty(), "--plot: nothing to plot");
  // Same colour per algorithm; forward solid, backward dashed.
  ChartSeries nf{"naive forward", {}, false, 0}, inf{"im2col forward", {}, false, 1};
  ChartSeries nb{"naive backward", {}, true, 0}, ib{"im2col backward", {}, true, 1};
  ChartSeries textbook{"im2col matrix (textbook, whole batch)", {}, false, 1},
      allocated{"im2col scratch allocated (measured)", {}, true, 1},
      output{"output activations", {}, false, 2};
  for (const auto& r : results) {
    const double x = static_cast<double>(profile::sweep_value(parameter, r.c.g));
    nf.points.push_back({x, r.naive.forward_ms_median});
    inf.points.push_back({x, r.im2col.forward_ms_median});
    nb.points.push_back({x, r.naive.backward_ms_median});
    ib.points.push_back({x, r.im2col.backward_ms_median});
    textbook.points.push_back({x, r.im2col.workspace_bytes / 1048576.0});
    allocated.points.push_back({x, r.im2col.workspace_bytes_allocated / 1048576.0});
    output.points.push_back({x, r.costs.activation_bytes / 1048576.0});
  }
  const std::string xlabel = parameter == "size" ? "input height = width (pixels)"
                             : parameter == "batch" ? "batch size N"
                             : parameter == "kernel" ? "kernel size K (padding K/2)"
                                                     : "channels in = out";
  const std::string svg = render_svg_chart(
      "tinycnn profile --conv --sweep " + parameter + " (base: 16->32 channels, 3x3, pad 1, "
          "32x32, batch " + std::to_string(results.front().c.g.batch) + ")",
      {{"Latency (median)", xlabel, "milliseconds (log scale)", true, {nf, inf, nb, ib}},
       {"Memory", xlabel, "MiB", false, {textbook, allocated, output}}});
  std::ofstream out(path);
  out << svg;
  out.flush();
  TCNN_CHECK_RUNTIME(out.good(), path, ": cannot write the chart");
}

int run_conv(const ProfileOptions& o) {
  std::vector<profile::ConvCase> cases;
  if (!o.sweep.empty()) {
    cases = profile::sweep_cases(o.sweep, o.batch > 0 ? o.batch : 8);
  } else if (!o.config.empty()) {
    cases = profile::model_conv_cases(model::load_config(o.config), o.batch > 0 ? o.batch : 64);
    TCNN_CHECK(!cases.empty(), o.config, ": the model has no conv2d layer to profile");
  } else {
    cases = profile::default_conv_cases();
    if (o.batch > 0) {
      for (auto& c : cases) c.g.batch = o.batch;
    }
  }
  const int threads = omp_get_max_threads();
  // The FMA probe runs twice: first it also absorbs the start-up period in which the BLAS
  // library's idle threads still compete for the cores (it skewed the first case's times).
  double peak = profile::measure_peak_gflops(threads);
  const profile::HeapProbe probe{heap_reset_peak, heap_peak_extra_bytes};
  std::vector<ConvResult> results;
  for (const auto& c : cases) {
    results.push_back(profile::profile_conv(
        c, {.warmup = o.warmup, .repeats = o.repeats, .threads = threads, .probe = &probe}));
  }
  peak = std::max(peak, profile::measure_peak_gflops(threads));
  if (!o.plot.empty()) write_sweep_plot(o.plot, o.sweep, results);
  if (o.json) {
    ordered_json doc = {{"machine",
                         {{"cpu", cpu_model()},
                          {"threads", threads},
                          {"blas_core", kernels::blas_core_name()},
                          {"peak_gflops", peak}}},
                        {"cases", ordered_json::array()}};
    for (const auto& r : results) doc["cases"].push_back(case_json(r));
    std::cout << doc.dump() << "\n";
  } else if (o.csv) {
    print_conv_csv(results);
  } else {
    std::cout << "machine: " << cpu_model() << ", " << threads << " threads, OpenBLAS core "
              << kernels::blas_core_name() << "\n\n";
    print_conv_table(results, peak, o);
  }
  return kExitOk;
}

ordered_json memory_json(const profile::StepMemory& m) {
  return {{"batch", m.batch},           {"params_bytes", m.params},
          {"grads_bytes", m.grads},     {"optimizer_state_bytes", m.optimizer_state},
          {"activations_bytes", m.activations}, {"saved_columns_bytes", m.saved_columns},
          {"workspace_bytes", m.workspace},
          {"total_bytes", m.total()}};
}

// One step as `train` runs it: the batch split across the threads, each slice through the whole
// model (train::DataParallelStep), then the optimizer step. Random inputs, median wall time.
profile::TimingStats time_train_step(const model::ModelSpec& spec, nn::Sequential& net,
                                     optim::Optimizer& optimizer, int64_t batch, int warmup,
                                     int repeats, int threads) {
  const tensor::Shape in = model::input_shape(spec);
  const int64_t k = net.output_shape(in)[0];
  const int64_t plane = in.numel();
  core::Rng rng(spec.training.seed);
  std::vector<float> pixels(static_cast<size_t>(batch * plane));
  for (float& v : pixels) v = static_cast<float>(rng.normal(0.0, 1.0));
  train::DataParallelStep step(spec, net, threads);
  auto fill = [&](int64_t begin, int64_t end, tensor::Tensor& images,
                  std::vector<int32_t>& labels) {
    const tensor::Shape shape({end - begin, in[0], in[1], in[2]});
    if (!images.defined() || images.shape() != shape) images = tensor::Tensor::empty(shape);
    std::copy(pixels.begin() + begin * plane, pixels.begin() + end * plane, images.data());
    labels.resize(static_cast<size_t>(end - begin));
    for (int64_t i = begin; i < end; ++i) labels[static_cast<size_t>(i - begin)] = static_cast<int32_t>(i % k);
  };
  return profile::time_it(
      [&] {
        step.run(batch, fill);
        optimizer.step();
      },
      warmup, repeats);
}

int run_model(const ProfileOptions& o) {
  const model::ModelSpec spec = model::load_config(o.model);
  auto net = model::build_model(spec);
  auto optimizer = train::make_optimizer(spec.training.optimizer, net->parameters());
  const int64_t batch = o.batch > 0 ? o.batch : spec.training.batch_size;
  const int threads = omp_get_max_threads();
  const profile::StepProfile p =
      profile::profile_step(spec, *net, *optimizer, batch, o.warmup, o.repeats, threads);
  const profile::TimingStats train_step =
      time_train_step(spec, *net, *optimizer, batch, o.warmup, o.repeats, threads);
  size_t slowest = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    if (p.layers[i].percent > p.layers[slowest].percent) slowest = i;
  }
  if (o.json) {
    ordered_json layers = ordered_json::array();
    for (const auto& l : p.layers) {
      layers.push_back({{"index", l.index}, {"type", l.type}, {"forward_ms", l.forward_ms},
                        {"backward_ms", l.backward_ms}, {"percent", l.percent},
                        {"gflops", l.gflops}});
    }
    ordered_json by_batch = ordered_json::array();
    for (const auto& m : p.memory_by_batch) by_batch.push_back(memory_json(m));
    std::cout << ordered_json{{"model", spec.name}, {"batch", batch}, {"threads", threads},
                              {"repeats", p.repeats}, {"layers", layers}, {"loss_ms", p.loss_ms},
                              {"optimizer_ms", p.optimizer_ms}, {"step_ms", p.step_ms},
                              {"train_step_ms", train_step.median_ms},
                              {"slowest_layer", p.layers[slowest].index},
                              {"memory", memory_json(p.memory)}, {"memory_by_batch", by_batch}}
                     .dump()
              << "\n";
    return kExitOk;
  }
  std::cout << "model " << spec.name << ": one training step at batch " << batch << ", "
            << threads << " threads, median of " << p.repeats << " after " << o.warmup
            << " warm-up\n\n";
  TextTable t({"#", "layer", "forward ms", "backward ms", "% of step", "GFLOP/s"},
              {true, false, true, true, true, true});
  for (const auto& l : p.layers) {
    t.add({std::to_string(l.index), l.description, fmt("%.3f", l.forward_ms),
           fmt("%.3f", l.backward_ms), fmt("%.1f%%", l.percent),
           l.gflops > 0 ? fmt("%.1f", l.gflops) : ""});
  }
  t.add({"", "softmax cross-entropy", "", "", fmt("%.1f%%", 100 * p.loss_ms / p.step_ms), ""});
  t.add({"", "optimizer step", "", "", fmt("%.1f%%", 100 * p.optimizer_ms / p.step_ms), ""});
  t.add({"", "total step", "", "", "100.0%", ""});
  std::cout << t.render();
  std::cout << "step: " << fmt("%.3f", p.step_ms) << " ms (" << fmt("%.0f", batch * 1e3 / p.step_ms)
            << " images/s); slowest layer: " << p.layers[slowest].index << " ("
            << p.layers[slowest].description << ", " << fmt("%.1f", p.layers[slowest].percent)
            << "% of the step)\n";
  std::cout << "as `train` runs it (the batch in " << std::min<int64_t>(threads, batch)
            << " slices, one per thread, each through the whole model): "
            << fmt("%.3f", train_step.median_ms) << " ms ("
            << fmt("%.0f", batch * 1e3 / train_step.median_ms) << " images/s)\n"
            << "\nmemory of a step (analytic):\n";
  TextTable m({"batch", "params", "grads", "optimizer", "activations", "saved im2col columns",
               "conv scratch", "total"},
              std::vector<bool>(8, true));
  auto add_row = [&](const profile::StepMemory& s) {
    m.add({std::to_string(s.batch), human_bytes(s.params), human_bytes(s.grads),
           human_bytes(s.optimizer_state), human_bytes(s.activations),
           human_bytes(s.saved_columns), human_bytes(s.workspace),
           human_bytes(s.total())});
  };
  add_row(p.memory);
  for (const auto& s : p.memory_by_batch) {
    if (s.batch != batch) add_row(s);
  }
  std::cout << m.render();
  return kExitOk;
}
}  // namespace

CLI::App* setup_profile(CLI::App& app, ProfileOptions& o) {
  CLI::App* cmd = app.add_subcommand("profile", "Profile convolution algorithms or a training step");
  auto* conv = cmd->add_flag("--conv", o.conv, "Naive vs im2col convolution, side by side");
  auto* model = cmd->add_option("--model", o.model, "Per-layer profile of one training step of CONFIG");
  conv->excludes(model);
  cmd->add_option("--config", o.config, "With --conv: profile this model's conv layers")->needs(conv);
  cmd->add_option("--batch", o.batch, "Batch size")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--repeats", o.repeats, "Timed runs (median and min reported)")->check(CLI::Range(1, 1000));
  cmd->add_option("--warmup", o.warmup, "Untimed runs first")->check(CLI::Range(0, 100));
  auto* sweep = cmd->add_option("--sweep", o.sweep, "Vary one parameter")
                    ->check(CLI::IsMember({"size", "batch", "kernel", "channels"}))
                    ->needs(conv);
  cmd->add_option("--plot", o.plot, "With --sweep: write an SVG chart to FILE")->needs(sweep);
  auto* json = cmd->add_flag("--json", o.json, "Print one JSON document on stdout");
  cmd->add_flag("--csv", o.csv, "With --conv: CSV on stdout")->excludes(json)->needs(conv);
  return cmd;
}

int run_profile(const ProfileOptions& o) {
  TCNN_CHECK(o.conv || !o.model.empty(), "profile: expected --conv or --model CONFIG");
  return o.conv ? run_conv(o) : run_model(o);
}

}  // namespace tinycnn::cli
