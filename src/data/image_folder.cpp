// Image folders: class folders, sorted file lists, one decode per file.
#include "data/image_folder.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "data/image_file.hpp"

namespace tinycnn::data {

namespace {
namespace fs = std::filesystem;

bool hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

// The visible entries of `dir` that are (folders) or are not (files) directories, sorted.
std::vector<std::string> entries(const std::string& dir, bool folders) {
  std::error_code ec;
  TCNN_CHECK_RUNTIME(fs::is_directory(dir, ec), dir, ": no such folder");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (hidden(e.path()) || e.is_directory(ec) != folders) continue;
    names.push_back(e.path().filename().string());
  }
  TCNN_CHECK_RUNTIME(!ec, dir, ": cannot list: ", ec.message());
  std::sort(names.begin(), names.end());  // byte-wise
  return names;
}
}  // namespace

std::vector<std::string> image_folder_classes(const std::string& dir) {
  std::vector<std::string> classes = entries(dir + "/train", true);
  TCNN_CHECK_RUNTIME(!classes.empty(), dir, "/train: holds no class folders");
  for (const std::string& name : classes) {  // before any image is read
    const std::optional<size_t> bad = core::invalid_utf8_at(name);
    TCNN_CHECK_RUNTIME(!bad, dir, "/train/", core::escape_invalid_utf8(name),
                       ": a class folder's name is not UTF-8 (byte ", bad.value_or(0),
                       "); class names are written as JSON text: rename the folder");
  }
  return classes;
}

Dataset read_image_folder(const std::string& dir, const std::string& split,
                          const ImageFolderOptions& o) {
  TCNN_CHECK(split == "train" || split == "test",
             "image folder split: expected train or test, got ", split);
  const std::vector<std::string> classes = image_folder_classes(dir);
  const std::string root = dir + "/" + split;
  TCNN_CHECK_RUNTIME(static_cast<int64_t>(classes.size()) == o.num_classes, dir,
                     "/train: ", classes.size(), " class folders, but the model has ",
                     o.num_classes, " outputs (expected one folder per class)");
  if (split == "test") {
    const std::vector<std::string> test = entries(root, true);
    TCNN_CHECK_RUNTIME(test == classes, root, ": its class folders differ from train/'s (",
                       test.size(), " against ", classes.size(), "): expected the same names");
  }
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  for (size_t k = 0; k < classes.size(); ++k) {
    const std::string folder = root + "/" + classes[k];
    const std::vector<std::string> files = entries(folder, false);
    TCNN_CHECK_RUNTIME(!files.empty(), folder, ": holds no images");
    for (const auto& name : files) {
      std::string path = folder;
      path += "/";
      path += name;
      const Image image =
          fit_image(read_image_file(path, o.channels), o.height, o.width, o.resize, path);
      pixels.insert(pixels.end(), image.pixels.begin(), image.pixels.end());
      labels.push_back(static_cast<int32_t>(k));
    }
  }
  return Dataset(root, o.channels, o.height, o.width, std::move(pixels), std::move(labels),
                 classes);
}

}  // namespace tinycnn::data
