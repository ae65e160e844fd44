// What a command will hold in memory, estimated from the config before anything large is
// allocated, and the refusal when it cannot fit: a clear error in milliseconds instead of a
// machine swapping for a minute and then an out-of-memory failure.
#pragma once

#include <cstdint>
#include <string>

#include "model/spec.hpp"

namespace tinycnn::train {

struct MemoryEstimate {
  int64_t weights = 0, gradients = 0, optimizer_state = 0;  // bytes
  int64_t activations = 0;  // a batch's layer outputs, and their gradients when training
  int64_t data = 0;         // the data set's bytes as read
  int64_t total() const { return weights + gradients + optimizer_state + activations + data; }
};

enum class Purpose { Training, Evaluation };

// Training: weights, their gradients, the optimizer's slots, a batch's activations and their
// gradients; evaluation: weights and a batch's activations. `data_bytes` as the caller knows it.
MemoryEstimate estimate_memory(const model::ModelSpec& spec, Purpose purpose, int64_t batch,
                               int64_t data_bytes);

// Throws core::Error (Runtime) saying what `what` needs and what the machine has, when the
// estimate exceeds the memory available now (/proc/meminfo MemAvailable; no check without it).
void check_memory(const MemoryEstimate& estimate, const std::string& what);

}  // namespace tinycnn::train
