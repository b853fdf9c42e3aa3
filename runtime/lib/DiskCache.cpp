#include "permjit/runtime/DiskCache.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "permjit/dsl/Error.h"
#include "permjit/dsl/Files.h"
#include "permjit/runtime/AtomicFile.h"

namespace permjit::runtime {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[8] = {'P', 'J', 'K', 'C', 'A', 'C', 'H', 'E'};
// No PTX or cubin of one attention kernel comes near this; a larger file is not an entry.
constexpr uint64_t kMaxEntryBytes = uint64_t{64} << 20;

void put64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get64(const std::string& in, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}
uint32_t get32(const std::string& in, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}

Error ioError(const std::string& what, const std::string& path) {
  return Error(ErrorCategory::kIo, "cache dir: " + what + " " + path + ": " + std::strerror(errno) +
                                       "; set PERMJIT_CACHE_DIR to a writable directory or "
                                       "PERMJIT_DISABLE_CACHE=1");
}

// An entry's name: 32 lowercase hex digits (the key), '.', the artifact. Nothing else in the
// directory is the cache's, so clear() and usage() never touch a user's own .ptx or .cubin.
bool isEntryName(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot != 32) return false;
  for (size_t i = 0; i < dot; ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  const std::string artifact = name.substr(dot + 1);
  return artifact == artifactName(Artifact::kPtx) || artifact == artifactName(Artifact::kCubin);
}

// A writer's temporary file of an entry (AtomicFile's naming).
bool isTemporaryName(const std::string& name) {
  const std::optional<std::string> final_name = finalNameOfTemporary(name);
  return final_name && isEntryName(*final_name);
}

// A temporary file younger than this may belong to a write in flight (compile, fsync, rename
// take well under a second); clear() leaves it, or the writer's rename would fail.
constexpr auto kStaleTemporaryAge = std::chrono::minutes(10);

}  // namespace

std::string DiskCache::pathFor(const Hash128& key, Artifact artifact) const {
  return dir_ + "/" + key.hex() + "." + artifactName(artifact);
}

std::string DiskCache::encode(const Hash128& key, Artifact artifact, const std::string& payload) {
  std::string out(kMagic, sizeof(kMagic));
  put32(out, kFormatVersion);
  put32(out, static_cast<uint32_t>(artifact));
  put64(out, key.hi);
  put64(out, key.lo);
  put64(out, payload.size());
  Hash128 sum = hash128(payload);
  put64(out, sum.hi);
  put64(out, sum.lo);
  out += payload;
  return out;
}

DiskCache::Lookup DiskCache::load(const Hash128& key, Artifact artifact,
                                  std::string* payload) const {
  std::string path = pathFor(key, artifact);
  // A FIFO, a device or an oversized file under an entry's name is never read (it would block
  // or exhaust memory): it counts as a corrupt entry. Only a failed read asks whether the file
  // is there at all, so a hit costs no extra system call.
  std::string image;
  for (int attempt = 0;; ++attempt) {
    try {
      image = readRegularFile(path, "cache entry", kMaxEntryBytes);
      break;
    } catch (const Error&) {
      std::error_code ec;
      const fs::file_status status = fs::symlink_status(path, ec);
      if (!fs::exists(status)) return Lookup::kMissing;
      // Gone when it was opened and published again since (a clear, then another process's
      // rename): a complete entry now, read it once more rather than call it damaged.
      if (attempt == 0 && fs::is_regular_file(status)) continue;
      break;
    }
  }
  bool valid = image.size() >= kHeaderSize && std::memcmp(image.data(), kMagic, 8) == 0 &&
               get32(image, 8) == kFormatVersion &&
               get32(image, 12) == static_cast<uint32_t>(artifact) && get64(image, 16) == key.hi &&
               get64(image, 24) == key.lo && get64(image, 32) == image.size() - kHeaderSize;
  if (valid) {
    std::string body = image.substr(kHeaderSize);
    Hash128 sum = hash128(body);
    if (sum.hi == get64(image, 40) && sum.lo == get64(image, 48)) {
      *payload = std::move(body);
      return Lookup::kHit;
    }
  }
  // A writer publishes only complete files by rename, so a bad file is damage, not a race.
  std::error_code ignored;
  fs::remove(path, ignored);
  return Lookup::kCorrupt;
}

void DiskCache::store(const Hash128& key, Artifact artifact, const std::string& payload) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    errno = ec.value();
    throw ioError("cannot create", dir_);
  }
  if (std::optional<AtomicWriteFailure> failure =
          writeFileAtomically(pathFor(key, artifact), encode(key, artifact, payload))) {
    errno = failure->error;
    throw ioError(failure->what, failure->path);
  }
}

size_t DiskCache::clear() const {
  std::error_code ec;
  size_t removed = 0;
  if (!fs::is_directory(dir_, ec)) return 0;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec)) continue;
    if (isTemporaryName(name)) {
      const auto written = entry.last_write_time(ec);
      if (ec || now - written < kStaleTemporaryAge) continue;
    } else if (!isEntryName(name)) {
      continue;
    }
    // A reader that opened the entry before keeps its bytes (unlink, not truncate); a writer
    // publishing it now renames over the name afterwards, which is a complete entry again.
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

DiskCache::Usage DiskCache::usage() const {
  Usage usage;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return usage;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || !isEntryName(name)) continue;
    ++usage.files;
    usage.bytes += entry.file_size(ec);
  }
  return usage;
}

}  // namespace permjit::runtime
