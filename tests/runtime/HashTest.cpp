#include <gtest/gtest.h>

#include <bit>
#include <set>

#include "permjit/runtime/Hash.h"

namespace permjit::runtime {
namespace {

TEST(Hash, XxHash64KnownVectors) {
  EXPECT_EQ(xxhash64(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxhash64("a"), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(xxhash64("abc"), 0x44BC2CF5AD770999ULL);
}

TEST(Hash, Fnv1a64KnownVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(Hash, StableAcrossBuildsAndLengths) {
  // Pinned values: a change here invalidates every on-disk cache and must be deliberate.
  std::string text;
  for (int i = 0; i < 100; ++i) text += static_cast<char>('a' + i % 26);
  Hash128 h = hash128(text);
  EXPECT_EQ(h.hex().size(), 32u);
  EXPECT_EQ(h, hash128(text));
  EXPECT_EQ(hash128("abc").hex(), "44bc2cf5ad770999e71fa2190541574b");
  // Every length through the 32-byte stripe, 8- and 4-byte tails gives a distinct hash.
  std::set<std::string> seen;
  for (size_t n = 0; n <= text.size(); ++n) seen.insert(hash128(text.substr(0, n)).hex());
  EXPECT_EQ(seen.size(), text.size() + 1);
}

TEST(Hash, OneBitFlipChangesAboutHalfTheBits) {
  std::string base(200, 'x');
  Hash128 h0 = hash128(base);
  int total = 0, flips = 0;
  for (size_t byte = 0; byte < base.size(); byte += 7) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string changed = base;
      changed[byte] = static_cast<char>(changed[byte] ^ (1 << bit));
      Hash128 h1 = hash128(changed);
      total += std::popcount(h0.hi ^ h1.hi);
      ++flips;
    }
  }
  double mean = static_cast<double>(total) / flips;
  EXPECT_GT(mean, 28.0);
  EXPECT_LT(mean, 36.0);
}

TEST(Hash, FieldsAreLengthPrefixed) {
  EXPECT_NE(Hasher().field("ab").field("c").finish(), Hasher().field("a").field("bc").finish());
  EXPECT_NE(Hasher().field("").field("x").finish(), Hasher().field("x").field("").finish());
  EXPECT_NE(Hasher().field(int64_t{1}).finish(), Hasher().field(int64_t{2}).finish());
  EXPECT_EQ(Hasher().field("ab").field(int64_t{7}).finish(),
            Hasher().field("ab").field(int64_t{7}).finish());
}

}  // namespace
}  // namespace permjit::runtime
