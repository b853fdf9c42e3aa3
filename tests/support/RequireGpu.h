// PERMJIT_REQUIRE_GPU(): the first line of every test that needs a CUDA driver and GPU. Without
// one the test is skipped with the reason; with PERMJIT_TEST_REQUIRE_GPU=1 (set by
// bench/gpu_check.sh on the GPU machine) it fails instead, so a GPU run never counts a skip as
// a pass. Name such tests "...Gpu..." (suite or test): ctest labels them `gpu`
// (tests/CMakeLists.txt), and `ctest -L gpu` runs exactly them.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "permjit/dsl/Env.h"
#include "permjit/runtime/Driver.h"

namespace permjit::testing {

// Empty when a driver and device open; otherwise why not.
inline std::string gpuUnavailableReason() {
  std::string reason;
  if (runtime::Driver::tryOpen("libcuda.so.1", &reason) == nullptr && reason.empty()) {
    reason = "libcuda.so.1 did not open";
  }
  return reason;
}

}  // namespace permjit::testing

#define PERMJIT_REQUIRE_GPU()                                                       \
  do {                                                                              \
    if (const std::string pj_reason = ::permjit::testing::gpuUnavailableReason();   \
        !pj_reason.empty()) {                                                       \
      if (::permjit::env::testRequireGpu()) {                                       \
        FAIL() << "no CUDA driver/GPU (PERMJIT_TEST_REQUIRE_GPU=1): " << pj_reason; \
      }                                                                             \
      GTEST_SKIP() << "no CUDA driver/GPU: " << pj_reason;                          \
    }                                                                               \
  } while (0)
