// Reading the files permjit is handed (pattern files, layouts, model configs, candidate lists,
// the tuning database, kernel cache entries, .npy captures) so that no path makes a reader hang
// or run out of memory: only regular files are read, and text files only up to a bound.
#pragma once

#include <cstdint>
#include <string>

namespace permjit {

// The largest text file (JSON) permjit reads: 256 MiB.
constexpr uint64_t kMaxTextFileBytes = uint64_t{256} << 20;

// Throws Error(kIo) "<path>: cannot open <what>: <reason>" unless `path` names a regular file
// (a FIFO, a device such as /dev/zero, a socket or a directory is refused before it is read);
// returns its size in bytes.
uint64_t requireRegularFile(const std::string& path, const std::string& what);

// The whole of `path`, a regular file of at most `max_bytes` (Error(kIo) naming `what`, the
// path and the limit otherwise).
std::string readRegularFile(const std::string& path, const std::string& what,
                            uint64_t max_bytes = kMaxTextFileBytes);

// Writes `text` to `path` so that readers see the old file or the whole new one, never a part:
// into a temporary file beside it, flushed to disk, then renamed over `path`. Error(kIo)
// "<path>: cannot write <what>: <reason>" leaves `path` as it was and no temporary behind.
void writeFileAtomically(const std::string& path, const std::string& text, const std::string& what);

}  // namespace permjit
