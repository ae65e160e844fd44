// training.precision / --precision as processes: a bf16 run records its precision, logs its
// path, resumes bit for bit and refuses a resume in the other precision; --init and eval work
// across precisions; a bad value is a config error (exit 2) on train, eval and profile; the
// portable path (TINYCNN_BF16_PORTABLE=1) says once that it is slower and computes what the
// AVX512-BF16 path computes up to summation order.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "run.hpp"
#include "tiny_run.hpp"

namespace tinycnn::testing {
namespace {

using nlohmann::json;

class PrecisionCli : public TinyRun {
 protected:
  std::string out(const std::string& name) const { return path(name); }
  static std::vector<float> weights(const std::string& run, const char* name = "layers.0.weight") {
    return io::read_safetensors(run + "/checkpoint.safetensors").find(name)->to_vector();
  }
};

// Sets an environment variable for the processes a test starts, and unsets it afterwards.
struct ScopedEnv {
  const char* name;
  ScopedEnv(const char* n, const char* value) : name(n) { ::setenv(n, value, 1); }
  ~ScopedEnv() { ::unsetenv(name); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
};

TEST_F(PrecisionCli, Bf16RunRecordsItsPrecisionAndResumesBitForBit) {
  const std::vector<std::string> bf16{"--precision", "bf16", "--threads", "1"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), bf16.begin(), bf16.end());
    return extra;
  };
  const RunResult whole = run_tinycnn(train_args(out("whole"), with({"--epochs", "3"})));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_NE(whole.err.find("precision bf16"), std::string::npos) << whole.err;
  ASSERT_EQ(run_tinycnn(train_args(out("parts"), with({"--epochs", "1"}))).exit_code, 0);
  const RunResult resumed = run_tinycnn(train_args(
      out("parts"), with({"--epochs", "3", "--resume", out("parts") + "/checkpoint.safetensors"})));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(weights(out("whole")), weights(out("parts")));
  EXPECT_EQ(weights(out("whole"), "layers.4.weight"), weights(out("parts"), "layers.4.weight"));

  const io::SafetensorsFile ckpt = io::read_safetensors(out("whole") + "/checkpoint.safetensors");
  EXPECT_EQ(ckpt.metadata.at("precision"), "bf16");
  EXPECT_EQ(json::parse(ckpt.metadata.at("config"))["training"]["precision"], "bf16");
  // The master weights stay float32: not all of them are bfloat16 values.
  int not_bf16 = 0;
  for (float w : weights(out("whole"))) {
    uint32_t u = 0;
    std::memcpy(&u, &w, sizeof u);
    not_bf16 += (u & 0xffffu) != 0;
  }
  EXPECT_GT(not_bf16, 0);

  // The same run in float32 is another run: other weights, precision float32 recorded.
  ASSERT_EQ(run_tinycnn(train_args(out("f32"), {"--epochs", "3", "--threads", "1"})).exit_code, 0);
  EXPECT_NE(weights(out("whole")), weights(out("f32")));
  EXPECT_EQ(io::read_safetensors(out("f32") + "/checkpoint.safetensors").metadata.at("precision"),
            "float32");
}

TEST_F(PrecisionCli, ResumeInTheOtherPrecisionIsRefusedInitAndEvalWork) {
  ASSERT_EQ(run_tinycnn(train_args(out("f32"), {"--epochs", "1"})).exit_code, 0);
  const std::string ckpt = out("f32") + "/checkpoint.safetensors";
  const RunResult resume = run_tinycnn(
      train_args(out("f32"), {"--epochs", "2", "--resume", ckpt, "--precision", "bf16"}));
  EXPECT_EQ(resume.exit_code, 1);
  EXPECT_NE(resume.err.find("saved by a run with training.precision float32; resuming with bf16"),
            std::string::npos)
      << resume.err;

  const RunResult init =
      run_tinycnn(train_args(out("from_f32"), {"--init", ckpt, "--precision", "bf16"}));
  EXPECT_EQ(init.exit_code, 0) << init.err;

  std::vector<double> accuracy;
  for (const char* precision : {"float32", "bf16"}) {
    const RunResult e = run_tinycnn({"eval", config_, "--checkpoint", ckpt, "--data", data_,
                                     "--precision", precision, "--json"});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    accuracy.push_back(json::parse(e.out)["test_accuracy"].get<double>());
  }
  // 64 test images: bfloat16 rounding may move an image or two across a decision boundary.
  EXPECT_NEAR(accuracy[0], accuracy[1], 2.5 / 64);
}

TEST_F(PrecisionCli, AnUnknownPrecisionIsAConfigErrorNamingTheValues) {
  const std::string expected = "training.precision: expected one of float32, bf16, got \"fp16\"";
  for (const std::vector<std::string>& args :
       {train_args(out("x"), {"--precision", "fp16"}),
        std::vector<std::string>{"eval", config_, "--checkpoint", "none.safetensors", "--data",
                                 data_, "--precision", "fp16"},
        std::vector<std::string>{"profile", "--model", config_, "--precision", "fp16"}}) {
    const RunResult r = run_tinycnn(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
  json c = tiny_config();
  c["training"]["precision"] = "bfloat16";
  const RunResult r =
      run_tinycnn({"train", dir_.write("typo.json", c.dump()), "--data", data_, "--out", out("y")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("training.precision: expected one of float32, bf16, got \"bfloat16\""),
            std::string::npos)
      << r.err;
}

// profile --conv --precision bf16: an "implicit bf16" row per case, held to its bound against
// its own reference, and the bf16 peak beside the FMA peak; the step of --model in bf16 names
// the bf16 kernels in its conv rows.
TEST_F(PrecisionCli, ProfileHasBf16RowsAndTheBf16Peak) {
  RunResult r = run_tinycnn({"profile", "--conv", "--config", config_, "--batch", "2", "--repeats",
                             "1", "--warmup", "0", "--precision", "bf16", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_GT(doc["machine"]["bf16_peak_gflops"].get<double>(), 0.0);
  ASSERT_FALSE(doc["cases"].empty());
  for (const auto& c : doc["cases"]) {
    ASSERT_TRUE(c["results"].contains("implicit bf16")) << c.dump();
    const json& row = c["results"]["implicit bf16"];
    EXPECT_EQ(row["kernels"]["forward"], "implicit wide bf16");
    EXPECT_LE(row["max_rel_diff"].get<double>(), row["error_bound"].get<double>());
    EXPECT_GT(row["forward_ms_median"].get<double>(), 0.0);
  }
  r = run_tinycnn({"profile", "--conv", "--config", config_, "--precision", "fp16"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("precision: expected one of float32, bf16, got 'fp16'"), std::string::npos)
      << r.err;
  r = run_tinycnn({"profile", "--model", config_, "--batch", "4", "--repeats", "1", "--warmup", "0",
                   "--precision", "bf16", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(json::parse(r.out)["layers"][0]["algorithm"].get<std::string>().find("[bf16]"),
            std::string::npos)
      << r.out;
}

TEST_F(PrecisionCli, ThePortablePathSaysSoOnceAndComputesTheSame) {
  const std::vector<std::string> args =
      train_args(out("native"), {"--precision", "bf16", "--threads", "1", "--epochs", "2"});
  const RunResult native = run_tinycnn(args);
  ASSERT_EQ(native.exit_code, 0) << native.err;
  RunResult portable;
  {
    const ScopedEnv env("TINYCNN_BF16_PORTABLE", "1");
    portable = run_tinycnn(
        train_args(out("portable"), {"--precision", "bf16", "--threads", "1", "--epochs", "2"}));
  }
  ASSERT_EQ(portable.exit_code, 0) << portable.err;
  const std::string warning = "the products run on the portable";
  const size_t at = portable.err.find(warning);
  ASSERT_NE(at, std::string::npos) << portable.err;
  EXPECT_EQ(portable.err.find(warning, at + 1), std::string::npos) << "said more than once";
  EXPECT_NE(portable.err.find("slower than float32"), std::string::npos);
  // Two epochs of training on the two paths: the same products, so the same weights up to the
  // summation order of the sums (and the steps amplifying it a little).
  const std::vector<float> a = weights(out("native")), b = weights(out("portable"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 + 1e-3 * std::abs(a[i])) << i;
}

}  // namespace
}  // namespace tinycnn::testing
