// The subcommand table, `permjit --help`, and the one place that turns a subcommand's
// exceptions into a message and an exit code.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "Cli.h"
#include "permjit/dsl/Env.h"

namespace permjit::cli {
namespace {

void printHelp() {
  std::printf(
      "permjit %s: JIT compiler for sparse attention (MMInference patterns)\n\n"
      "usage: permjit <command> [options]   (permjit <command> --help for details)\n\n"
      "commands:\n",
      PERMJIT_VERSION);
  for (const Command& command : commands()) {
    std::printf("  %-9s %s\n", command.name, command.synopsis);
  }
  std::printf(
      "\nexit codes: 0 ok, 2 bad usage or bad input, 1 a failure of the machinery (driver, "
      "NVRTC, memory)\n\nenvironment:\n");
  for (const auto& variable : env::variables()) {
    std::printf("  %-25s %s\n", variable.name, variable.help);
  }
}

std::string commandNames() {
  std::string names;
  for (const Command& command : commands()) {
    names += (names.empty() ? "" : ", ") + std::string(command.name);
  }
  return names;
}

}  // namespace

int exitCodeFor(ErrorCategory category) {
  const bool bad_input = category == ErrorCategory::kInvalidPattern ||
                         category == ErrorCategory::kInvalidArgument ||
                         category == ErrorCategory::kUnsupported || category == ErrorCategory::kIo;
  return bad_input ? 2 : 1;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"compile", "PATTERN.json --seq-len N --emit pattern-ir|tile-ir|spec|cuda|ptx|cubin",
       compileCommand, kCompileUsage},
      {"run", "PATTERN.json --seq-len N --heads H: run on the GPU, check, time", runCommand,
       kRunUsage},
      {"cache", "stats|clear: the on-disk kernel cache", cacheCommand, kCacheUsage},
      {"demo", "the MMInference grid head end to end (works without a GPU too)", demoCommand,
       kDemoUsage},
      {"viz", "PATTERN.json --seq-len N -o out.png: picture of the kept pairs", vizCommand,
       kVizUsage},
      {"search", "--q Q.npy --k K.npy -o config.json: offline per-head pattern search",
       searchCommand, kSearchUsage},
      {"tune", "PATTERN.json --seq-len N: autotune tile sizes on this GPU (tuning database)",
       tuneCommand, kTuneUsage},
  };
  return table;
}

int dispatch(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    printHelp();
    return 2;
  }
  const std::string& name = argv[0];
  if (name == "--help" || name == "-h" || name == "help") {
    printHelp();
    return 0;
  }
  if (name == "--version") {
    std::printf("permjit %s\n", PERMJIT_VERSION);
    return 0;
  }
  const Command* command = nullptr;
  for (const Command& candidate : commands()) {
    if (name == candidate.name) command = &candidate;
  }
  if (command == nullptr) {
    std::fprintf(stderr, "permjit: unknown command '%s'; allowed: %s\n", name.c_str(),
                 commandNames().c_str());
    return 2;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  for (const std::string& arg : rest) {
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", command->usage);
      return 0;
    }
  }
  // Flushed before every message so that stdout and stderr interleave in order.
  try {
    const int code = command->run(rest);
    std::fflush(stdout);
    return code;
  } catch (const UsageError& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "permjit %s: %s\n%s", command->name, error.what(), command->usage);
    return 2;
  } catch (const Error& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "permjit %s: %s: %s\n", command->name, errorCategoryName(error.category()),
                 error.what());
    return exitCodeFor(error.category());
  } catch (const std::exception& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "permjit %s: internal error: %s\n", command->name, error.what());
    return 1;
  }
}

}  // namespace permjit::cli
