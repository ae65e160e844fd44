// metrics.jsonl: one JSON object per epoch, written with O_APPEND.
#include "run/metrics_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/json_text.hpp"

namespace tinycnn::run {

namespace {
double non_negative(const nlohmann::json& entry, const char* key, const std::string& where) {
  TCNN_CHECK_RUNTIME(entry.contains(key) && entry[key].is_number(), where, ": diagnostics: ", key,
                     ": expected a number");
  const double v = entry[key].get<double>();
  TCNN_CHECK_RUNTIME(std::isfinite(v) && v >= 0, where, ": diagnostics: ", key,
                     ": expected a finite number >= 0, got ", v);
  return v;
}

std::vector<LayerDiagnostic> parse_diagnostics(const nlohmann::json& list,
                                               const std::string& where) {
  TCNN_CHECK_RUNTIME(list.is_array(), where, ": diagnostics: expected a list");
  std::vector<LayerDiagnostic> out;
  for (const auto& entry : list) {
    TCNN_CHECK_RUNTIME(entry.is_object() && entry.contains("layer") && entry["layer"].is_string() &&
                           entry.contains("type") && entry["type"].is_string(),
                       where, ": diagnostics: expected objects with a layer and a type");
    LayerDiagnostic d;
    d.layer = entry["layer"].get<std::string>();
    d.type = entry["type"].get<std::string>();
    if (entry.contains("dead_fraction")) {
      d.dead_fraction = non_negative(entry, "dead_fraction", where);
      TCNN_CHECK_RUNTIME(d.dead_fraction <= 1, where, ": diagnostics: dead_fraction ",
                         d.dead_fraction, ": expected a fraction");
    } else {
      d.grad_norm = non_negative(entry, "grad_norm", where);
      d.weight_norm = non_negative(entry, "weight_norm", where);
      d.update_ratio = non_negative(entry, "update_ratio", where);
    }
    out.push_back(std::move(d));
  }
  return out;
}

// Throws core::Error (Runtime) prefixed with `where` ("file:line").
EpochMetrics parse_line(const std::string& line, const std::string& where) {
  const nlohmann::json j = io::parse_json_text(line, where, core::ErrorKind::Runtime);
  TCNN_CHECK_RUNTIME(j.is_object(), where, ": expected a JSON object per line");
  EpochMetrics m;
  TCNN_CHECK_RUNTIME(j.contains("epoch") && j["epoch"].is_number_integer(), where,
                     ": expected an integer for epoch");
  m.epoch = j["epoch"].get<int64_t>();
  const std::pair<const char*, double*> required[] = {{"train_loss", &m.train_loss},
                                                      {"train_accuracy", &m.train_accuracy},
                                                      {"test_loss", &m.test_loss},
                                                      {"test_accuracy", &m.test_accuracy}};
  TCNN_CHECK_RUNTIME(m.epoch >= 1, where, ": epoch: expected an integer >= 1, got ", m.epoch);
  for (const auto& [key, dst] : required) {
    TCNN_CHECK_RUNTIME(j.contains(key) && j[key].is_number(), where, ": expected a number for ",
                       key);
    *dst = j[key].get<double>();
    // Accuracies are fractions, losses non-negative: anything else is not a run's log.
    const bool accuracy = std::string_view(key).ends_with("accuracy");
    TCNN_CHECK_RUNTIME(std::isfinite(*dst) && *dst >= 0 && (!accuracy || *dst <= 1), where, ": ",
                       key, ": expected ", accuracy ? "a number in [0, 1]" : "a finite number >= 0",
                       ", got ", *dst);
  }
  const std::pair<const char*, double*> optional[] = {{"epoch_seconds", &m.epoch_seconds},
                                                      {"eval_seconds", &m.eval_seconds},
                                                      {"images_per_second", &m.images_per_second},
                                                      {"lr", &m.lr}};
  for (const auto& [key, dst] : optional) {
    if (j.contains(key) && j[key].is_number()) *dst = j[key].get<double>();
  }
  if (j.contains("diagnostics")) m.diagnostics = parse_diagnostics(j["diagnostics"], where);
  return m;
}

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }
}  // namespace

MetricsMark append_metrics(const std::string& path, const EpochMetrics& m) {
  nlohmann::ordered_json line = {{"epoch", m.epoch},
                                 {"train_loss", m.train_loss},
                                 {"train_accuracy", m.train_accuracy},
                                 {"test_loss", m.test_loss},
                                 {"test_accuracy", m.test_accuracy},
                                 {"epoch_seconds", m.epoch_seconds},
                                 {"eval_seconds", m.eval_seconds},
                                 {"images_per_second", m.images_per_second},
                                 {"lr", m.lr}};
  if (!m.diagnostics.empty()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& d : m.diagnostics) {
      nlohmann::ordered_json entry = {{"layer", d.layer}, {"type", d.type}};
      if (d.dead_fraction >= 0) {
        entry["dead_fraction"] = d.dead_fraction;
      } else {
        entry["grad_norm"] = d.grad_norm;
        entry["weight_norm"] = d.weight_norm;
        entry["update_ratio"] = d.update_ratio;
      }
      list.push_back(std::move(entry));
    }
    line["diagnostics"] = std::move(list);
  }
  const std::string text = line.dump() + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  TCNN_CHECK_RUNTIME(fd >= 0, path, ": cannot open for appending: ", std::strerror(errno));
  const off_t before = ::lseek(fd, 0, SEEK_END);
  const ssize_t written = ::write(fd, text.data(), text.size());
  const int write_errno = written < 0 ? errno : ENOSPC;
  const bool synced = written == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced && before >= 0 && ::truncate(path.c_str(), before) != 0) {
    // a partial line stays; a resume's keep_metrics_up_to drops it
  }
  TCNN_CHECK_RUNTIME(synced, path, ": cannot append metrics: ", std::strerror(write_errno));
  return {static_cast<int64_t>(before)};
}

void roll_back_metrics(const std::string& path, const MetricsMark& mark) {
  if (::truncate(path.c_str(), static_cast<off_t>(mark.size)) != 0) {
    // the error on its way says what failed, and a resume trims the file
  }
}

std::vector<EpochMetrics> read_metrics(const std::string& path) {
  std::error_code ec;
  TCNN_CHECK_RUNTIME(std::filesystem::is_regular_file(path, ec), path, ": no such file");
  std::ifstream in(path, std::ios::binary);
  TCNN_CHECK_RUNTIME(in.good(), path, ": cannot open for reading");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  TCNN_CHECK_RUNTIME(!in.bad(), path, ": cannot read");
  return parse_metrics(text, path);
}

std::vector<EpochMetrics> parse_metrics(std::string_view text, const std::string& what) {
  std::vector<EpochMetrics> epochs;
  int line_no = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string line(text.substr(begin, end - begin));
    begin = end + 1;
    ++line_no;
    if (blank(line)) continue;
    epochs.push_back(parse_line(line, what + ":" + std::to_string(line_no)));
  }
  TCNN_CHECK_RUNTIME(!epochs.empty(), what, ": holds no epochs");
  return epochs;
}

void keep_metrics_up_to(const std::string& path, int64_t epoch) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (blank(line)) continue;
    try {
      if (parse_line(line, path).epoch <= epoch) kept += line + "\n";
    } catch (const core::Error&) {
      // a damaged line is dropped with the epochs past the checkpoint
    }
  }
  io::write_file_atomically(path, kept);
}

}  // namespace tinycnn::run
