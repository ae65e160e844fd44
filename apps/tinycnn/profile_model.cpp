// `tinycnn profile --model CONFIG`: one training step timed layer by layer, then as `train`
// runs it, then the memory estimate `train` checks; as a table or one JSON document.
#include <omp.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "busy.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "flags.hpp"
#include "format.hpp"
#include "io/atomic_file.hpp"
#include "json_out.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "profile/roofline.hpp"
#include "profile/step_profile.hpp"
#include "roofline_report.hpp"
#include "train/memory_check.hpp"
#include "train/optimizer_config.hpp"

namespace tinycnn::cli {

namespace {
using nlohmann::ordered_json;

ordered_json memory_json(const train::MemoryEstimate& m) {
  return {{"batch", m.batch},
          {"params_bytes", m.weights},
          {"grads_bytes", m.gradients},
          {"optimizer_state_bytes", m.optimizer_state},
          {"activations_bytes", m.activations},
          {"activation_gradients_bytes", m.activation_gradients},
          {"saved_columns_bytes", m.saved_columns},
          {"workspace_bytes", m.workspace},
          {"total_bytes", m.total()}};
}

size_t slowest_layer(const profile::StepProfile& p) {
  size_t slowest = 0;
  for (size_t i = 0; i < p.layers.size(); ++i) {
    if (p.layers[i].depth == 0 && p.layers[i].percent > p.layers[slowest].percent) slowest = i;
  }
  return slowest;
}

// "" when both measurements had the cores to themselves; else what was seen.
std::string step_busy_summary(const profile::StepProfile& p,
                              const profile::TimingStats& train_step) {
  const int busy = (p.contention.busy() ? 1 : 0) + (train_step.contention.busy() ? 1 : 0);
  if (busy == 0) return "";
  return busy_text(busy, p.contention.wait_share() > train_step.contention.wait_share()
                             ? p.contention
                             : train_step.contention);
}

void print_model_json(const model::ModelSpec& spec, const profile::StepProfile& p, int64_t batch,
                      int threads, const profile::TimingStats& train_step,
                      const ordered_json& roofline) {
  const double train_step_ms = train_step.median_ms;
  ordered_json layers = ordered_json::array();
  for (const auto& l : p.layers) {
    layers.push_back({{"index", l.index},
                      {"name", l.name},
                      {"depth", l.depth},
                      {"type", l.type},
                      {"algorithm", l.plan_summary},
                      {"forward_ms", l.forward_ms},
                      {"backward_ms", l.backward_ms},
                      {"percent", l.percent},
                      {"gflops", l.gflops}});
  }
  ordered_json by_batch = ordered_json::array();
  for (const auto& m : p.memory_by_batch) by_batch.push_back(memory_json(m));
  ordered_json doc{{"model", spec.name},
                   {"batch", batch},
                   {"threads", threads},
                   {"repeats", p.repeats},
                   {"layers", layers},
                   {"loss_ms", p.loss_ms},
                   {"optimizer_ms", p.optimizer_ms},
                   {"step_ms", p.step_ms},
                   {"train_step_ms", train_step_ms},
                   {"busy", p.contention.busy() || train_step.contention.busy()},
                   {"contention",
                    {{"layers", contention_json(p.contention)},
                     {"train_step", contention_json(train_step.contention)}}},
                   {"slowest_layer", p.layers[slowest_layer(p)].index},
                   {"memory", memory_json(p.memory)},
                   {"memory_by_batch", by_batch}};
  if (!roofline.is_null()) doc["roofline"] = roofline;
  std::cout << doc.dump(-1, ' ', false, kReplaceInvalidUtf8) << "\n";
}

void print_layer_table(const profile::StepProfile& p, int64_t batch) {
  const std::string star = p.contention.busy() ? "*" : "";
  TextTable t({"#", "layer", "forward ms", "backward ms", "% of step", "GFLOP/s",
               "plan (fwd / dinput / dweight)"},
              {true, false, true, true, true, true, false});
  for (const auto& l : p.layers) {
    t.add({std::to_string(l.index),
           std::string(static_cast<size_t>(2 * l.depth), ' ') + l.description,
           fmt("%.3f", l.forward_ms) + star, fmt("%.3f", l.backward_ms) + star,
           fmt("%.1f%%", l.percent), l.gflops > 0 ? fmt("%.1f", l.gflops) : "", l.plan_summary});
  }
  t.add({"", "softmax cross-entropy", "", "", fmt("%.1f%%", 100 * p.loss_ms / p.step_ms), "", ""});
  t.add({"", "optimizer step", "", "", fmt("%.1f%%", 100 * p.optimizer_ms / p.step_ms), "", ""});
  t.add({"", "total step", "", "", "100.0%", "", ""});
  std::cout << t.render();
  const auto& slowest = p.layers[slowest_layer(p)];
  std::cout << "step: " << fmt("%.3f", p.step_ms) << " ms ("
            << fmt("%.0f", static_cast<double>(batch) * 1e3 / p.step_ms)
            << " images/s); slowest layer: " << slowest.index << " (" << slowest.description << ", "
            << fmt("%.1f", slowest.percent) << "% of the step)\n";
}

void print_memory_table(const profile::StepProfile& p, int64_t batch) {
  TextTable m({"batch", "params", "grads", "optimizer", "activations", "their grads",
               "saved im2col columns", "conv scratch", "total"},
              std::vector<bool>(9, true));
  auto add_row = [&](const train::MemoryEstimate& s) {
    m.add({std::to_string(s.batch), human_bytes(s.weights), human_bytes(s.gradients),
           human_bytes(s.optimizer_state), human_bytes(s.activations),
           human_bytes(s.activation_gradients), human_bytes(s.saved_columns),
           human_bytes(s.workspace), human_bytes(s.total())});
  };
  add_row(p.memory);
  for (const auto& s : p.memory_by_batch) {
    if (s.batch != batch) add_row(s);
  }
  std::cout << m.render();
}

}  // namespace

int run_profile_model(const ProfileOptions& o) {
  const model::ModelSpec spec = resolve_config(o.model, [&](model::Json& t) {
    if (o.precision) t["precision"] = *o.precision;
  });
  const int64_t batch = o.batch > 0 ? o.batch : spec.training.batch_size;
  train::check_memory(train::estimate_memory(spec, train::Purpose::Training, batch, 0),
                      "profiling " + spec.name);
  if (!o.roofline.empty()) io::check_writable(o.roofline);
  auto net = model::build_model(spec);
  auto optimizer = train::make_optimizer(spec.training.optimizer, net->parameters());
  const int threads = omp_get_max_threads();
  const profile::StepProfile p =
      profile::profile_step(spec, *net, *optimizer, batch, o.warmup, o.repeats, threads);
  const profile::TimingStats train_step =
      profile::time_train_step(spec, *net, *optimizer, batch, o.warmup, o.repeats, threads);
  profile::Ceilings ceilings;
  std::vector<profile::RooflinePoint> points;
  if (!o.roofline.empty()) {
    points = profile::model_roofline_points(spec, p, batch, o.warmup, o.repeats, threads);
    ceilings = profile::measure_ceilings(threads);
  }
  std::string busy = step_busy_summary(p, train_step);
  if (busy.empty() && ceilings.busy()) busy = busy_text(1, ceilings.dram.contention);
  if (o.strict) refuse_if_busy(busy);
  if (!o.roofline.empty()) {
    io::write_file_atomically(
        o.roofline, profile::render_roofline_svg(
                        "tinycnn profile --model " + spec.name + ": one training step at batch " +
                            std::to_string(batch) + ", " + std::to_string(threads) + " threads",
                        ceilings, points, "kind"));
  }
  if (o.json) {
    print_model_json(spec, p, batch, threads, train_step,
                     o.roofline.empty() ? ordered_json() : roofline_json(ceilings, points));
    return kExitOk;
  }
  std::cout << "model " << spec.name << ": one training step at batch " << batch << ", " << threads
            << " threads, median of " << p.repeats << " after " << o.warmup << " warm-up\n\n";
  print_layer_table(p, batch);
  std::cout << "as `train` runs it (the batch in " << std::min<int64_t>(threads, batch)
            << " slices, one per thread, each through the whole model): "
            << fmt("%.3f", train_step.median_ms) << (train_step.contention.busy() ? "*" : "")
            << " ms (" << fmt("%.0f", static_cast<double>(batch) * 1e3 / train_step.median_ms)
            << " images/s)\n\nmemory of a step (analytic):\n";
  print_memory_table(p, batch);
  if (!o.roofline.empty()) print_roofline_summary(ceilings, points, "kind", o.roofline);
  if (!busy.empty()) std::cout << "\n* " << busy << "\n";
  return kExitOk;
}
}  // namespace tinycnn::cli
