// `tinycnn shapes` run as a process: the LeNet-5 document field for field, batch scaling, the
// table, and malformed configs -> one `error:` line naming the JSON path or layer, exit 2.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run.hpp"

namespace tinycnn::testing {
namespace {

using nlohmann::json;

const std::string kLenet = std::string(TINYCNN_CONFIG_DIR) + "/lenet5.json";

json lenet_config() {
  std::ifstream in(kLenet);
  return json::parse(in);
}

TEST(ShapesCli, LeNetJsonDocumentFieldForField) {
  const RunResult r = run_tinycnn({"shapes", kLenet, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);  // stdout is exactly one JSON document
  // Hand-computed (docs/cli.md): conv OC*OH*OW*C*K*K MACs, bytes = floats * 4.
  const json expected_layers = json::parse(R"([
    {"index":0,"name":"layers.0","type":"conv2d","input_shape":[1,28,28],"output_shape":[6,28,28],"params":156,"macs":117600,"flops":235200,"activation_bytes":18816,"workspace_bytes":78400,"receptive_field":5,"jump":1,
     "algorithm":{"algo":"implicit","forward":"implicit wide","dinput":"implicit transposed","dweight":"implicit wide"}},
    {"index":1,"name":"layers.1","type":"relu","input_shape":[6,28,28],"output_shape":[6,28,28],"params":0,"macs":0,"flops":0,"activation_bytes":18816,"workspace_bytes":0,"receptive_field":5,"jump":1},
    {"index":2,"name":"layers.2","type":"maxpool2d","input_shape":[6,28,28],"output_shape":[6,14,14],"params":0,"macs":0,"flops":0,"activation_bytes":4704,"workspace_bytes":0,"receptive_field":6,"jump":2},
    {"index":3,"name":"layers.3","type":"conv2d","input_shape":[6,14,14],"output_shape":[16,10,10],"params":2416,"macs":240000,"flops":480000,"activation_bytes":6400,"workspace_bytes":60000,"receptive_field":14,"jump":2,
     "algorithm":{"algo":"implicit","forward":"implicit pixel-major","dinput":"implicit gather","dweight":"implicit pixel-major"}},
    {"index":4,"name":"layers.4","type":"relu","input_shape":[16,10,10],"output_shape":[16,10,10],"params":0,"macs":0,"flops":0,"activation_bytes":6400,"workspace_bytes":0,"receptive_field":14,"jump":2},
    {"index":5,"name":"layers.5","type":"maxpool2d","input_shape":[16,10,10],"output_shape":[16,5,5],"params":0,"macs":0,"flops":0,"activation_bytes":1600,"workspace_bytes":0,"receptive_field":16,"jump":4},
    {"index":6,"name":"layers.6","type":"flatten","input_shape":[16,5,5],"output_shape":[400],"params":0,"macs":0,"flops":0,"activation_bytes":1600,"workspace_bytes":0,"receptive_field":16,"jump":4},
    {"index":7,"name":"layers.7","type":"linear","input_shape":[400],"output_shape":[120],"params":48120,"macs":48000,"flops":96000,"activation_bytes":480,"workspace_bytes":0,"receptive_field":32,"jump":4},
    {"index":8,"name":"layers.8","type":"relu","input_shape":[120],"output_shape":[120],"params":0,"macs":0,"flops":0,"activation_bytes":480,"workspace_bytes":0,"receptive_field":32,"jump":4},
    {"index":9,"name":"layers.9","type":"linear","input_shape":[120],"output_shape":[84],"params":10164,"macs":10080,"flops":20160,"activation_bytes":336,"workspace_bytes":0,"receptive_field":32,"jump":4},
    {"index":10,"name":"layers.10","type":"relu","input_shape":[84],"output_shape":[84],"params":0,"macs":0,"flops":0,"activation_bytes":336,"workspace_bytes":0,"receptive_field":32,"jump":4},
    {"index":11,"name":"layers.11","type":"linear","input_shape":[84],"output_shape":[10],"params":850,"macs":840,"flops":1680,"activation_bytes":40,"workspace_bytes":0,"receptive_field":32,"jump":4}
  ])");
  const json expected = {{"model", "lenet5"},
                         {"batch", 1},
                         {"input_shape", {1, 28, 28}},
                         {"layers", expected_layers},
                         {"total",
                          {{"params", 61706},
                           {"macs", 416520},
                           {"flops", 833040},
                           {"param_bytes", 246824},
                           {"activation_bytes", 60008}}}};
  EXPECT_EQ(doc, expected) << doc.dump(1);
}

TEST(ShapesCli, BatchScalesCostsAndNotParams) {
  const RunResult one = run_tinycnn({"shapes", kLenet, "--json"});
  const RunResult many =
      run_tinycnn({"--threads", "1", "shapes", kLenet, "--json", "--batch", "64"});
  ASSERT_EQ(many.exit_code, 0) << many.err;
  const json a = json::parse(one.out), b = json::parse(many.out);
  EXPECT_EQ(b["batch"], 64);
  EXPECT_EQ(b["total"]["params"], a["total"]["params"]);
  EXPECT_EQ(b["total"]["param_bytes"], a["total"]["param_bytes"]);
  for (const char* key : {"macs", "flops", "activation_bytes"}) {
    EXPECT_EQ(b["total"][key].get<int64_t>(), 64 * a["total"][key].get<int64_t>()) << key;
  }
  for (size_t i = 0; i < a["layers"].size(); ++i) {
    for (const char* key : {"macs", "flops", "activation_bytes", "workspace_bytes"}) {
      EXPECT_EQ(b["layers"][i][key].get<int64_t>(), 64 * a["layers"][i][key].get<int64_t>());
    }
    EXPECT_EQ(b["layers"][i]["params"], a["layers"][i]["params"]);
  }
}

TEST(ShapesCli, TableShowsArithmeticTotalsAndSharing) {
  const RunResult r = run_tinycnn({"shapes", kLenet, "--threads", "1"});  // global option after
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(28 - 5 + 2*2)/1 + 1 = 28"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("61,706 params"), std::string::npos);
  EXPECT_NE(r.out.find("416,520 MACs"), std::string::npos);
  EXPECT_NE(r.out.find("833,040 FLOPs"), std::string::npos);
  EXPECT_NE(r.out.find("dense"), std::string::npos);
  EXPECT_NE(r.out.find("separable"), std::string::npos);
  EXPECT_EQ(r.err, "");
}

TEST(ShapesCli, TruncatingDivisionWarns) {
  TempDir dir;
  json c = lenet_config();
  c["input"]["height"] = 29;  // (29 - 2)/2 + 1 = 14 rem 1 at the first pooling
  const RunResult r = run_tinycnn({"shapes", dir.write("c.json", c.dump())});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("truncates"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("(truncates)"), std::string::npos);
}

TEST(ShapesCli, ImpossibleShapePrintsRowsThenErrorExit2) {
  TempDir dir;
  json c = lenet_config();
  c["input"]["height"] = 8;
  c["input"]["width"] = 8;
  const RunResult r = run_tinycnn({"shapes", dir.write("small.json", c.dump())});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("maxpool2d"), std::string::npos) << r.out;  // rows before the failure
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("layer 3 (conv2d)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(4 - 5 + 2*0)/1 + 1"), std::string::npos) << r.err;
}

struct BadConfig {
  std::string name;
  std::function<std::string()> make;  // the file's contents
  std::string expect;                 // a substring of the error line
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

std::function<std::string()> mutate(std::function<void(json&)> f) {
  return [f] {
    json c = lenet_config();
    f(c);
    return c.dump();
  };
}
std::function<std::string()> text(std::string s) {
  return [s] { return s; };
}

class BadConfigs : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigs, OneErrorLineExit2) {
  TempDir dir;
  const std::string path = dir.write("bad.json", GetParam().make());
  const RunResult r = run_tinycnn({"shapes", path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(GetParam().expect), std::string::npos)
      << "expected '" << GetParam().expect << "' in: " << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, BadConfigs,
    ::testing::Values(
        BadConfig{"unknown_top_key", mutate([](json& c) { c["optimiser"] = 1; }),
                  "optimiser: unknown key; allowed: name, input, layers, training"},
        BadConfig{"unknown_layer_type", mutate([](json& c) { c["layers"][0]["type"] = "conv3d"; }),
                  "layers[0].type: unknown layer type \"conv3d\"; allowed: conv2d"},
        BadConfig{"unknown_layer_key", mutate([](json& c) { c["layers"][0]["kernal_size"] = 5; }),
                  "layers[0].kernal_size: unknown key; allowed: type, out_channels, kernel_size"},
        BadConfig{
            "negative_kernel", mutate([](json& c) { c["layers"][3]["kernel_size"] = -1; }),
            "layers[3].kernel_size: expected an integer >= 1 or a pair [h, w] of them, got -1"},
        BadConfig{"zero_kernel", mutate([](json& c) { c["layers"][0]["kernel_size"] = 0; }),
                  "layers[0].kernel_size: expected"},
        BadConfig{"kernel_as_string", mutate([](json& c) { c["layers"][0]["kernel_size"] = "5"; }),
                  "layers[0].kernel_size: expected"},
        BadConfig{"kernel_one_element",
                  mutate([](json& c) { c["layers"][0]["kernel_size"] = {5}; }),
                  "layers[0].kernel_size: expected"},
        BadConfig{"missing_out_channels",
                  mutate([](json& c) { c["layers"][0].erase("out_channels"); }),
                  "layers[0].out_channels: required key is missing"},
        BadConfig{"zero_out_channels", mutate([](json& c) { c["layers"][0]["out_channels"] = 0; }),
                  "layers[0].out_channels: expected an integer in [1, 1048576], got 0"},
        BadConfig{"fractional_out_channels",
                  mutate([](json& c) { c["layers"][0]["out_channels"] = 2.5; }),
                  "layers[0].out_channels: expected an integer"},
        BadConfig{"huge_out_channels",
                  mutate([](json& c) { c["layers"][0]["out_channels"] = 1e12; }),
                  "layers[0].out_channels: expected an integer"},
        BadConfig{"zero_stride", mutate([](json& c) { c["layers"][0]["stride"] = 0; }),
                  "layers[0].stride: expected"},
        BadConfig{"negative_padding", mutate([](json& c) { c["layers"][0]["padding"] = -1; }),
                  "layers[0].padding: expected an integer >= 0"},
        BadConfig{
            "groups_not_dividing_input", mutate([](json& c) { c["layers"][3]["groups"] = 4; }),
            "layers[3].groups: expected a divisor of in_channels 6 and out_channels 16, got 4"},
        BadConfig{"in_channels_mismatch",
                  mutate([](json& c) { c["layers"][3]["in_channels"] = 3; }),
                  "layers[3].in_channels: expected 6 (inferred from the previous layer), got 3"},
        BadConfig{
            "in_features_mismatch", mutate([](json& c) { c["layers"][7]["in_features"] = 256; }),
            "layers[7].in_features: expected 400 (inferred from the previous layer), got 256"},
        BadConfig{"linear_before_flatten", mutate([](json& c) { c["layers"].erase(6); }),
                  "layers[6].type: linear needs a flat [F] input (add a flatten layer before it)"},
        BadConfig{"conv_after_flatten", mutate([](json& c) {
                    c["layers"][7] = {{"type", "conv2d"}, {"out_channels", 2}, {"kernel_size", 1}};
                  }),
                  "layers[7].type: conv2d needs a [C, H, W] input"},
        BadConfig{"kernel_larger_than_input",
                  mutate([](json& c) { c["layers"][3]["kernel_size"] = 15; }),
                  "layer 3 (conv2d): conv2d height: kernel 15 is larger than the padded input 14"},
        BadConfig{"pool_padding_over_half", mutate([](json& c) { c["layers"][2]["padding"] = 2; }),
                  "layers[2].padding: expected at most half of kernel_size 2x2, got 2x2"},
        BadConfig{"missing_input", mutate([](json& c) { c.erase("input"); }),
                  "input: required key is missing"},
        BadConfig{"zero_channels", mutate([](json& c) { c["input"]["channels"] = 0; }),
                  "input.channels: expected an integer in [1, 65536], got 0"},
        BadConfig{"height_as_string", mutate([](json& c) { c["input"]["height"] = "28"; }),
                  "input.height: expected an integer in [1, 65536], got \"28\""},
        BadConfig{"missing_name", mutate([](json& c) { c.erase("name"); }),
                  "name: required key is missing"},
        BadConfig{"empty_layers", mutate([](json& c) { c["layers"] = json::array(); }),
                  "layers: expected a non-empty array, got an array of 0"},
        BadConfig{"layers_not_array", mutate([](json& c) {
                    c["layers"] = {{"type", "relu"}};
                  }),
                  "layers: expected a non-empty array, got an object"},
        BadConfig{"layer_not_object", mutate([](json& c) { c["layers"][1] = "relu"; }),
                  "layers[1]: expected an object, got \"relu\""},
        BadConfig{"layer_without_type", mutate([](json& c) { c["layers"][1].erase("type"); }),
                  "layers[1].type: expected a layer type string, got nothing"},
        BadConfig{"zero_epochs", mutate([](json& c) { c["training"]["epochs"] = 0; }),
                  "training.epochs: expected an integer in [1, 100000], got 0"},
        BadConfig{"negative_batch", mutate([](json& c) { c["training"]["batch_size"] = -1; }),
                  "training.batch_size: expected an integer in [1, 65536], got -1"},
        BadConfig{"unknown_optimizer",
                  mutate([](json& c) { c["training"]["optimizer"]["type"] = "rmsprop"; }),
                  "training.optimizer.type: expected one of sgd, adam, got \"rmsprop\""},
        BadConfig{"negative_lr", mutate([](json& c) { c["training"]["optimizer"]["lr"] = -0.1; }),
                  "training.optimizer.lr: expected a number in (0, 1e+06], got -0.1"},
        BadConfig{"adam_key_on_sgd",
                  mutate([](json& c) { c["training"]["optimizer"]["beta1"] = 0.9; }),
                  "training.optimizer.beta1: unknown key; allowed: type, lr, momentum"},
        BadConfig{"nesterov_without_momentum", mutate([](json& c) {
                    c["training"]["optimizer"] = {{"type", "sgd"}, {"nesterov", true}};
                  }),
                  "training.optimizer.nesterov: needs momentum > 0"},
        BadConfig{"unknown_conv_algo", mutate([](json& c) { c["training"]["conv_algo"] = "fft"; }),
                  "training.conv_algo: expected one of naive, im2col, implicit, winograd, auto, "
                  "got \"fft\""},
        BadConfig{"unknown_weight_init",
                  mutate([](json& c) { c["training"]["weight_init"] = "xavier"; }),
                  "training.weight_init: expected one of he_normal, pytorch, got \"xavier\""},
        BadConfig{"label_smoothing_one",
                  mutate([](json& c) { c["training"]["label_smoothing"] = 1.0; }),
                  "training.label_smoothing: expected a number in [0, 1), got 1.0"},
        BadConfig{"label_smoothing_negative",
                  mutate([](json& c) { c["training"]["label_smoothing"] = -0.1; }),
                  "training.label_smoothing: expected a number in [0, 1), got -0.1"},
        BadConfig{"negative_patience", mutate([](json& c) {
                    c["training"]["early_stopping"] = {{"patience", -1}};
                  }),
                  "training.early_stopping.patience: expected an integer in [0, 100000], got -1"},
        BadConfig{"unknown_monitor", mutate([](json& c) {
                    c["training"]["early_stopping"] = {{"monitor", "val_acc"}};
                  }),
                  "training.early_stopping.monitor: expected one of test_accuracy, test_loss, "
                  "got \"val_acc\""},
        BadConfig{"negative_min_delta", mutate([](json& c) {
                    c["training"]["early_stopping"] = {{"min_delta", -0.5}};
                  }),
                  "training.early_stopping.min_delta: expected a number in [0, 1e+06], got -0.5"},
        BadConfig{"cutout_larger_than_the_image", mutate([](json& c) {
                    c["training"]["augment"] = {{"cutout", {{"size", 29}}}};
                  }),
                  "training.augment.cutout.size: expected at most 28 (the input is 28x28), got "
                  "29"},
        BadConfig{"mixup_alpha_zero", mutate([](json& c) {
                    c["training"]["augment"] = {{"mixup", {{"alpha", 0}}}};
                  }),
                  "training.augment.mixup.alpha: expected a number in (0, 100], got 0"},
        BadConfig{"cutmix_without_alpha", mutate([](json& c) {
                    c["training"]["augment"] = {{"cutmix", json::object()}};
                  }),
                  "training.augment.cutmix.alpha: required key is missing"},
        BadConfig{"cutmix_negative_alpha", mutate([](json& c) {
                    c["training"]["augment"] = {{"cutmix", {{"alpha", -1}}}};
                  }),
                  "training.augment.cutmix.alpha: expected a number in (0, 100], got -1"},
        BadConfig{"groupnorm_groups_not_dividing", mutate([](json& c) {
                    c["layers"][1] = {{"type", "groupnorm"}, {"num_groups", 4}};
                  }),
                  "layers[1].num_groups: expected a divisor of 6 channels, got 4"},
        BadConfig{"unknown_training_key", mutate([](json& c) { c["training"]["epoch"] = 3; }),
                  "training.epoch: unknown key; allowed: dataset, data_dir, epochs"},
        BadConfig{"step_schedule_without_step_size", mutate([](json& c) {
                    c["training"]["lr_schedule"] = {{"type", "step"}};
                  }),
                  "training.lr_schedule.step_size: required key is missing"},
        BadConfig{"dropout_p_one", mutate([](json& c) {
                    c["layers"][8] = {{"type", "dropout"}, {"p", 1.0}};
                  }),
                  "layers[8].p: expected a number in [0, 0.999], got 1.0"},
        BadConfig{"bias_not_boolean", mutate([](json& c) { c["layers"][0]["bias"] = "yes"; }),
                  "layers[0].bias: expected true or false, got \"yes\""},
        BadConfig{"last_layer_not_flat", mutate([](json& c) {
                    c["layers"] = {{{"type", "conv2d"}, {"out_channels", 2}, {"kernel_size", 3}}};
                  }),
                  "layers: the last layer must output class scores [K], got [2, 26, 26]"},
        BadConfig{"linear_too_large",
                  mutate([](json& c) { c["layers"][7]["out_features"] = 1048576; }),
                  "layers[7].out_features: layer would have 400 x 1048576 weights"},
        BadConfig{"not_json", text("this is not json"), "bad.json: not valid JSON (byte 2)"},
        BadConfig{"truncated_json", text("{\"name\": \"lenet5\", \"layers\": ["),
                  "bad.json: not valid JSON"},
        BadConfig{"empty_file", text(""), "bad.json: not valid JSON"},
        BadConfig{"top_level_array", text("[1, 2, 3]"),
                  "config: expected an object, got an array of 3"},
        BadConfig{"invalid_utf8", text("{\"name\": \"\xff\xfe\"}"), "bad.json: not valid JSON"},
        BadConfig{"deeply_nested",
                  text("{\"name\": \"x\", \"input\": " + std::string(200000, '[') +
                       std::string(200000, ']') + "}"),
                  "bad.json: JSON nested deeper than 64 levels"},
        BadConfig{"number_out_of_range", text("{\"name\": \"x\", \"input\": 7e7777}"),
                  "bad.json: not valid JSON (a number out of range)"},
        BadConfig{"duplicate_key", text("{\"name\": \"a\", \"name\": \"b\"}"),
                  "bad.json: key \"name\" appears twice in one object"}),
    [](const auto& test_param) { return test_param.param.name; });

TEST(ShapesCli, MissingFileAndDirectory) {
  TempDir dir;
  RunResult r = run_tinycnn({"shapes", (dir.path() / "nope.json").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.json: no such file"), std::string::npos) << r.err;
  r = run_tinycnn({"shapes", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
}

TEST(ShapesCli, UsageErrors) {
  EXPECT_EQ(run_tinycnn({"shapes"}).exit_code, 2);
  EXPECT_EQ(run_tinycnn({"shapes", kLenet, "--batch", "0"}).exit_code, 2);
  EXPECT_EQ(run_tinycnn({"shapes", kLenet, "--batch", "x"}).exit_code, 2);
  const RunResult help = run_tinycnn({"shapes", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--batch"), std::string::npos);
}

}  // namespace
}  // namespace tinycnn::testing

namespace tinycnn::testing {
namespace {
// `tinycnn gradcheck`: LeNet-5 passes (ReLU and max-pool kinks skipped), one JSON document.
TEST(GradcheckCli, LeNetPassesAsJson) {
  const RunResult r = run_tinycnn({"gradcheck", kLenet, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_TRUE(doc.at("pass").get<bool>());
  ASSERT_EQ(doc.at("layers").size(), 12u);
  const auto& conv = doc.at("layers")[0];
  EXPECT_EQ(conv.at("type"), "conv2d");
  ASSERT_EQ(conv.at("checks").size(), 3u);  // input, weight, bias
  EXPECT_EQ(conv.at("checks")[1].at("name"), "weight");
  const auto& linear = doc.at("layers")[7];  // linear(400->120): its weight's entries checked
  EXPECT_GT(linear.at("checks")[1].at("entries").get<int>(), 100);
  EXPECT_GT(doc.at("layers")[0].at("checks")[0].at("entries").get<int>(), 100);
}

TEST(GradcheckCli, BadFlagsAreUsageErrors) {
  EXPECT_EQ(run_tinycnn({"gradcheck", kLenet, "--batch", "0"}).exit_code, 2);
  EXPECT_EQ(run_tinycnn({"gradcheck", kLenet, "--eps", "-1"}).exit_code, 2);
}
}  // namespace
}  // namespace tinycnn::testing
