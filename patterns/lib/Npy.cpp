#include "permjit/patterns/Npy.h"

#include <fmt/format.h>

#include <bit>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>

#include "permjit/dsl/Error.h"
#include "permjit/dsl/Files.h"

namespace permjit::patterns {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCategory::kIo, fmt::format("{}: {}", path, what));
}

// Parses the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  void parse(std::string& descr, bool& fortran, std::vector<int64_t>& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    while (true) {
      skipSpace();
      if (peek() == '}') break;
      std::string key = quoted();
      expect(':');
      skipSpace();
      if (key == "descr") {
        descr = quoted();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean();
        have_fortran = true;
      } else if (key == "shape") {
        shape = tuple();
        have_shape = true;
      } else {
        fail(path_, fmt::format("npy header: unknown key '{}'; allowed: descr, fortran_order, "
                                "shape",
                                key));
      }
      skipSpace();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      --i_;
    }
    if (!have_descr || !have_fortran || !have_shape) {
      fail(path_, "npy header: needs descr, fortran_order and shape");
    }
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    skipSpace();
    if (peek() != c) fail(path_, fmt::format("npy header: expected '{}' at offset {}", c, i_));
    ++i_;
  }
  std::string quoted() {
    skipSpace();
    char q = peek();
    if (q != '\'' && q != '"') fail(path_, fmt::format("npy header: expected a string at {}", i_));
    size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) fail(path_, "npy header: unterminated string");
    std::string out = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    fail(path_, "npy header: fortran_order must be True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (true) {
      skipSpace();
      if (peek() == ')') {
        ++i_;
        return dims;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        fail(path_, "npy header: shape must be a tuple of non-negative integers");
      }
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) {
          fail(path_, "npy header: shape dimension too large");
        }
        v = v * 10 + (s_[i_++] - '0');
      }
      dims.push_back(v);
      skipSpace();
      if (peek() == ',') ++i_;
    }
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

}  // namespace

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int shift = 0;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        ++shift;
      }
      mant &= 0x3ff;
      bits = sign | static_cast<uint32_t>(127 - 15 - shift + 1) << 23 | mant << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  return std::bit_cast<float>(bits);
}

uint16_t floatToHalf(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00);  // NaN / inf
  if (abs >= 0x477ff000) return sign | 0x7c00;  // rounds past the largest half: inf
  if (abs < 0x38800000) {                       // below the smallest normal half: subnormal
    if (abs < 0x33000000) return sign;          // rounds to zero
    uint32_t mant = (abs & 0x7fffff) | 0x800000;
    int shift = 126 - static_cast<int>(abs >> 23);  // 14 + (113 - exp)
    uint32_t half = mant >> (shift);
    uint32_t rest = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t half = (abs - 0x38000000) >> 13;  // rebias exponent 127 -> 15
  uint32_t rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;
  return sign | static_cast<uint16_t>(half);
}

NpyArray readNpy(const std::string& path) {
  requireRegularFile(path, ".npy file");  // a FIFO or /dev/zero is refused, not read
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open .npy file");
  in.seekg(0, std::ios::end);
  const int64_t file_size = in.tellg();
  in.seekg(0);
  char prefix[8];
  if (file_size < 10 || !in.read(prefix, 8) || std::memcmp(prefix, kMagic, kMagicLen) != 0) {
    fail(path, "not a .npy file (expected the \\x93NUMPY magic)");
  }
  const int major = static_cast<unsigned char>(prefix[6]);
  uint32_t header_len = 0;
  int64_t header_start = 0;
  unsigned char len_bytes[4] = {0, 0, 0, 0};
  if (major == 1) {
    if (!in.read(reinterpret_cast<char*>(len_bytes), 2)) fail(path, "truncated npy header");
    header_len = len_bytes[0] | len_bytes[1] << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (!in.read(reinterpret_cast<char*>(len_bytes), 4)) fail(path, "truncated npy header");
    header_len = len_bytes[0] | len_bytes[1] << 8 | len_bytes[2] << 16 |
                 static_cast<uint32_t>(len_bytes[3]) << 24;
    header_start = 12;
  } else {
    fail(path, fmt::format("npy format version {} unsupported; allowed: 1, 2, 3", major));
  }
  if (header_start + static_cast<int64_t>(header_len) > file_size)
    fail(path, "truncated npy header");
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);

  std::string descr;
  bool fortran = false;
  NpyArray out;
  HeaderParser(header, path).parse(descr, fortran, out.shape);
  size_t item = 0;
  if (descr == "<f4") {
    out.dtype = NpyDType::kFloat32;
    item = 4;
  } else if (descr == "<f2") {
    out.dtype = NpyDType::kFloat16;
    item = 2;
  } else {
    fail(path,
         fmt::format("dtype '{}' unsupported; allowed: '<f4' (float32), '<f2' (float16)", descr));
  }
  if (fortran) fail(path, "fortran_order is True; expected C order (np.ascontiguousarray)");
  int64_t count = 1;
  for (int64_t d : out.shape) {
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / 8 / d)
      fail(path, "shape too large");
    count *= d;
  }
  const int64_t data_bytes = file_size - header_start - header_len;
  if (data_bytes != count * static_cast<int64_t>(item)) {
    fail(path, fmt::format("data holds {} bytes; shape and dtype need {}", data_bytes,
                           count * static_cast<int64_t>(item)));
  }
  out.data.resize(count);
  if (item == 4) {
    in.read(reinterpret_cast<char*>(out.data.data()), data_bytes);
  } else {
    std::vector<uint16_t> raw(count);
    in.read(reinterpret_cast<char*>(raw.data()), data_bytes);
    for (int64_t i = 0; i < count; ++i) out.data[i] = halfToFloat(raw[i]);
  }
  if (!in) fail(path, "read failed");
  static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");
  return out;
}

void writeNpy(const std::string& path, const std::vector<int64_t>& shape, const float* data,
              NpyDType dtype) {
  int64_t count = 1;
  std::string dims;
  for (int64_t d : shape) {
    if (d < 0) fail(path, fmt::format("shape: dimension {} is negative", d));
    dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    count *= d;
  }
  // Python tuple syntax: "()", "(5,)", "(2, 3)".
  std::string shape_text = "(" + dims + (shape.size() == 1 ? ",)" : ")");
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   dtype == NpyDType::kFloat32 ? "<f4" : "<f2", shape_text);
  // Pad so the data starts at a multiple of 64 bytes; the header ends with '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot open for writing");
  out.write(kMagic, kMagicLen);
  const char version[2] = {1, 0};
  out.write(version, 2);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(len), 2);
  out.write(header.data(), header.size());
  if (dtype == NpyDType::kFloat32) {
    out.write(reinterpret_cast<const char*>(data), count * 4);
  } else {
    std::vector<uint16_t> raw(count);
    for (int64_t i = 0; i < count; ++i) raw[i] = floatToHalf(data[i]);
    out.write(reinterpret_cast<const char*>(raw.data()), count * 2);
  }
  out.close();
  if (!out) fail(path, "write failed");
}

NpyArray readHeadsNpy(const std::string& path, const std::string& what) {
  NpyArray a = readNpy(path);
  if (a.shape.size() == 2) a.shape.insert(a.shape.begin(), 1);
  if (a.shape.size() != 3) {
    std::string dims;
    for (int64_t d : a.shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    fail(path, fmt::format("{}: shape ({}) unsupported; expected [S, D] (one head) or [H, S, D]",
                           what, dims));
  }
  for (int64_t d : a.shape) {
    if (d < 1) fail(path, fmt::format("{}: every dimension of [H, S, D] must be >= 1", what));
  }
  return a;
}

}  // namespace permjit::patterns
