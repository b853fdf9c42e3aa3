// expectError(body, category, {parts...}): body must throw permjit::Error of that category whose
// message contains every part (the field name, the allowed values).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "permjit/dsl/Error.h"

namespace permjit::testing {

template <class F>
void expectError(F body, ErrorCategory category, std::initializer_list<const char*> parts) {
  try {
    body();
    ADD_FAILURE() << "expected a permjit::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), category) << errorCategoryName(e.category()) << ": " << e.what();
    for (const char* part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message '" << e.what() << "' lacks '" << part << "'";
    }
  }
}

}  // namespace permjit::testing
