// A folder of images, torchvision's ImageFolder convention: dir/train/<class>/* and
// dir/test/<class>/*. Class index = position of the folder name in byte-wise sorted order of
// train/'s folders; test/ must have the same folders; files are taken in byte-wise sorted order;
// names starting with "." are ignored; every other file must decode as an image. Decoded once,
// into the model's channels and size (data/image_file.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace tinycnn::data {

struct ImageFolderOptions {
  int64_t channels = 3, height = 32, width = 32;  // the model's input
  bool resize = false;       // other-sized images resized (else refused, naming the file)
  int64_t num_classes = 10;  // the model's outputs: the folder must have exactly this many
};

// The class folders of dir/train, sorted; throws core::Error (Runtime) when there are none.
std::vector<std::string> image_folder_classes(const std::string& dir);

// `split` is "train" or "test".
Dataset read_image_folder(const std::string& dir, const std::string& split,
                          const ImageFolderOptions& options);

}  // namespace tinycnn::data
