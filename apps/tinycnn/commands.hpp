// The CLI's subcommands: each has an options struct, a setup function that binds its flags
// to a CLI11 subcommand, and a run function that does the work and returns the exit code.
// Library errors propagate as core::Error; main.cpp turns them into `error:` lines.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tinycnn::cli {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBelowAccuracy = 3;
constexpr int kExitInterrupted = 130;

struct ShapesOptions {
  std::string config;
  int64_t batch = 1;
  bool json = false;
};
CLI::App* setup_shapes(CLI::App& app, ShapesOptions& options);
int run_shapes(const ShapesOptions& options);

struct TrainOptions {
  std::string config;
  // Config overrides, as text: the config's parser checks them (flags.hpp).
  std::optional<std::string> dataset;
  std::optional<std::string> data;
  std::optional<std::string> epochs;
  std::optional<std::string> batch_size;
  std::optional<std::string> lr;
  std::optional<std::string> seed;
  std::optional<std::string> conv_algo;
  std::optional<std::string> precision;  // as text: the config's parser checks it
  std::optional<std::string> early_stopping_patience;
  std::string out;  // default runs/<model name>
  std::string resume;
  std::string init;
  int64_t limit_train = 0;
  int64_t limit_test = 0;
  std::optional<double> min_accuracy;
  bool force = false;  // a fresh run may replace the run in --out
  bool diagnostics = false;
  bool json = false;
};
CLI::App* setup_train(CLI::App& app, TrainOptions& options);
int run_train(const TrainOptions& options, bool quiet);

struct EvalOptions {
  std::string config;
  std::string checkpoint;
  std::optional<std::string> dataset;
  std::optional<std::string> precision;
  std::optional<std::string> data;
  int64_t limit_test = 0;
  int64_t batch_size = 100;
  std::optional<double> min_accuracy;
  bool json = false;
};
CLI::App* setup_eval(CLI::App& app, EvalOptions& options);
int run_eval(const EvalOptions& options);

struct ProfileOptions {
  bool conv = false;
  std::string model;  // --model CONFIG: per-layer training-step profile
  std::string int8;   // --int8 FILE with --model: that int8 model's inference beside float
  std::optional<std::string> precision;  // --precision: the products' (training.precision)
  std::string config;                    // --config CONFIG with --conv: that model's conv layers
  int64_t batch = 0;                     // 0: each mode's default
  int repeats = 5;
  int warmup = 1;
  std::string sweep;     // size | batch | kernel | channels
  std::string plot;      // SVG file for --sweep
  std::string roofline;  // SVG file: the roofline of the cases or of the model's step
  bool json = false;
  bool csv = false;
  bool strict = false;  // refuse to report timings taken while the machine was busy
};
CLI::App* setup_profile(CLI::App& app, ProfileOptions& options);
int run_profile(const ProfileOptions& options);
int run_profile_model(const ProfileOptions& options);  // the --model mode (profile_model.cpp)
int run_profile_int8(const ProfileOptions& options);   // --model with --int8 (profile_int8.cpp)

struct PredictOptions {
  std::string config;
  std::string checkpoint;
  std::vector<std::string> images;
  int64_t top = 3;
  bool json = false;
};
CLI::App* setup_predict(CLI::App& app, PredictOptions& options);
int run_predict(const PredictOptions& options);

struct LrFindOptions {
  std::string config;
  std::optional<std::string> dataset, data, conv_algo;
  std::optional<std::string> batch_size, seed;  // as text: the config's parser checks them
  double start = 1e-7, end = 10;
  int64_t steps = 100;
  int64_t limit_train = 0;
  std::string out;  // SVG of the curve, or empty
  bool json = false;
};
CLI::App* setup_lr_find(CLI::App& app, LrFindOptions& options);
int run_lr_find(const LrFindOptions& options);

struct QuantizeOptions {
  std::string config, checkpoint, out;
  std::optional<std::string> dataset, data;
  int64_t calibration = 1000;
  std::string method = "minmax";
  bool json = false;
};
CLI::App* setup_quantize(CLI::App& app, QuantizeOptions& options);
int run_quantize(const QuantizeOptions& options);

struct PlotOptions {
  std::vector<std::string> metrics;
  std::string out;
  bool diagnostics = false;
};
CLI::App* setup_plot(CLI::App& app, PlotOptions& options);
int run_plot(const PlotOptions& options);

struct GradcheckOptions {
  std::string config;
  std::optional<std::string> checkpoint;
  int64_t batch = 4;
  std::optional<std::string> seed;  // as text: the config's parser checks it (flags.hpp)
  double eps = 1e-3;
  bool json = false;
};
CLI::App* setup_gradcheck(CLI::App& app, GradcheckOptions& options);
int run_gradcheck(const GradcheckOptions& options);

struct ExportOptions {
  std::string config;
  std::string checkpoint;
  std::string onnx;
  bool json = false;
};
CLI::App* setup_export(CLI::App& app, ExportOptions& options);
int run_export(const ExportOptions& options);

struct VizOptions {
  std::string config;
  std::string checkpoint;
  std::string out;
  int64_t image = 0;
  std::optional<std::string> data;
  bool json = false;
};
CLI::App* setup_viz(CLI::App& app, VizOptions& options);
int run_viz(const VizOptions& options);

}  // namespace tinycnn::cli
