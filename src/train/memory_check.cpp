// Memory estimates from the analytic trace.
#include "train/memory_check.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "model/cost_table.hpp"

namespace tinycnn::train {

namespace {
int64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    int64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return 0;
}

std::string gib(int64_t bytes) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0) << " GiB";
  return out.str();
}

int optimizer_slots(const model::OptimizerSpec& o) {
  if (o.type == "adam") return 2;
  return o.momentum > 0 ? 1 : 0;
}
}  // namespace

MemoryEstimate estimate_memory(const model::ModelSpec& spec, Purpose purpose, int64_t batch,
                               int64_t data_bytes, int threads) {
  const model::CostTable trace = model::cost_table(spec, batch);
  TCNN_CHECK(trace.error.empty(), trace.error);
  const bool training = purpose == Purpose::Training;
  MemoryEstimate m;
  m.batch = batch;
  m.weights = 4 * trace.total_params();
  m.activations = trace.total_activation_bytes() + 4 * batch * trace.input.numel();
  for (const model::LayerCost* row : model::flatten_rows(trace.layers)) {
    if (!row->plan) continue;
    const kernels::ConvWorkspace ws = row->plan->workspace(batch, threads);
    m.workspace = std::max({m.workspace, ws.forward, training ? ws.backward : 0});
    if (training) m.saved_columns += 4 * row->plan->saved_columns(batch);
  }
  if (training) {
    m.gradients = m.weights;
    m.optimizer_state = m.weights * optimizer_slots(spec.training.optimizer);
    m.activation_gradients = m.activations;
  }
  m.data = data_bytes;
  return m;
}

void check_memory(const MemoryEstimate& m, const std::string& what) {
  const int64_t available = available_memory_bytes();
  if (available <= 0) return;
  TCNN_CHECK_RUNTIME(
      m.total() <= available, what, " needs about ", gib(m.total()), " (weights ", gib(m.weights),
      ", gradients ", gib(m.gradients), ", optimizer state ", gib(m.optimizer_state),
      ", activations ", gib(m.activations + m.activation_gradients), ", convolution scratch ",
      gib(m.saved_columns + m.workspace), ", data ", gib(m.data), "); this machine has ",
      gib(available), " available: expected a smaller model or batch");
}

}  // namespace tinycnn::train
