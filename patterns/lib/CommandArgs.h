// Command-line parsing shared by the search and viz subcommands: "--name value",
// "--name=value", switches and positional arguments; a bad command line throws UsageError.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace permjit::patterns::cmd {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // argv[0] is the subcommand name. `valued`: options with a value (may repeat).
  Args(int argc, char** argv, const std::vector<std::string>& valued,
       const std::vector<std::string>& switches) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.size() < 2 || arg[0] != '-') {
        positional_.push_back(arg);
        continue;
      }
      std::string name = arg, value;
      bool inline_value = false;
      if (size_t eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inline_value = true;
      }
      if (contains(switches, name)) {
        if (inline_value) throw UsageError(fmt::format("{}: takes no value", name));
        values_[name].push_back("");
      } else if (contains(valued, name)) {
        if (!inline_value) {
          if (i + 1 >= argc) throw UsageError(fmt::format("{}: needs a value", name));
          value = argv[++i];
        }
        values_[name].push_back(value);
      } else {
        std::string allowed;
        for (const auto& v : valued) allowed += (allowed.empty() ? "" : ", ") + v;
        for (const auto& s : switches) allowed += ", " + s;
        throw UsageError(fmt::format("unknown option '{}'; allowed: {}", name, allowed));
      }
    }
  }
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::vector<std::string> all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  // The value of an option given at most once.
  std::string one(const std::string& name, const std::string& fallback) const {
    auto values = all(name);
    if (values.size() > 1) throw UsageError(fmt::format("{}: given more than once", name));
    return values.empty() ? fallback : values[0];
  }
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
    if (!has(name)) return fallback;
    std::string text = one(name, "");
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || v < min || v > max) {
      throw UsageError(fmt::format("{}: '{}' is not an integer in [{}, {}]", name, text, min, max));
    }
    return v;
  }
  double real(const std::string& name, double fallback, double min, double max) const {
    if (!has(name)) return fallback;
    std::string text = one(name, "");
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || !(v >= min && v <= max)) {
      throw UsageError(fmt::format("{}: '{}' is not a number in [{}, {}]", name, text, min, max));
    }
    return v;
  }

 private:
  static bool contains(const std::vector<std::string>& list, const std::string& name) {
    for (const auto& item : list) {
      if (item == name) return true;
    }
    return false;
  }
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace permjit::patterns::cmd
