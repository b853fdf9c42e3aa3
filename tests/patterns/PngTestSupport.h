// Reading back the PNGs of permjit viz in tests (libpng).
#pragma once

#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace permjit::patterns {

struct Png {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  const uint8_t* at(int x, int y) const { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

// Checks the signature and IHDR by hand, then decodes with libpng.
inline Png readPng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> head(24);
  in.read(reinterpret_cast<char*>(head.data()), 24);
  const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  EXPECT_TRUE(std::equal(signature, signature + 8, head.begin())) << path;
  EXPECT_EQ(std::string(head.begin() + 12, head.begin() + 16), "IHDR");
  auto be32 = [&](int o) {
    return head[o] << 24 | head[o + 1] << 16 | head[o + 2] << 8 | head[o + 3];
  };
  Png png;
  png.width = be32(16);
  png.height = be32(20);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  EXPECT_TRUE(png_image_begin_read_from_file(&image, path.c_str())) << image.message;
  image.format = PNG_FORMAT_RGB;
  EXPECT_EQ(static_cast<int>(image.width), png.width);
  EXPECT_EQ(static_cast<int>(image.height), png.height);
  png.rgb.resize(PNG_IMAGE_SIZE(image));
  EXPECT_TRUE(png_image_finish_read(&image, nullptr, png.rgb.data(), 0, nullptr));
  return png;
}

}  // namespace permjit::patterns
