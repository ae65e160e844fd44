// Image files through the model, in eval mode, in batches of 100.
#include "train/predict.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "data/dataset.hpp"
#include "data/image_file.hpp"
#include "train/dataset.hpp"

namespace tinycnn::train {

namespace {
std::vector<double> softmax(const float* logits, int64_t k) {
  const float top = *std::max_element(logits, logits + k);
  std::vector<double> p(static_cast<size_t>(k));
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) {
    p[static_cast<size_t>(j)] = std::exp(static_cast<double>(logits[j] - top));
    sum += p[static_cast<size_t>(j)];
  }
  for (double& v : p) v /= sum;
  return p;
}
}  // namespace

std::vector<std::vector<double>> predict_files(const model::ModelSpec& spec, nn::Sequential& model,
                                               const std::vector<std::string>& paths) {
  const auto& in = spec.input;
  std::vector<uint8_t> pixels;
  for (const auto& path : paths) {
    const data::Image image = data::fit_image(data::read_image_file(path, in.channels), in.height,
                                              in.width, spec.training.resize, path);
    pixels.insert(pixels.end(), image.pixels.begin(), image.pixels.end());
  }
  const data::Dataset files("image files", in.channels, in.height, in.width, std::move(pixels),
                            std::vector<int32_t>(paths.size(), 0));
  autograd::NoGradGuard no_grad;
  model.set_training(false);
  std::vector<std::vector<double>> out;
  std::vector<int64_t> indices;
  tensor::Tensor images;
  std::vector<int32_t> labels;
  for (int64_t begin = 0; begin < files.size(); begin += 100) {
    const int64_t end = std::min<int64_t>(begin + 100, files.size());
    indices.resize(static_cast<size_t>(end - begin));
    std::iota(indices.begin(), indices.end(), begin);
    files.gather(indices, normalization(spec.training), images, labels);
    const autograd::Variable logits = model.forward(autograd::Variable(images));
    const int64_t k = logits.shape()[1];
    for (int64_t i = 0; i < end - begin; ++i) {
      const float* row = logits.data().data() + i * k;
      // An overflowing model gives no probabilities: refused, as eval refuses a non-finite loss.
      TCNN_CHECK_RUNTIME(std::all_of(row, row + k, [](float v) { return std::isfinite(v); }),
                         paths[static_cast<size_t>(begin + i)],
                         ": the model's outputs are not finite (the weights overflow them); "
                         "expected finite logits");
      out.push_back(softmax(row, k));
    }
  }
  return out;
}

}  // namespace tinycnn::train
