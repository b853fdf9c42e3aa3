// Source templates with named holes: `${name}` is replaced by the value given for `name`.
// Every hole must be given and every value must be used, so a template and its caller cannot
// drift apart silently.
#pragma once

#include <map>
#include <string>

namespace permjit::codegen_detail {

// Throws Error(kInternal) naming the hole for a hole without a value, a value without a hole,
// or an unterminated `${`.
std::string renderTemplate(const std::string& name, const std::string& text,
                           const std::map<std::string, std::string>& values);

}  // namespace permjit::codegen_detail
