// The run on disk: metrics.jsonl lines with their diagnostics round-trip, and a bad value
// names its line.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "run/metrics_log.hpp"

namespace tinycnn::run {
namespace {
TEST(MetricsDiagnostics, RoundTripAndBadValuesNameTheLine) {
  const std::string line =
      R"({"epoch":1,"train_loss":0.5,"train_accuracy":0.8,"test_loss":0.4,"test_accuracy":0.9,)"
      R"("diagnostics":[{"layer":"layers.0","type":"conv2d","grad_norm":0.25,"weight_norm":2,)"
      R"("update_ratio":0.01},{"layer":"layers.1","type":"relu","dead_fraction":0.5}]})";
  const auto epochs = parse_metrics(line + "\n", "m.jsonl");
  ASSERT_EQ(epochs[0].diagnostics.size(), 2u);
  EXPECT_EQ(epochs[0].diagnostics[0].layer, "layers.0");
  EXPECT_DOUBLE_EQ(epochs[0].diagnostics[0].grad_norm, 0.25);
  EXPECT_DOUBLE_EQ(epochs[0].diagnostics[1].dead_fraction, 0.5);
  for (const char* bad : {R"("dead_fraction":1.5)", R"("dead_fraction":-1)"}) {
    std::string text = line;
    text.replace(text.find(R"("dead_fraction":0.5)"), 19, bad);
    try {
      parse_metrics(text, "m.jsonl");
      FAIL() << bad;
    } catch (const core::Error& e) {
      EXPECT_NE(std::string(e.what()).find("m.jsonl:1: diagnostics: dead_fraction"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(parse_metrics(R"({"epoch":1,"train_loss":0.5,"train_accuracy":0.8,)"
                             R"("test_loss":0.4,"test_accuracy":0.9,"diagnostics":{}})",
                             "m.jsonl"),
               core::Error);
}
}  // namespace
}  // namespace tinycnn::run
