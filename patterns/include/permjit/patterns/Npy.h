// A small, strict reader and writer of NumPy .npy files (format versions 1.0, 2.0 and 3.0):
// little-endian float32 ('<f4') or float16 ('<f2'), C order. Enough for captured Q/K/V
// tensors. Everything else is rejected with Error(kIo) naming the file and what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace permjit::patterns {

enum class NpyDType { kFloat32, kFloat16 };

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;              // C order; float16 files are widened to float32
  NpyDType dtype = NpyDType::kFloat32;  // the dtype stored in the file
  int64_t size() const;                 // product of shape (1 for a scalar)
};

NpyArray readNpy(const std::string& path);
// Writes `data` (C order, product(shape) values) as dtype; float16 rounds to nearest even.
void writeNpy(const std::string& path, const std::vector<int64_t>& shape, const float* data,
              NpyDType dtype = NpyDType::kFloat32);

// Reads a per-head tensor: shape [S, D] (one head) or [H, S, D]; returns it as [H, S, D].
// `what` names the tensor in errors ("--q"). Throws Error(kIo) for any other rank.
NpyArray readHeadsNpy(const std::string& path, const std::string& what);

float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);

}  // namespace permjit::patterns
