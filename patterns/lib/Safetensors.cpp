#include "permjit/patterns/Safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "permjit/dsl/Error.h"
#include "permjit/dsl/Files.h"
#include "permjit/dsl/JsonReader.h"

namespace permjit::patterns {
namespace {

// A header longer than this is refused before it is read (real headers are kilobytes).
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCategory::kIo, fmt::format("{}: {}", path, what));
}

uint64_t littleEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

int elementBytes(const std::string& dtype) { return dtype == "F32" ? 4 : 2; }

float bf16ToFloat(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float out;
  std::memcpy(&out, &wide, sizeof out);
  return out;
}

}  // namespace

SafetensorsHeader parseSafetensorsHeader(const std::string& bytes, uint64_t file_size,
                                         const std::string& path) {
  if (bytes.size() < 8 || file_size < 8)
    fail(path, "safetensors: shorter than its 8-byte header length");
  const uint64_t n = littleEndian64(bytes.data());
  if (n > kMaxHeaderBytes || n > file_size - 8) {
    fail(path, fmt::format("safetensors: header length {} exceeds the file ({} bytes) or {} "
                           "bytes",
                           n, file_size, kMaxHeaderBytes));
  }
  if (bytes.size() < 8 + n) fail(path, "safetensors: header truncated");
  SafetensorsHeader header;
  header.path = path;
  header.data_offset = 8 + n;
  const uint64_t data_size = file_size - header.data_offset;
  // Trailing spaces pad the header to an alignment; the JSON is what comes before them.
  std::string text = bytes.substr(8, n);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  nlohmann::json json;
  try {
    json = json_io::parseStrict(text, path + ": safetensors header");
  } catch (const Error& e) {
    throw Error(ErrorCategory::kIo, e.what());  // a file that cannot be read as one
  }
  if (!json.is_object()) fail(path, "safetensors header: expected a JSON object");
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, value] : json.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(path, "safetensors header: __metadata__: expected an object");
      for (const auto& [key, text_value] : value.items()) {
        if (!text_value.is_string()) {
          fail(path, fmt::format("safetensors header: __metadata__.{}: expected a string", key));
        }
        header.metadata[key] = text_value.get<std::string>();
      }
      continue;
    }
    const std::string where = fmt::format("safetensors tensor '{}'", name);
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets") || value.size() != 3) {
      fail(path, where + ": expected exactly dtype, shape and data_offsets");
    }
    SafetensorInfo info;
    if (!value["dtype"].is_string()) fail(path, where + ": dtype: expected a string");
    info.dtype = value["dtype"].get<std::string>();
    if (info.dtype != "F32" && info.dtype != "F16" && info.dtype != "BF16") {
      fail(path, fmt::format("{}: dtype '{}'; allowed: F32, F16, BF16", where, info.dtype));
    }
    if (!value["shape"].is_array()) fail(path, where + ": shape: expected an array");
    uint64_t count = 1;
    for (const nlohmann::json& d : value["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t{1} << 40)) {
        fail(path, where + ": shape: expected non-negative integers");
      }
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && count > std::numeric_limits<uint64_t>::max() / 8 / dim) {
        fail(path, where + ": shape: too many elements");
      }
      count *= dim;
      info.shape.push_back(static_cast<int64_t>(dim));
    }
    const nlohmann::json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      fail(path, where + ": data_offsets: expected [begin, end], non-negative integers");
    }
    info.begin = offsets[0].get<uint64_t>();
    info.end = offsets[1].get<uint64_t>();
    if (info.begin > info.end || info.end > data_size) {
      fail(path, fmt::format("{}: data_offsets [{}, {}] outside the data section ({} bytes)", where,
                             info.begin, info.end, data_size));
    }
    if (info.end - info.begin != count * elementBytes(info.dtype)) {
      fail(path, fmt::format("{}: {} bytes for {} {} values", where, info.end - info.begin, count,
                             info.dtype));
    }
    ranges.emplace_back(info.begin, info.end);
    header.tensors.emplace(name, std::move(info));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) fail(path, "safetensors: tensors overlap");
  }
  return header;
}

SafetensorsHeader readSafetensorsHeader(const std::string& path) {
  const uint64_t size = requireRegularFile(path, "safetensors file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open safetensors file");
  char length[8] = {};
  in.read(length, 8);
  if (in.gcount() != 8) fail(path, "safetensors: shorter than its 8-byte header length");
  const uint64_t n = littleEndian64(length);
  if (n > kMaxHeaderBytes || n > size - 8) {
    fail(path, fmt::format("safetensors: header length {} exceeds the file ({} bytes) or {} "
                           "bytes",
                           n, size, kMaxHeaderBytes));
  }
  std::string bytes(8 + n, '\0');
  std::memcpy(bytes.data(), length, 8);
  in.read(bytes.data() + 8, static_cast<std::streamsize>(n));
  if (static_cast<uint64_t>(in.gcount()) != n) fail(path, "safetensors: header truncated");
  return parseSafetensorsHeader(bytes, size, path);
}

NpyArray readSafetensor(const SafetensorsHeader& header, const std::string& name) {
  auto found = header.tensors.find(name);
  if (found == header.tensors.end()) {
    fail(header.path, fmt::format("safetensors: no tensor '{}'", name));
  }
  const SafetensorInfo& info = found->second;
  NpyArray out;
  out.shape = info.shape;
  out.dtype = info.dtype == "F32" ? NpyDType::kFloat32 : NpyDType::kFloat16;
  const uint64_t count = (info.end - info.begin) / elementBytes(info.dtype);
  std::string bytes(info.end - info.begin, '\0');
  std::ifstream in(header.path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(header.data_offset + info.begin));
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in || static_cast<uint64_t>(in.gcount()) != bytes.size()) {
    fail(header.path,
         fmt::format("safetensors tensor '{}': cannot read its {} bytes", name, bytes.size()));
  }
  out.data.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (info.dtype == "F32") {
      std::memcpy(&out.data[i], bytes.data() + 4 * i, 4);  // little-endian hosts only
    } else {
      uint16_t bits;
      std::memcpy(&bits, bytes.data() + 2 * i, 2);
      out.data[i] = info.dtype == "F16" ? halfToFloat(bits) : bf16ToFloat(bits);
    }
  }
  return out;
}

void writeSafetensors(const std::string& path,
                      const std::map<std::string, SafetensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    uint64_t count = 1;
    for (int64_t d : tensor.shape) count *= static_cast<uint64_t>(d);
    header[name] = {
        {"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + 4 * count}}};
    offset += 4 * count;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  char length[8];
  for (int i = 0; i < 8; ++i)
    length[i] = static_cast<char>((uint64_t{text.size()} >> (8 * i)) & 0xff);
  out.write(length, 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& [name, tensor] : tensors) {
    uint64_t count = 1;
    for (int64_t d : tensor.shape) count *= static_cast<uint64_t>(d);
    out.write(reinterpret_cast<const char*>(tensor.data), static_cast<std::streamsize>(4 * count));
  }
  out.close();
  if (!out) fail(path, "cannot write safetensors file");
}

}  // namespace permjit::patterns
