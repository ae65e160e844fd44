// Config parsing: structure, input, training section. Layer keys are the registry's business.
#include "model/spec.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "io/json_text.hpp"
#include "model/json_reader.hpp"

namespace tinycnn::model {

namespace {
constexpr int64_t kMaxDim = 1 << 16;  // larger images are certainly mistakes

InputSpec parse_input(const Json& j) {
  const ObjectReader r(j, "input", {"channels", "height", "width"});
  return {r.integer("channels", std::nullopt, 1, kMaxDim),
          r.integer("height", std::nullopt, 1, kMaxDim),
          r.integer("width", std::nullopt, 1, kMaxDim)};
}

OptimizerSpec parse_optimizer(const Json& j) {
  const ObjectReader probe(
      j, "training.optimizer",
      {"type", "lr", "momentum", "weight_decay", "nesterov", "beta1", "beta2", "eps"});
  OptimizerSpec o;
  o.type = probe.string("type", "sgd", {"sgd", "adam"});
  if (o.type == "sgd") {
    const ObjectReader r(j, "training.optimizer",
                         {"type", "lr", "momentum", "weight_decay", "nesterov"});
    o.lr = r.number("lr", 0.01, 0.0, 1e6, true);
    o.momentum = r.number("momentum", 0.0, 0.0, 0.999999);
    o.weight_decay = r.number("weight_decay", 0.0, 0.0, 1.0);
    o.nesterov = r.boolean("nesterov", false);
    TCNN_CHECK(!o.nesterov || o.momentum > 0.0,
               "training.optimizer.nesterov: needs momentum > 0, got momentum ", o.momentum);
  } else {
    const ObjectReader r(j, "training.optimizer",
                         {"type", "lr", "beta1", "beta2", "eps", "weight_decay"});
    o.lr = r.number("lr", 0.001, 0.0, 1e6, true);
    o.beta1 = r.number("beta1", 0.9, 0.0, 0.999999);
    o.beta2 = r.number("beta2", 0.999, 0.0, 0.999999999);
    o.eps = r.number("eps", 1e-8, 0.0, 1.0, true);
    o.weight_decay = r.number("weight_decay", 0.0, 0.0, 1.0);
  }
  return o;
}

LrScheduleSpec parse_schedule(const Json& j) {
  const ObjectReader probe(j, "training.lr_schedule", {"type", "step_size", "gamma"});
  LrScheduleSpec s;
  s.type = probe.string("type", "constant", {"constant", "step", "cosine"});
  if (s.type == "step") {
    s.step_size = probe.integer("step_size", std::nullopt, 1, 1000000);
    s.gamma = probe.number("gamma", 0.1, 0.0, 1.0, true);
  } else {
    const ObjectReader r(j, "training.lr_schedule", {"type"});
  }
  return s;
}

// training.normalize's mean or std: a number, or a list of one per input channel.
std::vector<double> per_channel(const ObjectReader& r, const std::string& key,
                                std::vector<double> fallback, int64_t channels, double min,
                                bool min_exclusive) {
  if (!r.has(key)) return fallback;
  const Json& v = r.raw(key);
  const std::string path = r.path(key);
  const auto check = [&](const Json& x) {
    TCNN_CHECK(x.is_number() && std::isfinite(x.get<double>()) &&
                   (min_exclusive ? x.get<double>() > min : x.get<double>() >= min),
               path, ": expected a number ", min_exclusive ? "> " : ">= ", min, ", got ",
               describe_json(x));
    return x.get<double>();
  };
  if (!v.is_array()) return {check(v)};
  TCNN_CHECK(static_cast<int64_t>(v.size()) == channels, path, ": expected ", channels,
             " values (one per input channel), got ", v.size());
  std::vector<double> out;
  for (const auto& x : v) out.push_back(check(x));
  return out;
}

struct DatasetDefaults {
  const char* data_dir;
  std::vector<double> mean, stddev;
};

DatasetDefaults dataset_defaults(const std::string& dataset) {
  if (dataset == "mnist") return {"data/mnist", {0.1307}, {0.3081}};
  if (dataset == "fashion-mnist") return {"/usr/share/datasets/fashion-mnist", {0.2860}, {0.3530}};
  if (dataset == "cifar10") {
    return {"data/cifar10", {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
  }
  return {dataset == "idx" ? "data/idx" : "data/image_folder", {0.0}, {1.0}};
}

EarlyStoppingSpec parse_early_stopping(const Json& j) {
  const ObjectReader e(j, "training.early_stopping", {"monitor", "patience", "min_delta"});
  EarlyStoppingSpec s;
  s.monitor = e.string("monitor", "test_accuracy", {"test_accuracy", "test_loss"});
  if (e.has("patience")) s.patience = e.integer("patience", std::nullopt, 0, 100000);
  s.min_delta = e.number("min_delta", 0.0, 0.0, 1e6);
  return s;
}

// training.augment: the random crop's padding and the flip.
void parse_augment(const Json& j, TrainingSpec& t) {
  const ObjectReader a(j, "training.augment",
                       {"random_crop", "horizontal_flip", "cutout", "mixup", "cutmix"});
  if (a.has("random_crop")) {
    const ObjectReader c(a.raw("random_crop"), "training.augment.random_crop", {"padding"});
    t.augment_crop_padding = c.integer("padding", std::nullopt, 0, 1 << 16);
  }
  t.augment_flip = a.boolean("horizontal_flip", false);
  if (a.has("cutout")) {
    const ObjectReader c(a.raw("cutout"), "training.augment.cutout", {"size"});
    t.augment_cutout = c.integer("size", std::nullopt, 1, 1 << 16);
  }
  // Beta(alpha, alpha): alpha > 0 (0.2 for mixup and 1 for CutMix are the papers' choices).
  const auto alpha = [&](const char* key) {
    if (!a.has(key)) return 0.0;
    const ObjectReader m(a.raw(key), std::string("training.augment.") + key, {"alpha"});
    TCNN_CHECK(m.has("alpha"), m.path("alpha"), ": required key is missing");
    return m.number("alpha", 0.0, 0.0, 100.0, true);
  };
  t.augment_mixup_alpha = alpha("mixup");
  t.augment_cutmix_alpha = alpha("cutmix");
}

TrainingSpec parse_training(const Json& j, int64_t channels) {
  const ObjectReader r(
      j, "training",
      {"dataset", "data_dir", "epochs", "batch_size", "seed", "optimizer", "conv_algo", "normalize",
       "shuffle", "lr_schedule", "weight_init", "augment", "classes", "resize", "diagnostics",
       "drop_last", "label_smoothing", "early_stopping", "precision"});
  TrainingSpec t;
  t.dataset = r.string("dataset", "mnist", dataset_names());
  const DatasetDefaults defaults = dataset_defaults(t.dataset);
  t.data_dir = r.string("data_dir", defaults.data_dir);
  t.epochs = r.integer("epochs", 10, 1, 100000);
  t.batch_size = r.integer("batch_size", 64, 1, 65536);
  t.seed = static_cast<uint64_t>(r.integer("seed", 42, 0, INT64_MAX));
  if (r.has("optimizer")) t.optimizer = parse_optimizer(r.raw("optimizer"));
  t.conv_algo =
      kernels::conv_algo_from_string(r.string("conv_algo", "auto", kernels::conv_algo_names()));
  t.precision = kernels::precision_from_string(r.string(
      "precision", "float32",
      std::vector<std::string>(kernels::kPrecisionNames.begin(), kernels::kPrecisionNames.end())));
  t.normalize_mean = defaults.mean;
  t.normalize_std = defaults.stddev;
  if (r.has("normalize")) {
    const ObjectReader n(r.raw("normalize"), "training.normalize", {"mean", "std"});
    t.normalize_mean = per_channel(n, "mean", defaults.mean, channels, -1e6, false);
    t.normalize_std = per_channel(n, "std", defaults.stddev, channels, 0.0, true);
  }
  for (const auto* values : {&t.normalize_mean, &t.normalize_std}) {
    TCNN_CHECK(values->size() == 1 || static_cast<int64_t>(values->size()) == channels,
               "training.normalize: the ", t.dataset, " defaults have ", values->size(),
               " values, the input has ", channels,
               " channel(s): give one mean and std, or one "
               "per channel");
  }
  t.shuffle = r.boolean("shuffle", true);
  t.label_smoothing = r.number("label_smoothing", 0.0, 0.0, 1.0, false, true);
  if (r.has("early_stopping")) t.early_stopping = parse_early_stopping(r.raw("early_stopping"));
  if (r.has("augment")) parse_augment(r.raw("augment"), t);
  if (r.has("classes")) {
    const Json& names = r.raw("classes");
    TCNN_CHECK(names.is_array() && !names.empty(),
               "training.classes: expected a list of class names, got ", describe_json(names));
    for (size_t i = 0; i < names.size(); ++i) {
      TCNN_CHECK(names[i].is_string() && !names[i].get<std::string>().empty(), "training.classes[",
                 i, "]: expected a non-empty name, got ", describe_json(names[i]));
      t.classes.push_back(names[i].get<std::string>());
    }
  }
  t.resize = r.boolean("resize", false);
  t.diagnostics = r.boolean("diagnostics", false);
  t.drop_last = r.boolean("drop_last", false);
  if (r.has("lr_schedule")) t.lr_schedule = parse_schedule(r.raw("lr_schedule"));
  t.weight_init =
      nn::weight_init_from_string(r.string("weight_init", "he_normal", {"he_normal", "pytorch"}));
  return t;
}

// The default out dir is runs/<name>: the name must stay one path component.
bool is_file_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '/' || c == '\\';
  });
}

}  // namespace

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names{"mnist", "fashion-mnist", "idx", "cifar10",
                                              "image_folder"};
  return names;
}

std::vector<LayerSpec> parse_layer_list(const Json& layers, const std::string& path,
                                        bool allow_empty) {
  TCNN_CHECK(layers.is_array() && (allow_empty || !layers.empty()), path, ": expected ",
             allow_empty ? "an array" : "a non-empty array", ", got ", describe_json(layers));
  std::vector<LayerSpec> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string where = path + "[" + std::to_string(i) + "]";
    const Json& layer = layers[i];
    TCNN_CHECK(layer.is_object(), where, ": expected an object, got ", describe_json(layer));
    TCNN_CHECK(layer.contains("type") && layer.at("type").is_string(), where,
               ".type: expected a layer type string, got ",
               layer.contains("type") ? describe_json(layer.at("type")) : "nothing");
    out.push_back(
        {layer.at("type").get<std::string>(), where, std::make_shared<const Json>(layer)});
  }
  return out;
}

ModelSpec parse_config(const Json& config) {
  const ObjectReader r(config, "", {"name", "input", "layers", "training"});
  ModelSpec spec;
  spec.source = std::make_shared<const Json>(config);
  spec.name = r.string("name", std::nullopt);
  TCNN_CHECK(is_file_name(spec.name),
             "name: expected a plain file name (1-128 characters, not . or .., without slashes "
             "or control characters), got ",
             describe_json(r.raw("name")));
  spec.input = parse_input(r.raw("input"));
  spec.layers = parse_layer_list(r.raw("layers"), "layers", false);
  if (r.has("training")) spec.training = parse_training(r.raw("training"), spec.input.channels);
  const int64_t side = std::min(spec.input.height, spec.input.width);
  TCNN_CHECK(spec.training.augment_cutout <= side,
             "training.augment.cutout.size: expected at most ", side, " (the input is ",
             spec.input.height, "x", spec.input.width, "), got ", spec.training.augment_cutout);
  return spec;
}

ModelSpec load_config(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  TCNN_CHECK(fs::exists(path, ec), path, ": no such file");
  TCNN_CHECK(!fs::is_directory(path, ec), path, ": is a directory, expected a JSON config file");
  const auto size = fs::file_size(path, ec);
  TCNN_CHECK(!ec && size <= (16u << 20), path, ": expected a config file of at most 16 MiB, got ",
             ec ? "an unreadable size" : std::to_string(size) + " bytes");
  std::ifstream in(path, std::ios::binary);
  TCNN_CHECK(in.good(), path, ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  const Json config = io::parse_json_text(text.str(), path, core::ErrorKind::Invalid);
  try {
    return parse_config(config);
  } catch (const core::Error& e) {
    throw core::Error(e.kind(), path + ": " + e.what());
  }
}

}  // namespace tinycnn::model
