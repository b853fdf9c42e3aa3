#include "permjit/runtime/TuningDb.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "permjit/compiler/Pipeline.h"
#include "permjit/dsl/Error.h"
#include "permjit/dsl/Files.h"
#include "permjit/dsl/JsonReader.h"
#include "permjit/runtime/Hash.h"

namespace permjit::runtime {
namespace {

using nlohmann::json;

const char* const kVersionField = "permjit_tuning";

Error ioError(const std::string& message) { return Error(ErrorCategory::kIo, message); }

// Reads one entry of a file of `version`; throws std::invalid_argument naming the first bad
// field.
TuningEntry entryFromJson(const json& j, int64_t version) {
  auto need = [&](const char* field) -> const json& {
    if (!j.contains(field)) throw std::invalid_argument(std::string(field) + ": missing");
    return j.at(field);
  };
  auto string = [&](const char* field) {
    const json& v = need(field);
    if (!v.is_string()) throw std::invalid_argument(std::string(field) + ": not a string");
    return v.get<std::string>();
  };
  auto integer = [](const json& v, const std::string& field) {
    if (!v.is_number_integer()) throw std::invalid_argument(field + ": not an integer");
    return v.get<int64_t>();
  };
  auto number = [&](const char* field) {
    const json& v = need(field);
    if (!v.is_number() || v.get<double>() < 0) {
      throw std::invalid_argument(std::string(field) + ": not a non-negative number");
    }
    return v.get<double>();
  };
  if (!j.is_object()) throw std::invalid_argument("entry: not an object");
  TuningEntry e;
  e.key.device = string("device");
  std::string cc = string("compute_capability");
  int major = 0, minor = 0;
  char dot = 0, extra = 0;
  if (std::sscanf(cc.c_str(), "%d%c%d%c", &major, &dot, &minor, &extra) != 3 || dot != '.' ||
      major <= 0 || minor < 0) {
    throw std::invalid_argument("compute_capability: '" + cc + "'; allowed: \"MAJOR.MINOR\"");
  }
  e.key.cc_major = major;
  e.key.cc_minor = minor;
  e.key.structure_hash = string("structure_hash");
  if (e.key.structure_hash.size() != 32 ||
      e.key.structure_hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw std::invalid_argument("structure_hash: not 32 lowercase hex digits");
  }
  e.key.head_dim = static_cast<int>(integer(need("head_dim"), "head_dim"));
  std::string dtype = string("dtype");
  if (dtype == "bf16") {
    e.key.dtype = DType::kBF16;
  } else if (dtype == "fp16") {
    e.key.dtype = DType::kFP16;
  } else {
    throw std::invalid_argument("dtype: '" + dtype + "'; allowed: bf16, fp16");
  }
  e.key.seq_bucket = integer(need("seq_bucket"), "seq_bucket");
  if (e.key.seq_bucket != seqBucket(e.key.seq_bucket)) {
    throw std::invalid_argument("seq_bucket: " + std::to_string(e.key.seq_bucket) +
                                "; allowed: powers of two >= " + std::to_string(kMinSeqBucket));
  }
  const json& tile = need("tile");
  if (!tile.is_object()) throw std::invalid_argument("tile: not an object");
  auto tileField = [&](const char* field) {
    if (!tile.contains(field))
      throw std::invalid_argument(std::string("tile.") + field + ": missing");
    const int64_t value = integer(tile.at(field), std::string("tile.") + field);
    if (value < 1 || value > 1024) {  // never wrapped into a plausible int
      throw std::invalid_argument(std::string("tile.") + field + ": " + std::to_string(value) +
                                  "; allowed: 1..1024");
    }
    return static_cast<int>(value);
  };
  e.tile.block_m = tileField("block_m");
  e.tile.block_n = tileField("block_n");
  e.tile.warps = tileField("warps");
  e.tile.stages = tileField("stages");
  if (j.contains("pass_split")) {
    if (version < 2) {
      throw std::invalid_argument(std::string("pass_split: not a field of ") + kVersionField + " " +
                                  std::to_string(version) + "; allowed from version 2");
    }
    // The database holds what was measured: a concrete split, never "auto".
    std::string split = string("pass_split");
    if (split == passSplitName(PassSplit::kSingle)) {
      e.pass_split = PassSplit::kSingle;
    } else if (split == passSplitName(PassSplit::kSplitLines)) {
      e.pass_split = PassSplit::kSplitLines;
    } else {
      throw std::invalid_argument("pass_split: '" + split + "'; allowed: single, lines");
    }
  }
  e.default_ms = number("default_ms");
  e.tuned_ms = number("tuned_ms");
  e.date = string("date");
  if (j.contains("pattern") && j.at("pattern").is_string()) e.pattern = j.at("pattern");
  return e;
}

json entryToJson(const TuningEntry& e) {
  json j{
      {"device", e.key.device},
      {"compute_capability", std::to_string(e.key.cc_major) + "." + std::to_string(e.key.cc_minor)},
      {"structure_hash", e.key.structure_hash},
      {"head_dim", e.key.head_dim},
      {"dtype", dtypeName(e.key.dtype)},
      {"seq_bucket", e.key.seq_bucket},
      {"tile",
       {{"block_m", e.tile.block_m},
        {"block_n", e.tile.block_n},
        {"warps", e.tile.warps},
        {"stages", e.tile.stages}}},
      {"default_ms", e.default_ms},
      {"tuned_ms", e.tuned_ms},
      {"date", e.date},
      {"pattern", e.pattern},
  };
  if (e.pass_split) j["pass_split"] = passSplitName(*e.pass_split);
  return j;
}

// Parse result plus whether the file carried a version this build does not know.
struct Parsed {
  TuningDb db;
  bool foreign_version = false;
};

Parsed parseChecked(const std::string& text, const std::string& origin,
                    std::vector<std::string>* warnings) {
  auto warn = [&](const std::string& message) {
    if (warnings) warnings->push_back("tuning db " + origin + ": " + message);
  };
  Parsed out;
  json root;
  try {
    root = json_io::parseStrict(text, "tuning db");
  } catch (const Error& error) {
    warn("not a JSON object (" + std::string(error.what()) + "); ignoring the whole file");
    return out;
  }
  if (!root.is_object()) {
    warn("not a JSON object; ignoring the whole file");
    return out;
  }
  const bool known_version = root.contains(kVersionField) &&
                             root.at(kVersionField).is_number_integer() &&
                             root.at(kVersionField).get<int64_t>() >= kOldestTuningDbVersion &&
                             root.at(kVersionField).get<int64_t>() <= kTuningDbVersion;
  if (!known_version) {
    std::string found = root.contains(kVersionField) ? root.at(kVersionField).dump() : "missing";
    warn(std::string(kVersionField) + ": " + found +
         "; allowed: " + std::to_string(kOldestTuningDbVersion) + ".." +
         std::to_string(kTuningDbVersion) + "; ignoring the whole file");
    out.foreign_version = true;
    return out;
  }
  if (!root.contains("entries") || !root.at("entries").is_array()) {
    warn("entries: missing or not an array; ignoring the whole file");
    return out;
  }
  const int64_t version = root.at(kVersionField).get<int64_t>();
  const json& entries = root.at("entries");
  for (size_t i = 0; i < entries.size(); ++i) {
    try {
      out.db.upsert(entryFromJson(entries[i], version));
    } catch (const std::exception& error) {
      warn("entries[" + std::to_string(i) + "]." + error.what() + "; entry ignored");
    }
  }
  return out;
}

std::optional<std::string> readFile(const std::string& path, std::vector<std::string>* warnings) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  try {
    return readRegularFile(path, "tuning db");
  } catch (const Error& error) {
    if (warnings) warnings->push_back(std::string("tuning db: ") + error.what() + "; ignoring it");
    return std::nullopt;
  }
}

// An exclusive advisory lock on a side file, held for the object's lifetime.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw ioError("tuning db lock " + path + ": cannot open");
    if (::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      throw ioError("tuning db lock " + path + ": cannot lock");
    }
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

void createParent(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec)
    throw ioError("tuning db " + path + ": cannot create " + parent.string() + ": " + ec.message());
}

}  // namespace

int64_t seqBucket(int64_t seq_len) {
  if (seq_len <= 0) return kDefaultSeqBucket;
  int64_t bucket = kMinSeqBucket;
  while (bucket < seq_len && bucket < (int64_t{1} << 40)) bucket *= 2;
  return bucket;
}

std::string tuningStructureHash(const KernelSpec& spec) {
  KernelSpec normalized = spec;
  normalized.tile = TileConfig{};
  return Hasher()
      .field("permjit-tuning-structure/1")
      .field(normalized.structureKey())
      .finish()
      .hex();
}

std::string TuningKey::str() const {
  return device + " (cc " + std::to_string(cc_major) + "." + std::to_string(cc_minor) +
         "), structure " + structure_hash.substr(0, 12) + ", head_dim " + std::to_string(head_dim) +
         ", " + dtypeName(dtype) + ", seq bucket " + std::to_string(seq_bucket);
}

std::string tileName(const TileConfig& tile) {
  return std::to_string(tile.block_m) + "x" + std::to_string(tile.block_n) + "x" +
         std::to_string(tile.warps) + "x" + std::to_string(tile.stages);
}

std::string isoDateNow() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

TuningDb TuningDb::parse(const std::string& text, const std::string& origin,
                         std::vector<std::string>* warnings) {
  return parseChecked(text, origin, warnings).db;
}

TuningDb TuningDb::load(const std::string& path, std::vector<std::string>* warnings) {
  std::optional<std::string> text = readFile(path, warnings);
  if (!text) return TuningDb();
  return parse(*text, path, warnings);
}

std::optional<TuningEntry> TuningDb::lookup(const TuningKey& key,
                                            std::vector<std::string>* warnings) const {
  for (const TuningEntry& entry : entries_) {
    if (!(entry.key == key)) continue;
    try {
      validateTileConfig(entry.tile);
    } catch (const Error& error) {
      if (warnings) {
        warnings->push_back("tuning db entry for " + key.str() + " is stale (" + error.what() +
                            "); using the default tile");
      }
      return std::nullopt;
    }
    return entry;
  }
  return std::nullopt;
}

void TuningDb::upsert(TuningEntry entry) {
  for (TuningEntry& existing : entries_) {
    if (existing.key == entry.key) {
      existing = std::move(entry);
      return;
    }
  }
  entries_.push_back(std::move(entry));
}

std::string TuningDb::dump() const {
  json entries = json::array();
  for (const TuningEntry& entry : entries_) entries.push_back(entryToJson(entry));
  json root = {{kVersionField, kTuningDbVersion}, {"entries", entries}};
  return root.dump(2) + "\n";
}

void TuningDb::save(const std::string& path) const {
  createParent(path);
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << dump();
    out.flush();
    if (!out) {
      std::remove(temp.c_str());
      throw ioError("tuning db " + path + ": cannot write " + temp);
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw ioError("tuning db " + path + ": cannot rename " + temp + " into place");
  }
}

void TuningDb::update(const std::string& path, const TuningEntry& entry,
                      std::vector<std::string>* warnings) {
  createParent(path);
  FileLock lock(path + ".lock");
  Parsed parsed;
  if (std::optional<std::string> text = readFile(path, warnings)) {
    parsed = parseChecked(*text, path, warnings);
  }
  if (parsed.foreign_version) {
    throw ioError("tuning db " + path + ": " + kVersionField + " is not " +
                  std::to_string(kOldestTuningDbVersion) + ".." + std::to_string(kTuningDbVersion) +
                  "; not overwriting another version's database (move it away or set "
                  "PERMJIT_TUNING_DB)");
  }
  parsed.db.upsert(entry);
  parsed.db.save(path);
}

}  // namespace permjit::runtime
