#include "permjit/runtime/AtomicFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <sstream>
#include <thread>

namespace permjit::runtime {
namespace {

// Unique per process, thread and call, so concurrent writers never share a temporary file.
std::string tempSuffix() {
  static std::atomic<uint64_t> counter{0};
  std::ostringstream out;
  out << "." << getpid() << "." << std::hash<std::thread::id>()(std::this_thread::get_id()) << "."
      << counter.fetch_add(1) << ".tmp";
  return out.str();
}

}  // namespace

std::optional<AtomicWriteFailure> writeFileAtomically(const std::string& path,
                                                      const std::string& bytes) {
  const std::string temp_path = path + tempSuffix();
  auto failed = [&](const char* what, const std::string& where) {
    AtomicWriteFailure failure{what, where, errno};
    ::unlink(temp_path.c_str());
    return failure;
  };
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return AtomicWriteFailure{"cannot create", temp_path, errno};
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      AtomicWriteFailure failure = failed("cannot write", temp_path);
      ::close(fd);
      return failure;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return failed("cannot flush", temp_path);
  if (::rename(temp_path.c_str(), path.c_str()) != 0) return failed("cannot rename into", path);
  // Persist the directory entry too, so a crash cannot leave a name without its data.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return std::nullopt;
}

}  // namespace permjit::runtime
