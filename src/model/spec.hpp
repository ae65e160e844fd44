// ModelSpec: a config file (docs/config.md) read and checked — name, input, the layer list (each
// layer's keys are checked when the model is built, see registry.hpp) and the training section.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kernels/conv2d.hpp"
#include "kernels/precision.hpp"
#include "nn/init.hpp"

namespace tinycnn::model {

// The JSON text's tree is held, not included: most of the library sees a spec without parsing
// nlohmann/json's header (model/json_reader.hpp reads one).
using Json = nlohmann::json;

struct InputSpec {
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
};

struct LayerSpec {
  std::string type;                  // "conv2d"
  std::string path;                  // "layers[3]", for messages
  std::shared_ptr<const Json> json;  // the layer's object as written
};

struct OptimizerSpec {
  std::string type = "sgd";  // "sgd" | "adam"
  double lr = 0.01;
  double momentum = 0.0;  // sgd
  double weight_decay = 0.0;
  bool nesterov = false;  // sgd
  double beta1 = 0.9;     // adam
  double beta2 = 0.999;   // adam
  double eps = 1e-8;      // adam
};

struct LrScheduleSpec {
  std::string type = "constant";  // "constant" | "step" | "cosine"
  int64_t step_size = 1;          // step
  double gamma = 0.1;             // step
};

// What `best.safetensors` keeps the best of, and when a run stops early
// (training.early_stopping).
struct EarlyStoppingSpec {
  std::string monitor = "test_accuracy";  // or "test_loss"
  std::optional<int64_t> patience;        // epochs without improvement before stopping; none: never
  double min_delta = 0;                   // an improvement beats the best by more than this
};

struct TrainingSpec {
  std::string dataset = "mnist";
  std::string data_dir = "data/mnist";
  int64_t epochs = 10;
  int64_t batch_size = 64;
  uint64_t seed = 42;
  OptimizerSpec optimizer;
  kernels::ConvAlgo conv_algo = kernels::ConvAlgo::Auto;
  // The products of conv2d and linear layers: float32, or bf16 (mixed precision; docs/config.md).
  kernels::Precision precision = kernels::Precision::Float32;
  // One per input channel, or one for all (the data set's defaults: docs/config.md).
  std::vector<double> normalize_mean{0.1307};
  std::vector<double> normalize_std{0.3081};
  bool shuffle = true;
  int64_t augment_crop_padding = 0;  // training.augment.random_crop.padding (0: no crop)
  bool augment_flip = false;         // training.augment.horizontal_flip
  int64_t augment_cutout = 0;        // training.augment.cutout.size (0: none)
  double augment_mixup_alpha = 0;    // training.augment.mixup.alpha (0: none)
  double augment_cutmix_alpha = 0;   // training.augment.cutmix.alpha (0: none)
  std::vector<std::string> classes;  // training.classes: names of the K outputs (or empty)
  bool resize = false;               // training.resize: image files resized to the input
  bool diagnostics = false;          // training.diagnostics: gradient flow in metrics.jsonl
  bool drop_last = false;            // training.drop_last: no smaller last batch per epoch
  double label_smoothing = 0.0;      // training.label_smoothing, in [0, 1)
  EarlyStoppingSpec early_stopping;
  LrScheduleSpec lr_schedule;
  nn::WeightInit weight_init = nn::WeightInit::HeNormal;
};

struct ModelSpec {
  std::string name;
  InputSpec input;
  std::vector<LayerSpec> layers;
  TrainingSpec training;
  std::shared_ptr<const Json> source;  // the config as read
};

// The training.dataset kinds, in the order the docs list them.
const std::vector<std::string>& dataset_names();

// A JSON array of layer objects at `path` ("layers", "layers[3].shortcut"): each an object with
// a "type" string (its other keys are checked when the layer is built).
std::vector<LayerSpec> parse_layer_list(const Json& layers, const std::string& path,
                                        bool allow_empty);

// Checks the structure, the input and the training section. Errors name the JSON path.
ModelSpec parse_config(const Json& config);
// Reads and parses a file; errors are prefixed with the file name ("configs/x.json: ...").
// Missing / unreadable files and invalid JSON are ErrorKind::Invalid (exit 2).
ModelSpec load_config(const std::string& path);

}  // namespace tinycnn::model
