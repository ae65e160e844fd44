// Data sets for a config's model: the reader by training.dataset, then the checks against the
// model's input.
#include "train/dataset.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "data/cifar10.hpp"
#include "data/idx.hpp"
#include "data/image_folder.hpp"

namespace tinycnn::train {

namespace {
const std::vector<std::string> kFashionClasses{"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                               "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                               "Bag",         "Ankle boot"};

data::Dataset read_split(const model::TrainingSpec& t, const model::InputSpec& input,
                         const std::string& dir, Split split, int64_t num_classes) {
  const bool train = split == Split::Train;
  if (t.dataset == "cifar10") return data::read_cifar10_split(dir, train, num_classes);
  if (t.dataset == "image_folder") {
    return data::read_image_folder(dir, train ? "train" : "test",
                                   {.channels = input.channels,
                                    .height = input.height,
                                    .width = input.width,
                                    .resize = t.resize,
                                    .num_classes = num_classes});
  }
  // mnist, fashion-mnist and idx: IDX files; the first two have the digits' 10 labels.
  const bool ten = t.dataset == "mnist" || t.dataset == "fashion-mnist";
  data::Dataset d = data::read_idx_split(dir, train ? "train" : "t10k",
                                         ten ? std::min<int64_t>(num_classes, 10) : num_classes);
  if (t.dataset == "fashion-mnist") d.set_classes(kFashionClasses);
  return d;
}
}  // namespace

data::Dataset load_split(const model::ModelSpec& spec, const std::string& dir, Split split,
                         int64_t num_classes, int64_t limit) {
  data::Dataset d = read_split(spec.training, spec.input, dir, split, num_classes);
  const auto& in = spec.input;
  TCNN_CHECK_RUNTIME(d.channels() == in.channels, d.source(), ": images have ", d.channels(),
                     " channel(s), but the config's input has ", in.channels);
  TCNN_CHECK_RUNTIME(d.height() == in.height && d.width() == in.width, d.source(), ": images are ",
                     d.height(), "x", d.width(), ", but the config's input is ", in.height, "x",
                     in.width);
  d.check_labels(num_classes);
  if (!spec.training.classes.empty()) {    // as many as the outputs: checked by build_model
    d.set_classes(spec.training.classes);  // the config's names win over the data set's
  }
  d.keep_first(limit);
  return d;
}

data::Normalization normalization(const model::TrainingSpec& t) {
  return {.mean = t.normalize_mean, .stddev = t.normalize_std};
}

data::Augment augmentation(const model::TrainingSpec& t) {
  return {.crop_padding = t.augment_crop_padding,
          .horizontal_flip = t.augment_flip,
          .seed = t.seed,
          .cutout = t.augment_cutout,
          .mixing = {.mixup_alpha = t.augment_mixup_alpha, .cutmix_alpha = t.augment_cutmix_alpha}};
}

int64_t split_bytes(const std::string& dataset, const std::string& dir, Split split) {
  std::vector<std::string> names;
  const bool train = split == Split::Train;
  if (dataset == "cifar10") {
    if (train) {
      for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
    } else {
      names.push_back("test_batch.bin");
    }
  } else {
    const std::string prefix = train ? "train" : "t10k";
    names = {prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"};
  }
  int64_t sum = 0;
  std::error_code ec;
  for (const auto& name : names) {
    std::string plain = dir;
    plain += "/";
    plain += name;
    const std::string gz = plain + ".gz";
    for (const std::string& path : {plain, gz}) {
      const auto size = std::filesystem::file_size(path, ec);
      // A compressed file holds about a quarter of what it decompresses to, for these images.
      if (!ec) sum += static_cast<int64_t>(size) * (path.ends_with(".gz") ? 4 : 1);
    }
  }
  return sum;
}

}  // namespace tinycnn::train
