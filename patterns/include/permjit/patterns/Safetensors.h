// safetensors files (the Hugging Face tensor format): an 8-byte little-endian header length N,
// N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {key: string}}, then the tensors' bytes, offsets relative to the end of the header. The
// reader is strict: a header that is not that JSON, an unknown dtype, a shape whose size does
// not match its byte range, ranges that overlap or run past the file, each fail naming the file
// and the tensor. F32, F16 and BF16 tensors read as float32.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "permjit/patterns/Npy.h"

namespace permjit::patterns {

struct SafetensorInfo {
  std::string dtype;  // "F32" | "F16" | "BF16"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range in the data section
};

struct SafetensorsHeader {
  std::string path;
  uint64_t data_offset = 0;  // where the data section starts in the file (8 + N)
  std::map<std::string, SafetensorInfo> tensors;
  std::map<std::string, std::string> metadata;
};

// The header of `bytes` (a whole file, or at least its first 8 + N bytes; `file_size` the
// file's length). Error(kIo) "<path>: ..." on anything malformed.
SafetensorsHeader parseSafetensorsHeader(const std::string& bytes, uint64_t file_size,
                                         const std::string& path);
// Reads the header of the file at `path` (a regular file).
SafetensorsHeader readSafetensorsHeader(const std::string& path);
// One tensor's values (Error(kIo) naming the tensor when it is absent or cannot be read).
NpyArray readSafetensor(const SafetensorsHeader& header, const std::string& name);

// Writes float32 tensors (name -> shape and values) and metadata; for tests and tools.
struct SafetensorToWrite {
  std::vector<int64_t> shape;
  const float* data = nullptr;
};
void writeSafetensors(const std::string& path,
                      const std::map<std::string, SafetensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace permjit::patterns
