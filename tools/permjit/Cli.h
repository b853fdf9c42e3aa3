// The `permjit` command line as a library (permjit_cli): one argument parser, one usage error,
// one dispatch table with one exit-code rule, and the subcommands (one file each). The
// executable (main.cpp) and the command tests call dispatch().
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "permjit/dsl/Json.h"
#include "permjit/permjit.h"

namespace permjit::cli {

// A bad command line: printed with the subcommand's usage, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "--name value" / "--name=value" options, "--flag" switches and positional arguments.
class Args {
 public:
  // `valued`: options that take a value and may be given once; `switches`: options without a
  // value; `repeatable`: options that take a value and may be given several times (all()).
  Args(const std::vector<std::string>& argv, const std::vector<std::string>& valued,
       const std::vector<std::string>& switches, const std::vector<std::string>& repeatable = {});
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  bool flag(const std::string& name) const { return has(name); }
  std::optional<std::string> get(const std::string& name) const;
  std::string getOr(const std::string& name, const std::string& fallback) const;
  // Every value of a repeatable option, in command-line order.
  std::vector<std::string> all(const std::string& name) const;
  int64_t getInt(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
  double getReal(const std::string& name, double fallback, double min, double max) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// The exit-code rule of every subcommand: bad input (pattern, layout, arguments, unsupported
// choices, unreadable files) is 2, like a usage error; failures of the machinery (driver,
// NVRTC, memory, internal) are 1.
int exitCodeFor(ErrorCategory category);

// One subcommand: its name, a one-line synopsis for `permjit --help`, its entry point (the
// arguments after the name; returns the exit code, throws UsageError or Error) and its usage.
struct Command {
  const char* name;
  const char* synopsis;
  int (*run)(const std::vector<std::string>& args);
  const char* usage;
};
const std::vector<Command>& commands();

// The whole command line after the program name: prints help, runs one subcommand, turns its
// exceptions into a message on stderr and the exit code (exitCodeFor). Never throws.
int dispatch(const std::vector<std::string>& argv);

// What `compile` and `run` share: the pattern file, layout, sequence length and plan options.
struct PatternInput {
  PatternFile file;
  Layout layout;
  int64_t seq_len = 0;
  PlanOptions plan;
};
extern const std::vector<std::string> kPatternOptions;
PatternInput readPatternInput(const Args& args, bool need_seq_len);
// --head-dim, --dtype, --tile, --passes (the part of readPatternInput without a pattern).
PlanOptions readPlanOptions(const Args& args);
// The NVRTC target of --arch: this GPU's, else sm_90a.
std::string targetArch(const Args& args);
// The tile Runtime::plan takes when neither --tile nor the tuning database names one: the
// kernel family's default on targetArch (PERMJIT_KERNEL_FAMILY respected). For the stages that
// lower without a Runtime (compile's IR stages, viz), so they show the tiles run uses.
TileConfig defaultPlanTile(const Args& args, int head_dim);
// `option` FILE (default --layout): a bare layout object or a pattern file's "layout"; nullopt
// when not given.
std::optional<Layout> readLayoutOption(const Args& args, const std::string& option = "--layout");
DType parseDType(const std::string& text);

int compileCommand(const std::vector<std::string>& args);
int runCommand(const std::vector<std::string>& args);
int cacheCommand(const std::vector<std::string>& args);
int demoCommand(const std::vector<std::string>& args);
int vizCommand(const std::vector<std::string>& args);
int searchCommand(const std::vector<std::string>& args);
int tuneCommand(const std::vector<std::string>& args);

extern const char* const kCompileUsage;
extern const char* const kRunUsage;
extern const char* const kCacheUsage;
extern const char* const kDemoUsage;
extern const char* const kVizUsage;
extern const char* const kSearchUsage;
extern const char* const kTuneUsage;

}  // namespace permjit::cli
