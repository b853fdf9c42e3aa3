// The one registry of PERMJIT_* environment variables. Every layer reads settings through
// these accessors, never through getenv directly, so `permjit --help` can list them all.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace permjit::env {

struct Variable {
  const char* name;
  const char* help;
};

// All variables permjit reads, with one line of help each.
const std::vector<Variable>& variables();

// PERMJIT_DUMP_IR=1: print the IR after every pipeline step that changed it to stderr.
bool dumpIr();
// PERMJIT_PASS_TIMING=1: report the time of every pipeline pass to stderr, per compile.
bool passTiming();
// PERMJIT_DUMP_SOURCE=<dir>: write every generated CUDA source there.
std::optional<std::string> dumpSourceDir();
// PERMJIT_CACHE_DIR=<dir>: on-disk kernel cache (default: $XDG_CACHE_HOME/permjit or
// ~/.cache/permjit).
std::string cacheDir();
// PERMJIT_DISABLE_CACHE=1: no memory or disk cache; every request compiles.
bool cacheDisabled();
// PERMJIT_VERBOSE=1: log compiles, cache hits and plans to stderr.
bool verbose();
// PERMJIT_TUNE=1: autotune on first use of an untuned shape class.
bool tuneOnFirstUse();
// PERMJIT_KERNEL_FAMILY=sm80|sm90a: the attention kernel family of runtimes that do not set
// RuntimeOptions::kernel_family (default: sm90a on sm_90a targets, sm80 elsewhere).
std::optional<std::string> kernelFamily();
// PERMJIT_KEY_SPLIT=<n>: RuntimeOptions::key_split_min_tiles of runtimes that do not set it
// (parsed by the runtime; default 0: never split).
std::optional<std::string> keySplit();
// PERMJIT_LINEINFO=1: compile kernels with source line information (-lineinfo), for
// compute-sanitizer and ncu reports that name lines of the generated source and its headers.
bool lineInfo();
// PERMJIT_TEST_REQUIRE_GPU=1: the test binaries' GPU tests fail instead of skipping when no
// CUDA driver or GPU opens (bench/gpu_check.sh sets it on the GPU machine).
bool testRequireGpu();
// PERMJIT_TUNING_DB=<file>: the tuning database (default: <cacheDir>/tuning.json).
std::string tuningDbPath();
// PERMJIT_LIBRARY=<file>: the libpermjit.so the Python package (python/permjit) loads instead of
// the one inside it. Read by that package before the library is open, so no accessor here; the
// registry lists it so `permjit --help` names every variable.

}  // namespace permjit::env
