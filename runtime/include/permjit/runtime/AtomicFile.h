// Publishing a file so that readers see either no file or a complete one.
#pragma once

#include <optional>
#include <string>

namespace permjit::runtime {

// Why writeFileAtomically failed: the step ("cannot create", "cannot write", "cannot flush",
// "cannot rename into"), the path it failed on, and the errno.
struct AtomicWriteFailure {
  std::string what;
  std::string path;
  int error = 0;
};

// Writes `bytes` to a temporary file next to `path` (named `path` + ".<pid>.<thread>.<n>.tmp",
// unique per writer), fsyncs it, renames it over `path` and fsyncs the directory. The
// directory must exist. On failure the temporary file is removed and the failure returned.
// A `path` that exists and is neither a regular file nor a directory (a device: /dev/stdout,
// /dev/full; a FIFO) is written in place instead, every write checked.
std::optional<AtomicWriteFailure> writeFileAtomically(const std::string& path,
                                                      const std::string& bytes);

// The file name a writeFileAtomically temporary file name (no directory) stands in for, or
// nullopt when `name` is not one: "<name>.<pid>.<thread>.<n>.tmp" gives "<name>".
std::optional<std::string> finalNameOfTemporary(const std::string& name);

}  // namespace permjit::runtime
