// Data sets for a config's model.
#include "train/dataset.hpp"

#include <filesystem>

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

int64_t split_bytes(const std::string& dir, const std::string& split) {
  int64_t sum = 0;
  std::error_code ec;
  for (const char* kind : {"-images-idx3-ubyte", "-labels-idx1-ubyte"}) {
    const auto size = std::filesystem::file_size(dir + "/" + split + kind, ec);
    if (!ec) sum += static_cast<int64_t>(size);
  }
  return sum;
}

}  // namespace tinycnn::train
