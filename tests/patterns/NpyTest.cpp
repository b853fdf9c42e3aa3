#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "ExpectError.h"
#include "permjit/dsl/Error.h"
#include "permjit/patterns/Npy.h"

namespace permjit::patterns {
namespace {

using permjit::testing::expectError;

std::string tempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("permjit_npy_" + name)).string();
}

// A version-1.0 .npy file with a hand-written header and `data_bytes` zero bytes of data.
std::string rawNpy(const std::string& name, const std::string& dict, size_t data_bytes) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string path = tempPath(name);
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out << header << std::string(data_bytes, '\0');
  return path;
}

TEST(Npy, Float32RoundTripKeepsShapeAndValues) {
  std::vector<float> data(2 * 3 * 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = 0.25f * i - 3.0f;
  const std::string path = tempPath("f32.npy");
  writeNpy(path, {2, 3, 4}, data.data());
  NpyArray a = readNpy(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(a.dtype, NpyDType::kFloat32);
  EXPECT_EQ(a.data, data);
  // The data starts at a multiple of 64 bytes, as numpy writes it.
  EXPECT_EQ((std::filesystem::file_size(path) - data.size() * 4) % 64, 0u);
  std::filesystem::remove(path);
}

TEST(Npy, Float16RoundTripAndConversions) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(1e6f), 0x7c00);                          // overflow: inf
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);         // smallest subnormal
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie rounds to even
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(halfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(halfToFloat(0x7c00)));
  std::vector<float> data = {0.5f, -1.25f, 3.0f, 0.0f, 1024.0f, -0.0078125f};
  const std::string path = tempPath("f16.npy");
  writeNpy(path, {6}, data.data(), NpyDType::kFloat16);
  NpyArray a = readNpy(path);
  EXPECT_EQ(a.dtype, NpyDType::kFloat16);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{6}));
  EXPECT_EQ(a.data, data);
  std::filesystem::remove(path);
}

TEST(Npy, ReadsHandWrittenNumpyHeaders) {
  std::string path =
      rawNpy("numpy.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", 24);
  NpyArray a = readNpy(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2}));
  NpyArray heads = readHeadsNpy(path, "--q");
  EXPECT_EQ(heads.shape, (std::vector<int64_t>{1, 3, 2}));
}

TEST(Npy, RejectsWrongDtypeOrderShapeAndTruncation) {
  const auto kIo = ErrorCategory::kIo;
  std::string f8 =
      rawNpy("f8.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16);
  expectError([&] { readNpy(f8); }, kIo, {f8.c_str(), "dtype '<f8'", "'<f4' (float32)", "'<f2'"});
  std::string be = rawNpy("be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8);
  expectError([&] { readNpy(be); }, kIo, {"dtype '>f4'"});
  std::string fo =
      rawNpy("fo.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
  expectError([&] { readNpy(fo); }, kIo, {fo.c_str(), "fortran_order", "C order"});
  std::string shortdata =
      rawNpy("short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 12);
  expectError([&] { readNpy(shortdata); }, kIo, {"holds 12 bytes", "need 16"});
  std::string badkey =
      rawNpy("key.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4);
  expectError([&] { readNpy(badkey); }, kIo, {"unknown key 'x'"});
  std::string notnpy = tempPath("not.npy");
  std::ofstream(notnpy) << "hello, this is not numpy";
  expectError([&] { readNpy(notnpy); }, kIo, {notnpy.c_str(), "magic"});
  expectError([] { readNpy("/nonexistent/q.npy"); }, kIo, {"/nonexistent/q.npy", "cannot open"});

  std::vector<float> v(16, 1.0f);
  std::string rank1 = tempPath("rank1.npy");
  writeNpy(rank1, {16}, v.data());
  expectError([&] { readHeadsNpy(rank1, "--q"); }, kIo,
              {rank1.c_str(), "--q", "shape (16)", "expected [S, D] (one head) or [H, S, D]"});
  std::string rank4 = tempPath("rank4.npy");
  writeNpy(rank4, {2, 2, 2, 2}, v.data());
  expectError([&] { readHeadsNpy(rank4, "--k"); }, kIo, {"--k", "shape (2, 2, 2, 2)"});
  for (const std::string& p : {f8, be, fo, shortdata, badkey, notnpy, rank1, rank4}) {
    std::filesystem::remove(p);
  }
}

}  // namespace
}  // namespace permjit::patterns
