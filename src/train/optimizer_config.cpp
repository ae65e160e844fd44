// Optimizer construction and learning-rate schedules.
#include "train/optimizer_config.hpp"

#include <cmath>
#include <numbers>

#include "optim/adam.hpp"
#include "optim/sgd.hpp"

namespace tinycnn::train {

std::unique_ptr<optim::Optimizer> make_optimizer(const model::OptimizerSpec& s,
                                                 std::vector<autograd::NamedVariable> params) {
  if (s.type == "adam") {
    return std::make_unique<optim::Adam>(std::move(params),
                                         optim::AdamOptions{.lr = s.lr,
                                                            .beta1 = s.beta1,
                                                            .beta2 = s.beta2,
                                                            .eps = s.eps,
                                                            .weight_decay = s.weight_decay});
  }
  return std::make_unique<optim::SGD>(std::move(params),
                                      optim::SgdOptions{.lr = s.lr,
                                                        .momentum = s.momentum,
                                                        .weight_decay = s.weight_decay,
                                                        .nesterov = s.nesterov});
}

double learning_rate(const model::LrScheduleSpec& schedule, double base_lr, int64_t epoch,
                     int64_t epochs) {
  if (schedule.type == "step") {
    // Whole steps of step_size epochs: the integer division is the schedule.
    const int64_t steps = epoch / schedule.step_size;
    return base_lr * std::pow(schedule.gamma, static_cast<double>(steps));
  }
  if (schedule.type == "cosine") {
    return base_lr * 0.5 *
           (1.0 +
            std::cos(std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(epochs)));
  }
  return base_lr;
}

}  // namespace tinycnn::train
