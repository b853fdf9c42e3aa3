// PERMJIT_DUMP_SOURCE=<dir>: every CUDA source a plan generates is written there.
#pragma once

#include <string>

namespace permjit::runtime {

// Writes `source` to <dir>/<kernel_name>.cu atomically (readers see the old file or the new
// one, never a part), creating `dir`. Error(kIo) naming PERMJIT_DUMP_SOURCE and the path when
// it cannot.
void dumpSource(const std::string& dir, const std::string& kernel_name, const std::string& source);

}  // namespace permjit::runtime
