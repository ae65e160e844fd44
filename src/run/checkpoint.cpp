// Checkpoint save / load with full validation against the model.
#include "run/checkpoint.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "io/json_text.hpp"
#include "io/safetensors.hpp"

namespace tinycnn::run {

namespace {
constexpr const char* kFormat = "tinycnn-checkpoint-1";

std::string rng_to_string(const core::Rng::State& s) {
  std::ostringstream out;
  out << s[0] << ' ' << s[1] << ' ' << s[2] << ' ' << s[3];
  return out.str();
}

core::Rng::State rng_from_string(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  core::Rng::State s{};
  in >> s[0] >> s[1] >> s[2] >> s[3];
  TCNN_CHECK_RUNTIME(in && (in >> std::ws).eof(), path,
                     ": metadata rng: expected 4 integers, got \"", text, "\"");
  return s;
}

// "true" or "false"; nothing when the key is absent (a checkpoint that did not record it).
std::optional<bool> metadata_bool(const io::SafetensorsFile& f, const std::string& key,
                                  const std::string& path) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) return std::nullopt;
  TCNN_CHECK_RUNTIME(it->second == "true" || it->second == "false", path, ": metadata ", key,
                     ": expected true or false, got \"", it->second, "\"");
  return it->second == "true";
}

int64_t metadata_int(const io::SafetensorsFile& f, const std::string& key,
                     const std::string& path) {
  auto it = f.metadata.find(key);
  TCNN_CHECK_RUNTIME(it != f.metadata.end(), path, ": metadata ", key,
                     " is missing (needed to resume)");
  try {
    size_t used = 0;
    const long long v = std::stoll(it->second, &used);
    TCNN_CHECK_RUNTIME(used == it->second.size() && v >= 0, path, ": metadata ", key,
                       ": expected a non-negative integer, got \"", it->second, "\"");
    return v;
  } catch (const std::logic_error&) {
    throw core::Error(core::ErrorKind::Runtime, path + ": metadata " + key +
                                                    ": expected a non-negative integer, got \"" +
                                                    it->second + "\"");
  }
}

// A double as text that reads back to the same double.
std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A finite number; `path: metadata key: expected ...` otherwise.
double metadata_number(const io::SafetensorsFile& f, const std::string& key,
                       const std::string& path) {
  auto it = f.metadata.find(key);
  TCNN_CHECK_RUNTIME(it != f.metadata.end(), path, ": metadata ", key, " is missing");
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  TCNN_CHECK_RUNTIME(
      !it->second.empty() && end == it->second.c_str() + it->second.size() && std::isfinite(v),
      path, ": metadata ", key, ": expected a finite number, got \"", it->second, "\"");
  return v;
}

// The best epoch so far, when recorded: an epoch no later than the checkpoint's, a known
// monitor, finite values.
void read_best(const io::SafetensorsFile& f, const std::string& path, TrainState& state) {
  if (!f.metadata.count("best_epoch")) return;
  state.best_epoch = metadata_int(f, "best_epoch", path);
  TCNN_CHECK_RUNTIME(state.best_epoch >= 1 && state.best_epoch <= state.epoch, path,
                     ": metadata best_epoch ", state.best_epoch, ": expected 1..", state.epoch,
                     " (an epoch this run has finished)");
  auto monitor = f.metadata.find("best_monitor");
  TCNN_CHECK_RUNTIME(monitor != f.metadata.end() &&
                         (monitor->second == "test_accuracy" || monitor->second == "test_loss"),
                     path, ": metadata best_monitor: expected test_accuracy or test_loss, got ",
                     monitor == f.metadata.end() ? "nothing" : "\"" + monitor->second + "\"");
  state.best_monitor = monitor->second;
  state.best_value = metadata_number(f, "best_value", path);
  state.best_test_accuracy = metadata_number(f, "best_test_accuracy", path);
}

// What a resume must match: the run's batch size, training set size, drop_last, shuffle and
// precision, where recorded.
void read_run_settings(const io::SafetensorsFile& f, const std::string& path, TrainState& state) {
  if (f.metadata.count("batch_size")) state.batch_size = metadata_int(f, "batch_size", path);
  if (f.metadata.count("train_examples")) {
    state.train_examples = metadata_int(f, "train_examples", path);
  }
  state.drop_last = metadata_bool(f, "drop_last", path);
  state.shuffle = metadata_bool(f, "shuffle", path);
  if (auto p = f.metadata.find("precision"); p != f.metadata.end()) {
    TCNN_CHECK_RUNTIME(p->second == "float32" || p->second == "bf16", path,
                       ": metadata precision: expected float32 or bf16, got \"", p->second, "\"");
    state.precision = p->second;
  }
}

std::vector<std::string> metadata_classes(const io::SafetensorsFile& f, const std::string& path) {
  auto it = f.metadata.find("classes");
  if (it == f.metadata.end()) return {};
  const nlohmann::json names =
      io::parse_json_text(it->second, path + ": metadata classes", core::ErrorKind::Runtime);
  std::vector<std::string> out;
  TCNN_CHECK_RUNTIME(names.is_array(), path, ": metadata classes: expected a JSON list of names");
  for (const auto& n : names) {
    TCNN_CHECK_RUNTIME(n.is_string(), path, ": metadata classes: expected names, got ", n.dump());
    out.push_back(n.get<std::string>());
  }
  return out;
}

bool finite(const tensor::Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (!std::isfinite(t[i])) return false;
  }
  return true;
}

void copy_checked(const io::SafetensorsFile& file, const std::string& name, tensor::Tensor& dst,
                  const std::string& path, const char* what) {
  const tensor::Tensor* src = file.find(name);
  TCNN_CHECK_RUNTIME(src != nullptr, path, ": ", what, " ", name,
                     " is missing (a checkpoint of another model?)");
  TCNN_CHECK_RUNTIME(src->shape() == dst.shape(), path, ": ", name, " has shape ",
                     src->shape().to_string(), ", the config expects ", dst.shape().to_string());
  TCNN_CHECK_RUNTIME(finite(*src), path, ": ", name, " holds NaN or Inf values");
  std::copy(src->data(), src->data() + src->numel(), dst.data());
}
}  // namespace

bool all_finite(nn::Sequential& model) {
  for (auto& p : model.parameters()) {
    if (!finite(p.var.data())) return false;
  }
  for (auto& b : model.buffers()) {
    if (b.f32 && !finite(*b.f32)) return false;
  }
  return true;
}

void save_checkpoint(const std::string& path, nn::Sequential& model, optim::Optimizer& optimizer,
                     const TrainState& state, const std::string& config_json) {
  std::vector<io::NamedTensor> tensors;
  std::vector<io::NamedInts> ints;
  for (auto& p : model.parameters()) tensors.push_back({p.name, p.var.data()});
  for (auto& b : model.buffers()) {
    if (b.f32) tensors.push_back({b.name, *b.f32});
    if (b.i64) ints.push_back({b.name, {}, {*b.i64}});
  }
  for (auto& slot : optimizer.state()) tensors.push_back({"optimizer." + slot.name, *slot.tensor});
  std::map<std::string, std::string> metadata{{"format", kFormat},
                                              {"config", config_json},
                                              {"epoch", std::to_string(state.epoch)},
                                              {"step", std::to_string(state.step)},
                                              {"rng", rng_to_string(state.rng)},
                                              {"tinycnn_version", TINYCNN_VERSION}};
  if (state.batch_size > 0) metadata["batch_size"] = std::to_string(state.batch_size);
  if (state.train_examples > 0) metadata["train_examples"] = std::to_string(state.train_examples);
  if (!state.classes.empty()) metadata["classes"] = nlohmann::json(state.classes).dump();
  if (state.drop_last) metadata["drop_last"] = *state.drop_last ? "true" : "false";
  if (state.shuffle) metadata["shuffle"] = *state.shuffle ? "true" : "false";
  if (!state.precision.empty()) metadata["precision"] = state.precision;
  if (state.best_epoch > 0) {
    metadata["best_epoch"] = std::to_string(state.best_epoch);
    metadata["best_monitor"] = state.best_monitor;
    metadata["best_value"] = number_text(state.best_value);
    metadata["best_test_accuracy"] = number_text(state.best_test_accuracy);
  }
  io::write_safetensors(path, tensors, metadata, ints);
}

namespace {
// An int8 model (tinycnn quantize) has no float weights to load: said before anything else.
void refuse_int8(const io::SafetensorsFile& file, const std::string& path) {
  const auto kind = file.metadata.find("format");
  TCNN_CHECK_RUNTIME(kind == file.metadata.end() || kind->second.rfind("tinycnn-int8", 0) != 0,
                     path,
                     ": an int8 model (written by tinycnn quantize); this needs a float "
                     "checkpoint (eval, predict and export take int8 models)");
}
}  // namespace

TrainState load_checkpoint(const std::string& path, nn::Sequential& model,
                           optim::Optimizer* optimizer) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  refuse_int8(file, path);
  std::set<std::string> expected;
  for (auto& p : model.parameters()) {
    copy_checked(file, p.name, p.var.data(), path, "parameter");
    expected.insert(p.name);
  }
  for (auto& b : model.buffers()) {
    if (b.f32) copy_checked(file, b.name, *b.f32, path, "buffer");
    if (b.i64) {
      const io::NamedInts* src = file.find_ints(b.name);
      TCNN_CHECK_RUNTIME(src != nullptr, path, ": buffer ", b.name,
                         " is missing (a checkpoint of another model?)");
      TCNN_CHECK_RUNTIME(src->values.size() == 1 && src->values[0] >= 0, path, ": ", b.name,
                         ": expected one non-negative I64 value, got ", src->values.size(),
                         " values");
      *b.i64 = src->values[0];
    }
    expected.insert(b.name);
  }
  std::vector<std::string> names;
  for (const auto& t : file.tensors) names.push_back(t.name);
  for (const auto& t : file.ints) names.push_back(t.name);
  for (const auto& name : names) {
    if (name.rfind("layers.", 0) == 0) {
      TCNN_CHECK_RUNTIME(expected.count(name), path, ": has tensor ", name,
                         " that the config's model does not (a checkpoint of another model?)");
    }
  }
  TrainState state;
  state.classes = metadata_classes(file, path);
  if (!optimizer) return state;

  auto format = file.metadata.find("format");
  TCNN_CHECK_RUNTIME(format != file.metadata.end() && format->second == kFormat, path,
                     ": metadata format: expected ", kFormat, ", got ",
                     format == file.metadata.end() ? "nothing" : format->second);
  for (auto& slot : optimizer->state()) {
    copy_checked(file, "optimizer." + slot.name, *slot.tensor, path, "optimizer state");
  }
  state.epoch = metadata_int(file, "epoch", path);
  state.step = metadata_int(file, "step", path);
  auto rng = file.metadata.find("rng");
  TCNN_CHECK_RUNTIME(rng != file.metadata.end(), path, ": metadata rng is missing");
  state.rng = rng_from_string(rng->second, path);
  TCNN_CHECK_RUNTIME(state.rng[0] | state.rng[1] | state.rng[2] | state.rng[3], path,
                     ": metadata rng: the all-zero state is invalid");
  read_run_settings(file, path, state);
  read_best(file, path, state);
  optimizer->set_step_count(state.step);
  return state;
}

}  // namespace tinycnn::run
