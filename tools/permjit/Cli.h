// Shared pieces of the `permjit` command line: argument parsing, the shared compile options,
// and the subcommand entry points (one file each).
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
  // `valued`: options that take a value; `switches`: options that do not.
  Args(const std::vector<std::string>& argv, const std::vector<std::string>& valued,
       const std::vector<std::string>& switches);
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string getOr(const std::string& name, const std::string& fallback) const;
  int64_t getInt(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
  bool flag(const std::string& name) const { return has(name); }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

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
// --layout FILE: a bare layout object or a pattern file's "layout"; nullopt when not given.
std::optional<Layout> readLayoutOption(const Args& args);
DType parseDType(const std::string& text);

int compileCommand(const std::vector<std::string>& argv);
int runCommand(const std::vector<std::string>& argv);
int cacheCommand(const std::vector<std::string>& argv);
int demoCommand(const std::vector<std::string>& argv);
// TuneCommand.cpp (engineer "tuning"): argv[0] is "tune"; returns the exit code.
int runTuneCommand(int argc, char** argv);

extern const char* const kCompileUsage;
extern const char* const kRunUsage;
extern const char* const kCacheUsage;
extern const char* const kDemoUsage;

}  // namespace permjit::cli
