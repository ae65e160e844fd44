// Data sets for a config's model.
#include "train/dataset.hpp"

namespace tinycnn::train {

data::MnistDataset load_split(const model::ModelSpec& spec, const std::string& dir,
                              const std::string& split, int64_t num_classes, int64_t limit) {
  return data::MnistDataset({.dir = dir,
                             .split = split,
                             .channels = spec.input.channels,
                             .height = spec.input.height,
                             .width = spec.input.width,
                             .num_classes = num_classes,
                             .limit = limit});
}

}  // namespace tinycnn::train
