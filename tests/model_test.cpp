// model: config parsing, building with shape inference, and the cost trace against
// hand-computed LeNet-5 numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "model/builder.hpp"
#include "model/cost_table.hpp"
#include "model/spec.hpp"

namespace tinycnn::model {
namespace {

const std::string kConfigs = TINYCNN_CONFIG_DIR;

TEST(Config, LeNetParsesWithTrainingSection) {
  const ModelSpec spec = load_config(kConfigs + "/lenet5.json");
  EXPECT_EQ(spec.name, "lenet5");
  EXPECT_EQ(spec.layers.size(), 12u);
  EXPECT_EQ(spec.layers[3].path, "layers[3]");
  EXPECT_EQ(spec.training.batch_size, 64);
  EXPECT_EQ(spec.training.optimizer.type, "sgd");
  EXPECT_DOUBLE_EQ(spec.training.optimizer.momentum, 0.95);
  EXPECT_EQ(spec.training.normalize_mean, std::vector<double>{0.1307});
}

TEST(Config, EveryShippedConfigBuildsAndTraces) {
  for (const char* name :
       {"lenet5", "lenet5_classic", "simple_cnn", "mobile_cnn", "mlp", "lenet5_bn",
        "resnet_fashion", "resnet20_cifar10", "lenet5_fashion", "cifar10_cnn"}) {
    const ModelSpec spec = load_config(kConfigs + "/" + name + ".json");
    const CostTable trace = cost_table(spec, 2);
    EXPECT_TRUE(trace.error.empty()) << name << ": " << trace.error;
    EXPECT_EQ(trace.layers.size(), spec.layers.size()) << name;
    auto net = build_model(spec);
    EXPECT_EQ(net->output_shape(input_shape(spec)), tensor::Shape({10})) << name;
  }
}

TEST(Trace, LeNetMatchesHandComputedValues) {
  const CostTable t = cost_table(load_config(kConfigs + "/lenet5.json"), 1);
  ASSERT_TRUE(t.error.empty()) << t.error;
  ASSERT_EQ(t.layers.size(), 12u);
  // conv1: 6*(1*25) + 6 params; 6*28*28*25 MACs; output 6*28*28 floats; im2col 25 x 784 floats.
  EXPECT_EQ(t.layers[0].params, 156);
  EXPECT_EQ(t.layers[0].macs, 117600);
  EXPECT_EQ(t.layers[0].activation_bytes, 18816);
  EXPECT_EQ(t.layers[0].workspace_bytes, 78400);
  // conv2: 16*6*25 + 16 params; 16*10*10*150 MACs; im2col 150 x 100 floats.
  EXPECT_EQ(t.layers[3].params, 2416);
  EXPECT_EQ(t.layers[3].macs, 240000);
  EXPECT_EQ(t.layers[3].workspace_bytes, 60000);
  EXPECT_EQ(t.layers[7].params, 48120);
  EXPECT_EQ(t.layers[7].macs, 48000);
  EXPECT_EQ(t.layers[6].activation_bytes, 1600);  // flatten counts its output too
  const std::vector<int64_t> rf{5, 5, 6, 14, 14, 16}, jump{1, 1, 2, 2, 2, 4};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(t.layers[i].receptive_field, rf[i]) << "layer " << i;
    EXPECT_EQ(t.layers[i].jump, jump[i]) << "layer " << i;
  }
  EXPECT_EQ(t.total_params(), 61706);
  EXPECT_EQ(t.total_macs(), 416520);
  EXPECT_EQ(t.total_activation_bytes(), 60008);
  EXPECT_EQ(t.layers[0].arithmetic[0].formula(), "(28 - 5 + 2*2)/1 + 1 = 28");
  // Parameter sharing: a dense 784 -> 4704 map would need 784*4704 + 4704 parameters.
  EXPECT_EQ(t.layers[0].dense_params, 784 * 4704 + 4704);
  // Separable conv2: depthwise 6*25 + 6, pointwise 6*16 + 16.
  EXPECT_EQ(t.layers[3].separable_params, 150 + 6 + 96 + 16);
}

TEST(Trace, BatchScalesCostsNotParams) {
  const ModelSpec spec = load_config(kConfigs + "/lenet5.json");
  const CostTable one = cost_table(spec, 1), many = cost_table(spec, 64);
  EXPECT_EQ(many.total_params(), one.total_params());
  EXPECT_EQ(many.total_macs(), 64 * one.total_macs());
  EXPECT_EQ(many.total_activation_bytes(), 64 * one.total_activation_bytes());
  EXPECT_EQ(many.layers[0].workspace_bytes, 64 * one.layers[0].workspace_bytes);
  EXPECT_THROW(cost_table(spec, 0), core::Error);
}

TEST(Trace, ImpossibleLayerKeepsRowsBeforeIt) {
  Json config = *load_config(kConfigs + "/lenet5.json").source;
  config["input"]["height"] = 8;
  config["input"]["width"] = 8;
  const CostTable t = cost_table(parse_config(config), 1);
  EXPECT_EQ(t.layers.size(), 3u);  // conv, relu, pool fit; conv2 (5x5 on 4x4) does not
  EXPECT_NE(t.error.find("layer 3 (conv2d)"), std::string::npos) << t.error;
  EXPECT_NE(t.error.find("(4 - 5 + 2*0)/1 + 1"), std::string::npos) << t.error;
}

TEST(Trace, ResNet20HasHeEtAlsParametersAndMacs) {
  const ModelSpec spec = load_config(kConfigs + "/resnet20_cifar10.json");
  const CostTable t = cost_table(spec, 1);
  ASSERT_TRUE(t.error.empty()) << t.error;
  // 0.27 M parameters (projection shortcuts add 2,560 weights + their batch norms) and
  // 41 M multiply-accumulates per 32x32 image (He et al. 2016, table 6).
  EXPECT_EQ(t.total_params(), 272474);
  EXPECT_EQ(t.total_macs(), 40813184);
  // Rows nest: block 3 (the first) holds conv, bn, relu, conv, bn; block 9 (stage 2's first)
  // a projection shortcut too.
  ASSERT_EQ(t.layers.size(), spec.layers.size());
  const LayerCost& first = t.layers[3];
  EXPECT_EQ(first.type, "residual");
  EXPECT_EQ(first.layers.size(), 5u);
  EXPECT_TRUE(first.shortcut.empty());
  EXPECT_EQ(first.layers[3].name, "layers.3.layers.3");
  EXPECT_EQ(first.layers[3].depth, 1);
  const LayerCost& down = t.layers[9];
  ASSERT_EQ(down.shortcut.size(), 2u);
  EXPECT_EQ(down.shortcut[0].name, "layers.9.shortcut.0");
  EXPECT_EQ(down.output, tensor::Shape({32, 16, 16}));
  int64_t child_macs = 0, child_params = 0;
  for (const auto* rows : {&down.layers, &down.shortcut}) {
    for (const auto& r : *rows) {
      child_macs += r.macs;
      child_params += r.params;
    }
  }
  EXPECT_EQ(down.macs, child_macs);
  EXPECT_EQ(down.params, child_params);
  // The receptive field of a block is its longer branch's: two 3x3 convs add 4 at jump 1.
  EXPECT_EQ(t.layers[2].receptive_field, 3);
  EXPECT_EQ(first.receptive_field, 7);
  EXPECT_EQ(flatten_rows(t.layers).size(), 24u + 9u * 5u + 2u * 2u);
}

// Each layer's own work per direction, the roofline's intensities, by hand: ResNet-20's first
// block at batch 2 (16 channels, 32x32: n = 2 x 16 x 32 x 32 elements per tensor).
TEST(Trace, EachLayersOwnTrafficPerDirection) {
  const CostTable t = cost_table(load_config(kConfigs + "/resnet20_cifar10.json"), 2);
  ASSERT_TRUE(t.error.empty()) << t.error;
  const int64_t n = 2 * 16 * 32 * 32;
  const LayerCost& block = t.layers[3];
  // The add: 1 FLOP per element, two tensors read, one written; its backward does no work.
  EXPECT_EQ(block.forward.flops, n);
  EXPECT_EQ(block.forward.bytes, 3 * n * 4);
  EXPECT_EQ(block.backward.flops, 0);
  const LayerCost& conv = block.layers[0];  // 16 -> 16, 3x3, no bias
  const int64_t macs = n * 16 * 9;
  EXPECT_EQ(conv.forward.flops, 2 * macs);
  EXPECT_EQ(conv.forward.bytes, 4 * (n + 16 * 16 * 9 + n));
  EXPECT_EQ(conv.backward.flops, 4 * macs);  // dinput and dweight
  EXPECT_EQ(conv.backward.bytes, 2 * conv.forward.bytes);
  const LayerCost& bn = block.layers[1];
  EXPECT_EQ(bn.forward.flops, 6 * n);
  EXPECT_EQ(bn.forward.bytes, 2 * n * 4);  // x in, y out
  EXPECT_EQ(bn.backward.flops, 8 * n);
  EXPECT_EQ(bn.backward.bytes, 3 * n * 4);  // dy and x in, dx out
  const LayerCost& relu = block.layers[2];
  EXPECT_EQ(relu.forward.flops, n);
  EXPECT_EQ(relu.backward.bytes, 3 * n * 4);
  // The head: global pooling (n_in = 2 x 64 x 8 x 8) and linear 64 -> 10.
  const LayerCost& pool = t.layers[t.layers.size() - 3];
  EXPECT_EQ(pool.type, "global_avgpool2d");
  EXPECT_EQ(pool.forward.flops, 2 * 64 * 8 * 8);
  EXPECT_EQ(pool.forward.bytes, 4 * (2 * 64 * 8 * 8 + 2 * 64));
  const LayerCost& flatten = t.layers[t.layers.size() - 2];
  EXPECT_EQ(flatten.forward.bytes, 0);  // a view: no work counted
  const LayerCost& linear = t.layers.back();
  EXPECT_EQ(linear.forward.flops, 2 * 2 * 64 * 10);
  EXPECT_EQ(linear.forward.bytes, 4 * (2 * 64 + 2 * 10 + 64 * 10 + 10));
  EXPECT_EQ(linear.backward.flops, 2 * linear.forward.flops);
}

TEST(Builder, ResidualBranchesThatDisagreeNameTheBlockAndBothShapes) {
  Json config = *load_config(kConfigs + "/resnet20_cifar10.json").source;
  config["layers"][9].erase("shortcut");  // stage 2's first block downsamples: identity cannot
  try {
    build_model(parse_config(config));
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers[9].type: residual block: its layers give "
                                         "[32, 16, 16], its identity shortcut gives [16, 32, 32]"),
              std::string::npos)
        << e.what();
  }
  config = *load_config(kConfigs + "/resnet20_cifar10.json").source;
  config["layers"][9]["shortcut"][0]["kernel_size"] = 0;
  try {
    build_model(parse_config(config));
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers[9].shortcut[0].kernel_size"), std::string::npos)
        << e.what();
  }
  config = *load_config(kConfigs + "/resnet20_cifar10.json").source;
  config["layers"][3]["layers"] = Json::array();
  EXPECT_THROW(build_model(parse_config(config)), core::Error);
  config["layers"][3]["layers"] = Json::array({{{"type", "batchnorm1d"}}});
  try {
    build_model(parse_config(config));
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("layers[3].layers[0].type: batchnorm1d needs a flat"),
              std::string::npos)
        << e.what();
  }
}

TEST(Builder, ResidualParametersHaveTheCheckpointsTreeNames) {
  auto net = build_model(load_config(kConfigs + "/resnet20_cifar10.json"));
  std::vector<std::string> names;
  for (const auto& p : net->parameters()) names.push_back(p.name);
  for (const char* want :
       {"layers.0.weight", "layers.1.weight", "layers.3.layers.0.weight", "layers.3.layers.4.bias",
        "layers.9.shortcut.0.weight", "layers.9.shortcut.1.bias", "layers.23.weight"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  std::vector<std::string> buffers;
  for (const auto& b : net->buffers()) buffers.push_back(b.name);
  EXPECT_NE(std::find(buffers.begin(), buffers.end(), "layers.9.shortcut.1.num_batches_tracked"),
            buffers.end());
}

// groupnorm's weight is [C], layernorm's the example's shape, as PyTorch's; neither has buffers.
TEST(Builder, GroupNormAndLayerNormHavePyTorchsShapesAndNames) {
  auto net = build_model(load_config(kConfigs + "/lenet5_gn.json"));
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : net->parameters()) shapes[p.name] = p.var.data().shape().dims();
  EXPECT_EQ(shapes.at("layers.1.weight"), (std::vector<int64_t>{6}));
  EXPECT_EQ(shapes.at("layers.5.bias"), (std::vector<int64_t>{16}));
  EXPECT_EQ(shapes.at("layers.10.weight"), (std::vector<int64_t>{120}));
  EXPECT_EQ(shapes.at("layers.13.bias"), (std::vector<int64_t>{84}));
  EXPECT_TRUE(net->buffers().empty());
  Json config = *load_config(kConfigs + "/lenet5_gn.json").source;
  config["layers"][5] = {{"type", "layernorm"}, {"affine", false}};  // over [16, 10, 10]
  const int64_t with_groupnorm = net->parameter_count();
  EXPECT_EQ(build_model(parse_config(config))->parameter_count(), with_groupnorm - 2 * 16);
}

TEST(Builder, GroupNormAndLayerNormErrorsNameTheField) {
  const auto error_of = [](const Json& layer) {
    Json config = *load_config(kConfigs + "/lenet5_gn.json").source;
    config["layers"][1] = layer;
    try {
      build_model(parse_config(config));
    } catch (const core::Error& e) {
      EXPECT_EQ(e.kind(), core::ErrorKind::Invalid);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of({{"type", "groupnorm"}, {"num_groups", 4}}),
            "layers[1].num_groups: expected a divisor of 6 channels, got 4");
  EXPECT_NE(error_of({{"type", "groupnorm"}}).find("layers[1].num_groups"), std::string::npos);
  EXPECT_NE(error_of({{"type", "groupnorm"}, {"num_groups", 0}}).find("layers[1].num_groups"),
            std::string::npos);
  EXPECT_NE(error_of({{"type", "groupnorm"}, {"num_groups", 3}, {"eps", 0}}).find("layers[1].eps"),
            std::string::npos);
  EXPECT_NE(error_of({{"type", "layernorm"}, {"num_groups", 2}}).find("layers[1]"),
            std::string::npos);
  EXPECT_EQ(error_of({{"type", "groupnorm"}, {"num_groups", 6}}), "no error");  // instance norm
}

TEST(Builder, InfersChannelsAndChecksDeclaredOnes) {
  Json config = *load_config(kConfigs + "/lenet5.json").source;
  config["layers"][3]["in_channels"] = 6;
  EXPECT_NO_THROW(build_model(parse_config(config)));
  config["layers"][3]["in_channels"] = 5;
  try {
    build_model(parse_config(config));
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_STREQ(e.what(),
                 "layers[3].in_channels: expected 6 (inferred from the previous layer), got 5");
    EXPECT_EQ(e.kind(), core::ErrorKind::Invalid);
  }
}

TEST(Builder, SameSeedSameWeights) {
  const ModelSpec spec = load_config(kConfigs + "/lenet5.json");
  auto a = build_model(spec), b = build_model(spec);
  EXPECT_EQ(a->parameters()[0].var.data().to_vector(), b->parameters()[0].var.data().to_vector());
}

TEST(Builder, WeightInitReachesEveryWeightedLayer) {
  ModelSpec spec = load_config(kConfigs + "/lenet5.json");
  for (nn::WeightInit init : {nn::WeightInit::HeNormal, nn::WeightInit::PyTorch}) {
    spec.training.weight_init = init;
    auto net = build_model(spec);
    for (const auto& p : net->parameters()) {
      const tensor::Tensor& t = p.var.data();
      float largest = 0.0f;
      for (int64_t i = 0; i < t.numel(); ++i) largest = std::max(largest, std::abs(t[i]));
      const bool is_bias = p.name.ends_with("bias");
      if (init == nn::WeightInit::HeNormal && is_bias) {
        EXPECT_EQ(largest, 0.0f) << p.name;
      } else {
        EXPECT_GT(largest, 0.0f) << p.name;
      }
      // fan_in of LeNet-5's layers is at least 25: U(-1/5, 1/5) at most.
      if (init == nn::WeightInit::PyTorch) {
        EXPECT_LE(largest, 0.2f) << p.name;
      }
    }
  }
}

}  // namespace
}  // namespace tinycnn::model
