#include "SourceTemplate.h"

#include <set>

#include "permjit/dsl/Error.h"

namespace permjit::codegen_detail {

std::string renderTemplate(const std::string& name, const std::string& text,
                           const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(text.size() + 1024);
  std::set<std::string> used;
  size_t at = 0;
  while (true) {
    const size_t open = text.find("${", at);
    if (open == std::string::npos) break;
    const size_t close = text.find('}', open);
    if (close == std::string::npos) {
      throw Error(ErrorCategory::kInternal,
                  name + ": unterminated '${' at offset " + std::to_string(open));
    }
    const std::string hole = text.substr(open + 2, close - open - 2);
    auto value = values.find(hole);
    if (value == values.end()) {
      throw Error(ErrorCategory::kInternal, name + ": no value for the hole '${" + hole + "}'");
    }
    out.append(text, at, open - at);
    out += value->second;
    used.insert(hole);
    at = close + 1;
  }
  out.append(text, at, std::string::npos);
  for (const auto& [key, value] : values) {
    if (!used.count(key)) {
      throw Error(ErrorCategory::kInternal, name + ": the value '" + key + "' fills no hole");
    }
  }
  return out;
}

}  // namespace permjit::codegen_detail
