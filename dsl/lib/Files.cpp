#include "permjit/dsl/Files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

[[noreturn]] void ioError(const std::string& path, const std::string& what,
                          const std::string& reason) {
  throw Error(ErrorCategory::kIo, fmt::format("{}: cannot open {}: {}", path, what, reason));
}

const char* kindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The descriptor of `path` opened for reading, checked to be a regular file. O_NONBLOCK keeps
// the open of a FIFO from waiting for a writer.
int openRegular(const std::string& path, const std::string& what, struct stat& st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) ioError(path, what, std::strerror(errno));
  if (::fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    ioError(path, what, std::strerror(saved));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    ioError(path, what, std::string(kindOf(st.st_mode)) + "; allowed: a regular file");
  }
  return fd;
}

}  // namespace

uint64_t requireRegularFile(const std::string& path, const std::string& what) {
  struct stat st;
  ::close(openRegular(path, what, st));
  return static_cast<uint64_t>(st.st_size);
}

std::string readRegularFile(const std::string& path, const std::string& what, uint64_t max_bytes) {
  struct stat st;
  const int fd = openRegular(path, what, st);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    ioError(
        path, what,
        fmt::format("{} bytes; allowed: at most {}", static_cast<uint64_t>(st.st_size), max_bytes));
  }
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      throw Error(ErrorCategory::kIo,
                  fmt::format("{}: cannot read {}: {}", path, what, std::strerror(saved)));
    }
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > max_bytes) {  // grew while being read
      ::close(fd);
      ioError(path, what, fmt::format("more than {} bytes", max_bytes));
    }
  }
  ::close(fd);
  return text;
}

void writeFileAtomically(const std::string& path, const std::string& text,
                         const std::string& what) {
  const std::string temporary = fmt::format("{}.tmp.{}", path, ::getpid());
  auto fail = [&](const std::string& reason) {
    ::unlink(temporary.c_str());
    throw Error(ErrorCategory::kIo, fmt::format("{}: cannot write {}: {}", path, what, reason));
  };
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(ErrorCategory::kIo,
                fmt::format("{}: cannot write {}: {}", path, what, std::strerror(errno)));
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      fail(reason);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    fail(reason);
  }
  if (::close(fd) != 0) fail(std::strerror(errno));
  if (::rename(temporary.c_str(), path.c_str()) != 0) fail(std::strerror(errno));
}

}  // namespace permjit
