// Batched no-grad evaluation.
#include "train/evaluate.hpp"

#include <algorithm>
#include <numeric>

#include "autograd/engine.hpp"
#include "ops/cross_entropy.hpp"

namespace tinycnn::train {

data::MnistDataset load_split(const model::ModelSpec& spec, const std::string& dir,
                              const std::string& split, int64_t num_classes, int64_t limit) {
  return data::MnistDataset({.dir = dir, .split = split, .channels = spec.input.channels,
                             .height = spec.input.height, .width = spec.input.width,
                             .num_classes = num_classes, .limit = limit});
}

int64_t predicted_class(const float* scores, int64_t k) {
  return std::max_element(scores, scores + k) - scores;
}

EvalResult evaluate(nn::Sequential& model, const data::MnistDataset& dataset,
                    const Normalization& norm, int64_t num_classes, int64_t batch_size) {
  autograd::NoGradGuard no_grad;
  model.set_training(false);
  EvalResult r;
  r.confusion.assign(static_cast<size_t>(num_classes),
                     std::vector<int64_t>(static_cast<size_t>(num_classes), 0));
  tensor::Tensor images;
  std::vector<int32_t> labels;
  std::vector<int64_t> indices;
  double loss_sum = 0.0;
  for (int64_t start = 0; start < dataset.size(); start += batch_size) {
    const int64_t n = std::min(batch_size, dataset.size() - start);
    indices.resize(static_cast<size_t>(n));
    std::iota(indices.begin(), indices.end(), start);
    dataset.gather(indices, norm.mean, norm.stddev, images, labels);
    const autograd::Variable logits = model.forward(autograd::Variable(images));
    loss_sum += ops::softmax_cross_entropy(logits, labels).data()[0] * static_cast<double>(n);
    const float* z = logits.data().data();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t predicted = predicted_class(z + i * num_classes, num_classes);
      ++r.confusion[static_cast<size_t>(labels[static_cast<size_t>(i)])][static_cast<size_t>(predicted)];
    }
  }
  model.set_training(true);
  r.examples = dataset.size();
  int64_t correct = 0;
  for (int64_t k = 0; k < num_classes; ++k) {
    const auto& row = r.confusion[static_cast<size_t>(k)];
    const int64_t total = std::accumulate(row.begin(), row.end(), int64_t{0});
    correct += row[static_cast<size_t>(k)];
    r.per_class_accuracy.push_back(total ? static_cast<double>(row[static_cast<size_t>(k)]) / total : 0.0);
  }
  r.loss = r.examples ? loss_sum / static_cast<double>(r.examples) : 0.0;
  r.accuracy = r.examples ? static_cast<double>(correct) / static_cast<double>(r.examples) : 0.0;
  return r;
}

}  // namespace tinycnn::train
