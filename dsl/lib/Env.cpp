#include "permjit/dsl/Env.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace permjit::env {
namespace {

std::optional<std::string> get(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

bool flag(const char* name) {
  auto value = get(name);
  return value && *value != "0" && *value != "false" && *value != "off";
}

}  // namespace

const std::vector<Variable>& variables() {
  static const std::vector<Variable> kVariables = {
      {"PERMJIT_DUMP_IR", "1: print the IR after every pipeline step that changed it (stderr)"},
      {"PERMJIT_PASS_TIMING", "1: report the time of every pipeline pass to stderr"},
      {"PERMJIT_DUMP_SOURCE", "<dir>: write every generated CUDA source file there"},
      {"PERMJIT_CACHE_DIR",
       "<dir>: on-disk kernel cache (default $XDG_CACHE_HOME/permjit, ~/.cache/permjit, else "
       "/tmp/permjit-cache-<uid>; unwritable or another user's: warned, compiled uncached)"},
      {"PERMJIT_DISABLE_CACHE", "1: no memory or disk kernel cache; every request compiles"},
      {"PERMJIT_VERBOSE", "1: log compiles, cache hits and plans, with stage times, to stderr"},
      {"PERMJIT_TUNE", "1: autotune an untuned shape class on first use"},
      {"PERMJIT_TUNING_DB", "<file>: tuning database (default <cache dir>/tuning.json)"},
      {"PERMJIT_KERNEL_FAMILY", "sm80|sm90a: attention kernel family (default: sm90a on sm_90a)"},
      {"PERMJIT_KEY_SPLIT",
       "<n>: static plans given a workspace may split a row tile visiting more than n column "
       "tiles over several CTAs (default 0: never; 256 is the intended setting)"},
      {"PERMJIT_LINEINFO", "1: compile kernels with -lineinfo (sanitizer and ncu source lines)"},
      {"PERMJIT_TEST_REQUIRE_GPU", "1: GPU tests fail instead of skipping without a GPU"},
      {"PERMJIT_LIBRARY", "<file>: libpermjit.so the Python package loads (default: its own)"},
  };
  return kVariables;
}

bool dumpIr() { return flag("PERMJIT_DUMP_IR"); }
bool passTiming() { return flag("PERMJIT_PASS_TIMING"); }
std::optional<std::string> dumpSourceDir() { return get("PERMJIT_DUMP_SOURCE"); }

std::string cacheDir() {
  if (auto dir = get("PERMJIT_CACHE_DIR")) return *dir;
  if (auto xdg = get("XDG_CACHE_HOME")) return *xdg + "/permjit";
  if (auto home = get("HOME")) return *home + "/.cache/permjit";
  // Per user: a fixed /tmp name could be created first by another user (the kernel cache also
  // refuses a directory it does not own).
  return "/tmp/permjit-cache-" + std::to_string(::geteuid());
}

bool cacheDisabled() { return flag("PERMJIT_DISABLE_CACHE"); }
bool verbose() { return flag("PERMJIT_VERBOSE"); }
bool tuneOnFirstUse() { return flag("PERMJIT_TUNE"); }
std::optional<std::string> kernelFamily() { return get("PERMJIT_KERNEL_FAMILY"); }
std::optional<std::string> keySplit() { return get("PERMJIT_KEY_SPLIT"); }
bool lineInfo() { return flag("PERMJIT_LINEINFO"); }
bool testRequireGpu() { return flag("PERMJIT_TEST_REQUIRE_GPU"); }

std::string tuningDbPath() {
  if (auto path = get("PERMJIT_TUNING_DB")) return *path;
  return cacheDir() + "/tuning.json";
}

}  // namespace permjit::env
