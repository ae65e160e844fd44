// `tinycnn profile --model CONFIG --int8 FILE`: the int8 model's inference forward layer by
// layer beside the float model it was quantized from (the checkpoint's weights are not needed
// for timing: the float model runs its initial weights), and both whole; as a table or JSON.
#include <omp.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "busy.hpp"
#include "commands.hpp"
#include "format.hpp"
#include "json_out.hpp"
#include "loaded_model.hpp"
#include "model/builder.hpp"
#include "model/spec.hpp"
#include "profile/int8_profile.hpp"
#include "train/memory_check.hpp"

namespace tinycnn::cli {

namespace {
using nlohmann::ordered_json;

std::string ratio(double f, double q) { return q > 0 ? fmt("%.2fx", f / q) : "-"; }

void print_int8_json(const model::ModelSpec& spec, const profile::Int8Profile& p, int64_t batch,
                     int threads, const std::string& busy) {
  ordered_json layers = ordered_json::array();
  for (const auto& l : p.layers) {
    layers.push_back({{"layer", l.name},
                      {"covers", l.covers},
                      {"depth", l.depth},
                      {"float32_ms", l.float_ms},
                      {"int8_ms", l.int8_ms}});
  }
  std::cout << ordered_json{{"model", spec.name},
                            {"batch", batch},
                            {"threads", threads},
                            {"repeats", p.repeats},
                            {"layers", layers},
                            {"float32_forward_ms", p.float_forward_ms},
                            {"int8_forward_ms", p.int8_forward_ms},
                            {"busy", busy.empty() ? ordered_json() : ordered_json(busy)}}
                   .dump(-1, ' ', false, kReplaceInvalidUtf8)
            << "\n";
}
}  // namespace

int run_profile_int8(const ProfileOptions& o) {
  const model::ModelSpec spec = model::load_config(o.model);
  const int64_t batch = o.batch > 0 ? o.batch : spec.training.batch_size;
  train::check_memory(train::estimate_memory(spec, train::Purpose::Evaluation, batch, 0),
                      "profiling " + spec.name);
  const quant::Int8Model q = load_int8_of(spec, o.int8);
  auto net = model::build_model(spec);
  const int threads = omp_get_max_threads();
  const profile::Int8Profile p = profile::profile_int8(*net, q.net, model::input_shape(spec), batch,
                                                       o.warmup, o.repeats, threads);
  const std::string busy = p.contention.busy() ? busy_text(1, p.contention) : "";
  if (o.strict) refuse_if_busy(busy);
  if (o.json) {
    print_int8_json(spec, p, batch, threads, busy);
    return kExitOk;
  }
  std::cout << "model " << spec.name << ": inference at batch " << batch << ", " << threads
            << " threads, float32 beside int8 (" << o.int8 << "), median of " << p.repeats
            << " after " << o.warmup << " warm-up\n\n";
  TextTable table({"layer", "float32 layers", "float32 ms", "int8 ms", "speed-up"},
                  {false, false, true, true, true});
  for (const auto& l : p.layers) {
    table.add({std::string(static_cast<size_t>(2 * l.depth), ' ') + l.name, l.covers,
               fmt("%.3f", l.float_ms), fmt("%.3f", l.int8_ms), ratio(l.float_ms, l.int8_ms)});
  }
  std::cout << table.render() << "\nthe whole forward: float32 " << fmt("%.3f", p.float_forward_ms)
            << " ms, int8 " << fmt("%.3f", p.int8_forward_ms) << " ms ("
            << ratio(p.float_forward_ms, p.int8_forward_ms) << "; "
            << fmt("%.0f", static_cast<double>(batch) * 1e3 / p.int8_forward_ms)
            << " images/s in int8)\n";
  if (!busy.empty()) std::cout << busy << "\n";
  return kExitOk;
}

}  // namespace tinycnn::cli
