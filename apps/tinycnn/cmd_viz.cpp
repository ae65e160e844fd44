// `tinycnn viz CONFIG --checkpoint FILE --out DIR [--image N] [--data DIR] [--json]`:
// filters_<layer>.png per conv layer and features_<layer>_true<T>_pred<P>.png per conv / pool
// layer for one test image.
//   filters: one tile per (output channel row, input channel column), each kernel value a
//     block of min(16, 60 / kernel size) pixels, diverging colours with one scale per layer
//     (max |w|); the row and column numbers are drawn in the margins.
//   features: the input image first, then every channel of the layer's output, each in a
//     kTile x kTile tile (nearest neighbour, grey scale stretched per map), 8 tiles a row.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "autograd/engine.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "data/dataset.hpp"
#include "flags.hpp"
#include "image.hpp"
#include "json_out.hpp"
#include "kernels/cross_entropy.hpp"
#include "model/builder.hpp"
#include "model/cost_table.hpp"
#include "model/spec.hpp"
#include "nn/conv2d.hpp"
#include "nn/observe.hpp"
#include "run/checkpoint.hpp"
#include "train/dataset.hpp"

namespace tinycnn::cli {

namespace {
constexpr int kGap = 3, kLabelScale = 2, kTile = 56, kTileGap = 4, kColumns = 8;

int kernel_scale(int64_t kh, int64_t kw) {
  return static_cast<int>(std::clamp<int64_t>(60 / std::max(kh, kw), 1, 16));
}

// The filter sheet of a conv weight [OC, IC, KH, KW]: one tile per output (rows) and input
// (columns) channel, channel numbers in the margins; with 3 input channels (an RGB image's
// first layer) one more column shows each filter in colour.
struct FilterSheet {
  int scale, tile_w, tile_h, left, top;
  int64_t width, height;
};

FilterSheet filter_sheet(const tensor::Shape& w) {
  FilterSheet f{};
  f.scale = kernel_scale(w[2], w[3]);
  f.tile_w = static_cast<int>(w[3]) * f.scale;
  f.tile_h = static_cast<int>(w[2]) * f.scale;
  f.left = digits_width(std::to_string(w[0] - 1), kLabelScale) + 6;
  f.top = 5 * kLabelScale + 6;
  f.width = f.left + (w[1] + (w[1] == 3 ? 1 : 0)) * (f.tile_w + kGap);
  f.height = f.top + w[0] * (f.tile_h + kGap);
  return f;
}

struct Written {
  std::string file;
  int width, height;
};

// `layer`: "0", or "3.layers.0" for a conv inside a block (its name without "layers.").
Written write_filters(const std::string& dir, const std::string& layer, const tensor::Tensor& w) {
  const int ic = static_cast<int>(w.dim(1)), kh = static_cast<int>(w.dim(2));
  const int oc = static_cast<int>(w.dim(0)), kw = static_cast<int>(w.dim(3));
  const FilterSheet f = filter_sheet(w.shape());
  const int s = f.scale, tile_w = f.tile_w, tile_h = f.tile_h, left = f.left, top = f.top;
  Image img(static_cast<int>(f.width), static_cast<int>(f.height), {235, 235, 235});
  float scale = 0;
  for (int64_t i = 0; i < w.numel(); ++i) scale = std::max(scale, std::abs(w[i]));
  for (int c = 0; c < ic; ++c)
    img.digits(left + c * (tile_w + kGap), 2, std::to_string(c), kLabelScale);
  for (int o = 0; o < oc; ++o) {
    const int y0 = top + o * (tile_h + kGap);
    img.digits(2, y0, std::to_string(o), kLabelScale);
    for (int c = 0; c < ic; ++c) {
      const int x0 = left + c * (tile_w + kGap);
      for (int y = 0; y < kh; ++y) {
        for (int x = 0; x < kw; ++x) {
          img.fill(x0 + x * s, y0 + y * s, s, s,
                   diverging(w[((o * ic + c) * kh + y) * kw + x], scale));
        }
      }
    }
    if (ic != 3) continue;
    // In colour: each channel's weight from [-scale, scale] to [0, 255].
    const int x0 = left + ic * (tile_w + kGap);
    const auto level = [&](int c, int y, int x) {
      const float v = scale > 0 ? w[((o * ic + c) * kh + y) * kw + x] / scale : 0.0f;
      return static_cast<uint8_t>(std::lround(127.5f * (std::clamp(v, -1.0f, 1.0f) + 1.0f)));
    };
    for (int y = 0; y < kh; ++y) {
      for (int x = 0; x < kw; ++x) {
        img.fill(x0 + x * s, y0 + y * s, s, s, {level(0, y, x), level(1, y, x), level(2, y, x)});
      }
    }
  }
  const std::string file = "filters_" + layer + ".png";
  img.write_png(dir + "/" + file);
  return {file, img.width(), img.height()};
}

// A sheet of feature maps: the input and `channels` maps, kColumns tiles a row.
void check_feature_sheet(int64_t channels, const std::string& what) {
  const int64_t tiles = channels + 1, cols = std::min<int64_t>(kColumns, tiles);
  const int64_t rows = (tiles + cols - 1) / cols;
  check_image_size(kTileGap + cols * (kTile + kTileGap), kTileGap + rows * (kTile + kTileGap),
                   what + ", " + std::to_string(channels) + " maps,");
}

// maps: [C, H, W] of one image; the input image [C0, H0, W0] goes first, in colour when it has
// 3 channels (one stretch over all of them), else its first channel in grey.
Written write_features(const std::string& dir, const std::string& file, const tensor::Tensor& input,
                       const tensor::Tensor& maps) {
  const int channels = static_cast<int>(maps.dim(0));
  const int tiles = channels + 1;
  const int cols = std::min(kColumns, tiles), rows = (tiles + cols - 1) / cols;
  Image img(kTileGap + cols * (kTile + kTileGap), kTileGap + rows * (kTile + kTileGap),
            {200, 220, 255});
  auto draw = [&](int index, const float* plane, int h, int w) {
    const int s = std::max(1, kTile / std::max(h, w));
    const int x0 = kTileGap + (index % cols) * (kTile + kTileGap) + (kTile - w * s) / 2;
    const int y0 = kTileGap + (index / cols) * (kTile + kTileGap) + (kTile - h * s) / 2;
    const auto [lo, hi] = std::minmax_element(plane, plane + static_cast<ptrdiff_t>(h) * w);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x)
        img.fill(x0 + x * s, y0 + y * s, s, s, grey(plane[y * w + x], *lo, *hi));
    }
  };
  const int ih = static_cast<int>(input.dim(1)), iw = static_cast<int>(input.dim(2));
  if (input.dim(0) == 3) {
    const int s = std::max(1, kTile / std::max(ih, iw));
    const auto range = std::minmax_element(input.data(), input.data() + input.numel());
    const float lo = *range.first, hi = *range.second;  // (a lambda may not capture bindings)
    const auto level = [&](int c, int y, int x) {
      return grey(input[(c * ih + y) * iw + x], lo, hi).r;
    };
    for (int y = 0; y < ih; ++y) {
      for (int x = 0; x < iw; ++x) {
        img.fill(kTileGap + (kTile - iw * s) / 2 + x * s, kTileGap + (kTile - ih * s) / 2 + y * s,
                 s, s, {level(0, y, x), level(1, y, x), level(2, y, x)});
      }
    }
  } else {
    draw(0, input.data(), ih, iw);
  }
  const int h = static_cast<int>(maps.dim(1)), w = static_cast<int>(maps.dim(2));
  for (int c = 0; c < channels; ++c) {
    draw(c + 1, maps.data() + static_cast<ptrdiff_t>(c) * h * w, h, w);
  }
  img.write_png(dir + "/" + file);
  return {file, img.width(), img.height()};
}
}  // namespace

CLI::App* setup_viz(CLI::App& app, VizOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("viz", "Draw a trained model's filters and feature maps (PNG)");
  cmd->add_option("config", o.config, "Model config (JSON)")->required();
  cmd->add_option("--checkpoint", o.checkpoint, "Checkpoint (safetensors)")->required();
  cmd->add_option("--out", o.out, "Directory for the PNG files")->required();
  cmd->add_option("--image", o.image, "Index of the test image for the feature maps (default 0)")
      ->check(kCount);
  cmd->add_option("--data", o.data, "Directory with the IDX files (training.data_dir)");
  cmd->add_flag("--json", o.json, "List the files written as one JSON document");
  return cmd;
}

namespace {
// The layers whose outputs are drawn as feature maps.
bool has_feature_maps(nn::LayerKind kind) {
  return kind == nn::LayerKind::Conv2d || kind == nn::LayerKind::MaxPool2d ||
         kind == nn::LayerKind::AvgPool2d;
}

// Every picture's size, before anything is loaded, computed or drawn.
void check_picture_sizes(const model::ModelSpec& spec, nn::Sequential& net) {
  for (const auto& p : net.parameters()) {
    if (p.var.shape().rank() != 4) continue;  // conv weights only
    const FilterSheet f = filter_sheet(p.var.shape());
    check_image_size(f.width, f.height, p.name + " filters (" + p.var.shape().to_string() + ")");
  }
  for (const auto& l : model::cost_table(spec, 1).layers) {
    if (has_feature_maps(l.kind)) {
      check_feature_sheet(l.output[0], "layer " + std::to_string(l.index) + " feature maps");
    }
  }
}

std::vector<Written> write_all_filters(nn::Sequential& net, const std::string& dir) {
  std::vector<Written> written;
  nn::walk(net, [&](const std::string& name, nn::Module& layer, int) {
    if (layer.kind() != nn::LayerKind::Conv2d) return;
    // Named by the layer's place below the model's list: "0", "3.layers.0".
    const std::string place = name.substr(net.prefix().size() + 1);
    written.push_back(write_filters(dir, place, nn::as<nn::Conv2d>(layer).weight().data()));
  });
  return written;
}

// The outputs of the conv and pool layers for one image ([1, C, H, W] in), and the prediction.
struct FeatureMaps {
  std::vector<std::pair<size_t, tensor::Tensor>> maps;  // layer index, [C, H, W]
  int64_t predicted = 0;
};

FeatureMaps feature_maps(nn::Sequential& net, const tensor::Tensor& image, int64_t classes) {
  autograd::NoGradGuard no_grad;
  net.set_training(false);
  FeatureMaps f;
  // The model's own layers (not those inside blocks), by their index.
  std::map<const nn::Module*, size_t> index;
  for (size_t i = 0; i < net.size(); ++i) index[&net.layer(i)] = i;
  nn::ForwardHooks hooks;
  hooks.after = [&](const std::string&, nn::Module& layer, const autograd::Variable&,
                    const autograd::Variable& x) {
    const auto it = index.find(&layer);
    if (it == index.end() || !has_feature_maps(layer.kind())) return;
    f.maps.emplace_back(it->second, x.data().reshape({x.shape()[1], x.shape()[2], x.shape()[3]}));
  };
  const autograd::Variable logits = nn::forward_observed(net, autograd::Variable(image), hooks);
  f.predicted = kernels::predicted_class(logits.data().data(), classes);
  return f;
}

void print_written(const VizOptions& o, int32_t label, int64_t predicted,
                   const std::vector<Written>& written) {
  if (o.json) {
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (const auto& w : written) {
      files.push_back({{"file", o.out + "/" + w.file}, {"width", w.width}, {"height", w.height}});
    }
    std::cout << nlohmann::ordered_json{{"image", o.image},
                                        {"true_label", label},
                                        {"predicted", predicted},
                                        {"files", files}}
                     .dump(-1, ' ', false, kReplaceInvalidUtf8)
              << "\n";
    return;
  }
  std::cout << "test image " << o.image << ": true " << label << ", predicted " << predicted
            << "\n";
  for (const auto& w : written) {
    std::cout << "  " << o.out << "/" << w.file << " (" << w.width << "x" << w.height << ")\n";
  }
}
}  // namespace

int run_viz(const VizOptions& o) {
  const model::ModelSpec spec = model::load_config(o.config);
  auto net = model::build_model(spec);
  check_picture_sizes(spec, *net);
  run::load_checkpoint(o.checkpoint, *net, nullptr);
  const int64_t classes = net->output_shape(model::input_shape(spec))[0];
  const data::Dataset test =
      train::load_split(spec, o.data.value_or(spec.training.data_dir), train::Split::Test, classes);
  TCNN_CHECK(o.image < test.size(), "--image: expected 0..", test.size() - 1, ", got ", o.image);
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  TCNN_CHECK_RUNTIME(std::filesystem::is_directory(o.out, ec), o.out,
                     ": cannot create the output directory");

  std::vector<Written> written = write_all_filters(*net, o.out);
  tensor::Tensor image;
  std::vector<int32_t> label;
  test.gather(std::vector<int64_t>{o.image}, train::normalization(spec.training), image, label);
  const FeatureMaps f = feature_maps(*net, image, classes);
  const tensor::Tensor input =
      image.reshape({spec.input.channels, spec.input.height, spec.input.width});
  for (const auto& [layer, m] : f.maps) {
    const std::string file = "features_" + std::to_string(layer) + "_true" +
                             std::to_string(label[0]) + "_pred" + std::to_string(f.predicted) +
                             ".png";
    written.push_back(write_features(o.out, file, input, m));
  }
  print_written(o, label[0], f.predicted, written);
  return kExitOk;
}

}  // namespace tinycnn::cli
