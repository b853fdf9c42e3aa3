// The safetensors reader (`permjit search --capture FILE.safetensors`): round trips, the 16-bit
// dtypes, and every malformed header refused naming the file and the tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "permjit/dsl/Error.h"
#include "permjit/patterns/Safetensors.h"

namespace permjit::patterns {
namespace {

namespace fs = std::filesystem;

std::string scratch(const std::string& name) {
  return (fs::temp_directory_path() / ("permjit_safetensors_" + name)).string();
}

// A file from a header text and data bytes.
std::string fileOf(const std::string& name, const std::string& header, const std::string& data) {
  const std::string path = scratch(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint64_t n = header.size();
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.write(length, 8);
  out << header << data;
  return path;
}

std::string errorOf(const std::string& path) {
  try {
    SafetensorsHeader header = readSafetensorsHeader(path);
    for (const auto& [name, info] : header.tensors) readSafetensor(header, name);
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kIo);
    return e.what();
  }
  return "";
}

TEST(Safetensors, RoundTripsWithMetadata) {
  const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1e-3f};
  const std::vector<float> b = {42.0f};
  const std::string path = scratch("round.safetensors");
  writeSafetensors(path, {{"layer_0/q_0000", {{2, 3}, a.data()}}, {"x", {{1}, b.data()}}},
                   {{"layout_0000", "{\"spans\": []}"}});
  const SafetensorsHeader header = readSafetensorsHeader(path);
  ASSERT_EQ(header.tensors.size(), 2u);
  EXPECT_EQ(header.metadata.at("layout_0000"), "{\"spans\": []}");
  const NpyArray read = readSafetensor(header, "layer_0/q_0000");
  EXPECT_EQ(read.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(read.data, a);
  EXPECT_EQ(readSafetensor(header, "x").data, b);
  EXPECT_NE(errorOf(path), "x");  // reads
  try {
    readSafetensor(header, "nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tensor 'nope'"), std::string::npos);
  }
  fs::remove(path);
}

TEST(Safetensors, ReadsHalfAndBfloat16) {
  // 1.0 and -2.5 in float16 (0x3c00, 0xc100) and bfloat16 (0x3f80, 0xc020), little-endian.
  const std::string data("\x00\x3c\x00\xc1\x80\x3f\x20\xc0", 8);
  const std::string path = fileOf("half.safetensors",
                                  R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                                  R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}})",
                                  data);
  const SafetensorsHeader header = readSafetensorsHeader(path);
  EXPECT_EQ(readSafetensor(header, "h").data, (std::vector<float>{1.0f, -2.5f}));
  EXPECT_EQ(readSafetensor(header, "b").data, (std::vector<float>{1.0f, -2.5f}));
  fs::remove(path);
}

TEST(Safetensors, MalformedFilesFailNamingTheProblem) {
  const std::string four(4, '\0');
  struct Case {
    std::string header, data, expect;
  };
  const std::vector<Case> cases = {
      {"not json", four, "safetensors header"},
      {R"([1, 2])", four, "expected a JSON object"},
      {R"({"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0'),
       "dtype 'I64'; allowed: F32, F16, BF16"},
      {R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four, "4 bytes for 2 F32"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", four, "outside the data"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four, "outside the data"},
      {R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four, "non-negative"},
      {R"({"t":{"dtype":"F32","shape":[1]}})", four, "exactly dtype, shape and data_offsets"},
      {R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
       R"("b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}})",
       four, "tensors overlap"},
      {R"({"__metadata__":{"k":1}})", "", "__metadata__.k: expected a string"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = fileOf("bad" + std::to_string(i), cases[i].header, cases[i].data);
    const std::string error = errorOf(path);
    EXPECT_NE(error.find(path), std::string::npos) << error;
    EXPECT_NE(error.find(cases[i].expect), std::string::npos) << i << ": " << error;
    fs::remove(path);
  }
  // A header length past the end of the file, and a file shorter than the length field.
  const std::string huge = scratch("huge");
  {
    std::ofstream out(huge, std::ios::binary);
    out.write("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10);
  }
  EXPECT_NE(errorOf(huge).find("exceeds the file"), std::string::npos);
  {
    std::ofstream out(huge, std::ios::binary | std::ios::trunc);
    out.write("\x01\x02", 2);
  }
  EXPECT_NE(errorOf(huge).find("shorter than its 8-byte header length"), std::string::npos);
  fs::remove(huge);
  EXPECT_NE(errorOf("/dev/zero").find("safetensors file"), std::string::npos);
}

}  // namespace
}  // namespace permjit::patterns
