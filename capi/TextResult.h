// The text a C entry point of permjit_dsl_c.h / permjit_query_c.h hands back: one buffer per
// thread, so the caller reads it without freeing anything, valid until that thread's next call
// that returns text.
#pragma once

#include <string>
#include <utility>

namespace permjit::capi {

inline void returnText(std::string text, const char** out) {
  static thread_local std::string result;
  result = std::move(text);
  *out = result.c_str();
}

}  // namespace permjit::capi
