// The optimizer and learning rate a config asks for.
#pragma once

#include <memory>

#include "model/spec.hpp"
#include "optim/optimizer.hpp"

namespace tinycnn::train {

std::unique_ptr<optim::Optimizer> make_optimizer(const model::OptimizerSpec& spec,
                                                 std::vector<autograd::NamedVariable> params);

// Learning rate for 0-based `epoch` of `epochs`: constant; step (x gamma every step_size
// epochs); cosine (PyTorch's CosineAnnealingLR with T_max = epochs: base * (1 + cos(pi e / E)) /
// 2).
double learning_rate(const model::LrScheduleSpec& schedule, double base_lr, int64_t epoch,
                     int64_t epochs);

}  // namespace tinycnn::train
