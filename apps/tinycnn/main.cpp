// tinycnn's entry point: global options, subcommand wiring, and the one place that turns
// errors into `error: ...` lines and exit codes (SPEC §1). Subcommands live in cmd_<name>.cpp.
#include <malloc.h>
#include <omp.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "commands.hpp"
#include "core/error.hpp"

namespace {

using namespace tinycnn::cli;

struct GlobalOptions {
  int threads = 0;  // 0: all available cores
  std::string log_level = "info";
  bool quiet = false;
};

void setup_logging(const GlobalOptions& options) {
  auto logger = spdlog::stderr_color_mt("tinycnn");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(options.quiet ? spdlog::level::warn
                                  : spdlog::level::from_str(options.log_level));
}

void print_error(const std::string& message) { std::cerr << "error: " << message << '\n'; }

// Keep freed memory in the process. A training step frees and reallocates tensors of the same
// sizes every step; by default glibc returns large blocks to the OS (mmap / trim), so every
// step page-faults them back in, which costs more than the arithmetic on them here.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
  CLI::App app{"tinycnn: train and profile small convolutional neural networks"};
  app.set_version_flag("--version", std::string("tinycnn ") + TINYCNN_VERSION);
  app.fallthrough();  // global options may also follow the subcommand
  GlobalOptions global;
  app.add_option("--threads", global.threads, "Worker threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--log-level", global.log_level, "Log verbosity on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--quiet", global.quiet, "Only warnings and errors on stderr");
  app.require_subcommand(0, 1);

  ShapesOptions shapes;
  CLI::App* shapes_cmd = setup_shapes(app, shapes);
  TrainOptions train;
  CLI::App* train_cmd = setup_train(app, train);
  EvalOptions eval;
  CLI::App* eval_cmd = setup_eval(app, eval);
  ProfileOptions profile;
  CLI::App* profile_cmd = setup_profile(app, profile);
  PlotOptions plot;
  CLI::App* plot_cmd = setup_plot(app, plot);
  VizOptions viz;
  CLI::App* viz_cmd = setup_viz(app, viz);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(e.what());
    std::cerr << "Run with --help for more information.\n";
    return kExitUsage;
  }

  try {
    setup_logging(global);
    if (global.threads > 0) omp_set_num_threads(global.threads);
    if (shapes_cmd->parsed()) return run_shapes(shapes);
    if (train_cmd->parsed()) return run_train(train, global.quiet);
    if (eval_cmd->parsed()) return run_eval(eval);
    if (profile_cmd->parsed()) return run_profile(profile);
    if (plot_cmd->parsed()) return run_plot(plot);
    if (viz_cmd->parsed()) return run_viz(viz);
    std::cout << app.help();
    return kExitOk;
  } catch (const tinycnn::core::Error& e) {
    print_error(e.what());
    spdlog::debug("thrown at {}", e.where());
    return e.kind() == tinycnn::core::ErrorKind::Invalid ? kExitUsage : kExitRuntime;
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return kExitRuntime;
  } catch (const std::exception& e) {
    print_error(e.what());
    return kExitRuntime;
  }
}
