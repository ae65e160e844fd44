// The CLI's subcommands: each has an options struct, a setup function that binds its flags
// to a CLI11 subcommand, and a run function that does the work and returns the exit code.
// Library errors propagate as core::Error; main.cpp turns them into `error:` lines.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

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
  std::optional<std::string> data;
  std::optional<int64_t> epochs;
  std::optional<int64_t> batch_size;
  std::optional<double> lr;
  std::optional<int64_t> seed;
  std::optional<std::string> conv_algo;
  std::string out;  // default runs/<model name>
  std::string resume;
  std::string init;
  int64_t limit_train = 0;
  int64_t limit_test = 0;
  std::optional<double> min_accuracy;
  bool json = false;
};
CLI::App* setup_train(CLI::App& app, TrainOptions& options);
int run_train(const TrainOptions& options, bool quiet);

struct EvalOptions {
  std::string config;
  std::string checkpoint;
  std::optional<std::string> data;
  int64_t limit_test = 0;
  std::optional<double> min_accuracy;
  bool json = false;
};
CLI::App* setup_eval(CLI::App& app, EvalOptions& options);
int run_eval(const EvalOptions& options);

}  // namespace tinycnn::cli
