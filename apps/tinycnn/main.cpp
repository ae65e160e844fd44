// tinycnn's entry point: global options, subcommand wiring, and the one place that turns
// errors into `error: ...` lines and exit codes (docs/cli.md). Subcommands live in cmd_<name>.cpp.
#include <omp.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/group.hpp"
#include "commands.hpp"
#include "core/error.hpp"
#include "core/sysinfo.hpp"
#include "kernels/bf16.hpp"

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
  if (tinycnn::cluster::world().rank() != 0) spdlog::set_level(spdlog::level::off);  // one writer
}

void print_error(const std::string& message) { std::cerr << "error: " << message << '\n'; }

// Under mpirun an error another rank reports is not printed again; an error only this rank saw
// ends the whole job (the others may be waiting in a collective).
int fail(const tinycnn::core::Error* error, const std::string& message, int code) {
  tinycnn::cluster::Group& world = tinycnn::cluster::world();
  if (!dynamic_cast<const tinycnn::cluster::ReportedElsewhere*>(error)) print_error(message);
  if (world.size() > 1 && !tinycnn::cluster::failure_is_shared()) tinycnn::cluster::abort_job(code);
  return code;
}

// A usage error is one line, with the help to read: the subcommand's where one was given.
int usage_error(const CLI::App& app, const CLI::ParseError& e) {
  std::string help = "tinycnn --help";
  for (const CLI::App* sub : app.get_subcommands()) help = "tinycnn " + sub->get_name() + " --help";
  // Every rank parses the same arguments: rank 0 says what is wrong.
  if (tinycnn::cluster::world().rank() == 0)
    print_error(std::string(e.what()) + " (see " + help + ")");
  return kExitUsage;
}

// A result that could not be written is a failure, not a success with nothing to show.
int check_stdout(int code) {
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  if (flushed && std::cout.good() && !std::ferror(stdout)) return code;
  const int why = errno;
  print_error(std::string("cannot write to standard output: ") +
              (why ? std::strerror(why) : "write failed"));
  return kExitRuntime;
}

// Runs the parsed subcommand; library errors become one `error:` line and their exit code.
int run_command(const CLI::App& app, const GlobalOptions& global,
                const std::vector<std::pair<CLI::App*, std::function<int()>>>& commands) {
  try {
    setup_logging(global);
    if (global.threads > 0) omp_set_num_threads(global.threads);
    for (const auto& [command, run] : commands) {  // under mpirun: train only
      if (command->parsed() && command->get_name() != "train" &&
          tinycnn::cluster::world().size() > 1) {
        tinycnn::cluster::fail_together(tinycnn::cluster::world(),
                                        tinycnn::core::ErrorKind::Invalid,
                                        "tinycnn " + command->get_name() +
                                            " runs in one process; only train runs across "
                                            "processes under mpirun");
      }
    }
    for (const auto& [command, run] : commands) {
      if (command->parsed()) return check_stdout(run());
    }
    std::cout << app.help();
    return check_stdout(kExitOk);
  } catch (const tinycnn::core::Error& e) {
    spdlog::debug("thrown at {}", e.where());
    return fail(&e, e.what(),
                e.kind() == tinycnn::core::ErrorKind::Invalid ? kExitUsage : kExitRuntime);
  } catch (const std::bad_alloc&) {
    return fail(nullptr, "out of memory", kExitRuntime);
  } catch (const std::exception& e) {
    return fail(nullptr, e.what(), kExitRuntime);
  }
}

// Run alone, or as one rank of an mpirun job: MPI is joined (and left) only under a launcher.
int run_main(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe on stdout (`tinycnn ... | head -1`) is a failed write, reported by
  // check_stdout as exit 1 with an error line, not a death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    tinycnn::cluster::init(argc, argv);
  } catch (const tinycnn::core::Error& e) {
    print_error(e.what());
    return kExitUsage;
  }
  const int code = run_main(argc, argv);
  tinycnn::cluster::finalize();
  return code;
}

namespace {
int run_main(int argc, char** argv) {
  tinycnn::core::keep_freed_memory();
  // TINYCNN_BF16_PORTABLE=1: the bf16 products on the portable path even where the CPU has
  // AVX512-BF16 (docs/cli.md; the tests compare the two).
  if (const char* portable = std::getenv("TINYCNN_BF16_PORTABLE");
      portable && std::string_view(portable) == "1") {
    tinycnn::kernels::set_bf16_portable(true);
  }
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

  // One entry per subcommand: its parsed flag and how to run it with its options.
  ShapesOptions shapes;
  TrainOptions train;
  EvalOptions eval;
  ProfileOptions profile;
  PredictOptions predict;
  PlotOptions plot;
  VizOptions viz;
  GradcheckOptions gradcheck;
  ExportOptions export_options;
  LrFindOptions lr_find;
  QuantizeOptions quantize;
  const std::vector<std::pair<CLI::App*, std::function<int()>>> commands{
      {setup_shapes(app, shapes), [&] { return run_shapes(shapes); }},
      {setup_train(app, train), [&] { return run_train(train, global.quiet); }},
      {setup_eval(app, eval), [&] { return run_eval(eval); }},
      {setup_profile(app, profile), [&] { return run_profile(profile); }},
      {setup_predict(app, predict), [&] { return run_predict(predict); }},
      {setup_plot(app, plot), [&] { return run_plot(plot); }},
      {setup_viz(app, viz), [&] { return run_viz(viz); }},
      {setup_gradcheck(app, gradcheck), [&] { return run_gradcheck(gradcheck); }},
      {setup_export(app, export_options), [&] { return run_export(export_options); }},
      {setup_lr_find(app, lr_find), [&] { return run_lr_find(lr_find); }},
      {setup_quantize(app, quantize), [&] { return run_quantize(quantize); }},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e);
  }
  return run_command(app, global, commands);
}
}  // namespace
