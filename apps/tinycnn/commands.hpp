// The CLI's subcommands: each has an options struct, a setup function that binds its flags
// to a CLI11 subcommand, and a run function that does the work and returns the exit code.
// Library errors propagate as core::Error; main.cpp turns them into `error:` lines.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
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

}  // namespace tinycnn::cli
