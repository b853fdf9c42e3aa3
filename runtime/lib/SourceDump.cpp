#include "permjit/runtime/SourceDump.h"

#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "permjit/dsl/Error.h"
#include "permjit/runtime/AtomicFile.h"

namespace permjit::runtime {

void dumpSource(const std::string& dir, const std::string& kernel_name, const std::string& source) {
  auto ioError = [](const std::string& what, const std::string& path, int error) {
    return Error(ErrorCategory::kIo, "PERMJIT_DUMP_SOURCE: " + what + " " + path + ": " +
                                         std::strerror(error) +
                                         "; allowed: a writable directory (or unset it)");
  };
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw ioError("cannot create", dir, ec.value());
  const std::string path = (std::filesystem::path(dir) / (kernel_name + ".cu")).string();
  if (std::optional<AtomicWriteFailure> failure = writeFileAtomically(path, source)) {
    throw ioError(failure->what, failure->path, failure->error);
  }
}

}  // namespace permjit::runtime
