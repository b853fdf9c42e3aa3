// permjit: the command line of the sparse-attention JIT.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "Cli.h"
#include "permjit/patterns/Search.h"
#include "permjit/patterns/Viz.h"

namespace {

using permjit::cli::UsageError;

void printHelp() {
  std::printf(
      "permjit %s: JIT compiler for sparse attention (MMInference patterns)\n\n"
      "usage: permjit <command> [options]   (permjit <command> --help for details)\n\n"
      "commands:\n"
      "  compile   PATTERN.json --seq-len N --emit pattern-ir|tile-ir|spec|cuda|ptx|cubin\n"
      "  run       PATTERN.json --seq-len N --heads H: run on the GPU, check, time\n"
      "  cache     stats|clear: the on-disk kernel cache\n"
      "  demo      the MMInference grid head end to end (works without a GPU too)\n"
      "  viz       PATTERN.json --seq-len N -o out.png: picture of the kept pairs\n"
      "  search    --q Q.npy --k K.npy -o config.json: offline per-head pattern search\n"
      "  tune      PATTERN.json --seq-len N: autotune tile sizes on this GPU (tuning database)\n\n"
      "environment:\n",
      PERMJIT_VERSION);
  for (const auto& variable : permjit::env::variables()) {
    std::printf("  %-22s %s\n", variable.name, variable.help);
  }
}

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* usage;
};

// Subcommands that parse their own arguments and return their exit code (argv[0] is the
// subcommand name): the pattern library's tools.
struct ExternalCommand {
  const char* name;
  int (*run)(int, char**);
};

}  // namespace

int main(int argc, char** argv) {
  const Command commands[] = {
      {"compile", permjit::cli::compileCommand, permjit::cli::kCompileUsage},
      {"run", permjit::cli::runCommand, permjit::cli::kRunUsage},
      {"cache", permjit::cli::cacheCommand, permjit::cli::kCacheUsage},
      {"demo", permjit::cli::demoCommand, permjit::cli::kDemoUsage},
  };
  if (argc < 2) {
    printHelp();
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    printHelp();
    return 0;
  }
  if (name == "--version") {
    std::printf("permjit %s\n", PERMJIT_VERSION);
    return 0;
  }
  const ExternalCommand externals[] = {
      {"viz", permjit::patterns::runVizCommand},
      {"search", permjit::patterns::runSearchCommand},
      {"tune", permjit::cli::runTuneCommand},
  };
  for (const auto& external : externals) {
    if (name == external.name) return external.run(argc - 1, argv + 1);
  }
  const Command* command = nullptr;
  for (const auto& candidate : commands) {
    if (name == candidate.name) command = &candidate;
  }
  if (command == nullptr) {
    std::fprintf(
        stderr,
        "permjit: unknown command '%s'; allowed: compile, run, cache, demo, viz, search, tune\n",
        name.c_str());
    return 2;
  }
  std::vector<std::string> rest(argv + 2, argv + argc);
  for (const auto& arg : rest) {
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", command->usage);
      return 0;
    }
  }
  try {
    return command->run(rest);
  } catch (const UsageError& error) {
    std::fprintf(stderr, "permjit %s: %s\n%s", command->name, error.what(), command->usage);
    return 2;
  } catch (const permjit::Error& error) {
    using permjit::ErrorCategory;
    // Bad input (pattern, layout, arguments, unsupported choices, unreadable files) is a usage
    // problem: exit 2. Failures of the machinery (driver, NVRTC, memory) exit 1.
    ErrorCategory category = error.category();
    bool bad_input = category == ErrorCategory::kInvalidPattern ||
                     category == ErrorCategory::kInvalidArgument ||
                     category == ErrorCategory::kUnsupported || category == ErrorCategory::kIo;
    std::fprintf(stderr, "permjit %s: %s: %s\n", command->name,
                 permjit::errorCategoryName(category), error.what());
    return bad_input ? 2 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "permjit %s: internal error: %s\n", command->name, error.what());
    return 1;
  }
}
