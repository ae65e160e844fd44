// What a command will hold in memory, estimated from the config before anything large is
// allocated, and the refusal when it cannot fit: a clear error in milliseconds instead of a
// machine swapping for a minute and then an out-of-memory failure.
#pragma once

#include <cstdint>
#include <string>

#include "model/spec.hpp"

namespace tinycnn::train {

// Bytes. The convolutions' share comes from their plans (kernels/conv_plan.hpp), as they run.
struct MemoryEstimate {
  int64_t batch = 0;
  int64_t weights = 0, gradients = 0, optimizer_state = 0;
  int64_t activations = 0;           // kept for the backward: the input and every layer's output
  int64_t activation_gradients = 0;  // training: as many again, live while the backward runs
  int64_t saved_columns = 0;         // im2col's column matrices the backward keeps
  int64_t workspace = 0;             // the largest convolution scratch of one layer
  int64_t data = 0;                  // the data set's bytes as read
  int64_t total() const {
    return weights + gradients + optimizer_state + activations + activation_gradients +
           saved_columns + workspace + data;
  }
};

enum class Purpose { Training, Evaluation };

// Training: weights, their gradients, the optimizer's slots, a batch's activations and their
// gradients, the convolutions' saved columns and scratch at `threads` threads; evaluation:
// weights, a batch's activations and the scratch. `data_bytes` as the caller knows it.
MemoryEstimate estimate_memory(const model::ModelSpec& spec, Purpose purpose, int64_t batch,
                               int64_t data_bytes, int threads = 1);

// Throws core::Error (Runtime) saying what `what` needs and what the machine has, when the
// estimate exceeds the memory available now (/proc/meminfo MemAvailable; no check without it).
void check_memory(const MemoryEstimate& estimate, const std::string& what);

}  // namespace tinycnn::train
