#include "permjit/runtime/AtomicFile.h"

#include <fcntl.h>
#include <sys/stat.h>
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

// Writes every byte to fd; false (errno set) on the first failed write.
bool writeAll(int fd, const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return true;
}

// A path that exists and is not a regular file or a directory (a device such as /dev/full or
// /dev/stdout, a FIFO) is written in place: renaming a temporary file over it would replace the
// device itself. Every write and the close are checked, so a full device is an error.
std::optional<AtomicWriteFailure> writeInPlace(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return AtomicWriteFailure{"cannot open", path, errno};
  if (!writeAll(fd, bytes)) {
    AtomicWriteFailure failure{"cannot write", path, errno};
    ::close(fd);
    return failure;
  }
  if (::close(fd) != 0) return AtomicWriteFailure{"cannot flush", path, errno};
  return std::nullopt;
}

}  // namespace

std::optional<std::string> finalNameOfTemporary(const std::string& name) {
  // Three numeric fields before ".tmp", as tempSuffix writes them.
  constexpr char kTmp[] = ".tmp";
  if (name.size() <= 4 || name.compare(name.size() - 4, 4, kTmp) != 0) return std::nullopt;
  size_t end = name.size() - 4;
  for (int field = 0; field < 3; ++field) {
    const size_t dot = name.rfind('.', end - 1);
    if (dot == std::string::npos || dot + 1 == end) return std::nullopt;
    for (size_t i = dot + 1; i < end; ++i) {
      if (name[i] < '0' || name[i] > '9') return std::nullopt;
    }
    end = dot;
    if (end == 0) return std::nullopt;
  }
  return name.substr(0, end);
}

std::optional<AtomicWriteFailure> writeFileAtomically(const std::string& path,
                                                      const std::string& bytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    return writeInPlace(path, bytes);
  }
  const std::string temp_path = path + tempSuffix();
  auto failed = [&](const char* what, const std::string& where) {
    AtomicWriteFailure failure{what, where, errno};
    ::unlink(temp_path.c_str());
    return failure;
  };
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return AtomicWriteFailure{"cannot create", temp_path, errno};
  if (!writeAll(fd, bytes)) {
    AtomicWriteFailure failure = failed("cannot write", temp_path);
    ::close(fd);
    return failure;
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
