// The tuning database without a GPU: reading, writing, keying and rejection of bad entries;
// candidate generation; and that tuning refuses clearly where there is no device.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "permjit/compiler/Pipeline.h"
#include "permjit/permjit.h"
#include "permjit/runtime/Autotuner.h"
#include "permjit/runtime/TuningDb.h"

namespace permjit::runtime {
namespace {

namespace fs = std::filesystem;

TuningEntry sampleEntry() {
  TuningEntry e;
  e.key.device = "NVIDIA H100 80GB HBM3";
  e.key.cc_major = 9;
  e.key.cc_minor = 0;
  e.key.structure_hash = "0123456789abcdef0123456789abcdef";
  e.key.head_dim = 128;
  e.key.dtype = DType::kBF16;
  e.key.seq_bucket = 131072;
  e.tile = TileConfig{64, 128, 4, 3};
  e.default_ms = 2.5;
  e.tuned_ms = 2.0;
  e.date = "2026-11-27T12:00:00Z";
  e.pattern = "grid_head";
  return e;
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("permjit-tuning-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static void write(const std::string& file, const std::string& text) {
    fs::create_directories(fs::path(file).parent_path());
    std::ofstream(file) << text;
  }
  fs::path dir_;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

TEST(SeqBucket, PowersOfTwoFromTheMinimum) {
  EXPECT_EQ(seqBucket(0), kDefaultSeqBucket);
  EXPECT_EQ(seqBucket(1), kMinSeqBucket);
  EXPECT_EQ(seqBucket(4096), 4096);
  EXPECT_EQ(seqBucket(4097), 8192);
  EXPECT_EQ(seqBucket(100000), 131072);
  EXPECT_EQ(seqBucket(131072), 131072);
  EXPECT_EQ(seqBucket(1 << 20), 1 << 20);
}

TEST_F(TempDir, SaveLoadRoundTripsEveryField) {
  TuningDb db;
  TuningEntry a = sampleEntry();
  TuningEntry b = sampleEntry();
  b.key.dtype = DType::kFP16;
  b.key.head_dim = 64;
  b.tile = TileConfig{128, 32, 8, 2};
  db.upsert(a);
  db.upsert(b);
  const std::string file = path("sub/dir/tuning.json");
  db.save(file);
  std::vector<std::string> warnings;
  TuningDb loaded = TuningDb::load(file, &warnings);
  EXPECT_TRUE(warnings.empty()) << joined(warnings);
  ASSERT_EQ(loaded.entries().size(), 2u);
  for (const TuningEntry& want : {a, b}) {
    auto got = loaded.lookup(want.key);
    ASSERT_TRUE(got) << want.key.str();
    EXPECT_EQ(got->tile, want.tile);
    EXPECT_EQ(got->default_ms, want.default_ms);
    EXPECT_EQ(got->tuned_ms, want.tuned_ms);
    EXPECT_EQ(got->date, want.date);
    EXPECT_EQ(got->pattern, want.pattern);
  }
  EXPECT_EQ(loaded.dump(), db.dump());
  // Atomic write: only the database is left behind (no temporary files).
  size_t files = 0;
  for (const auto& item : fs::directory_iterator(fs::path(file).parent_path())) {
    (void)item;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST(TuningDbFormat, DocumentedShape) {
  TuningDb db;
  db.upsert(sampleEntry());
  nlohmann::json root = nlohmann::json::parse(db.dump());
  EXPECT_EQ(root.at("permjit_tuning"), 1);
  const auto& e = root.at("entries").at(0);
  EXPECT_EQ(e.at("device"), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(e.at("compute_capability"), "9.0");
  EXPECT_EQ(e.at("dtype"), "bf16");
  EXPECT_EQ(e.at("seq_bucket"), 131072);
  EXPECT_EQ(e.at("tile").at("block_n"), 128);
}

TEST(TuningDbKeying, OnlyTheExactKeyMatches) {
  TuningDb db;
  db.upsert(sampleEntry());
  const TuningKey key = sampleEntry().key;
  EXPECT_TRUE(db.lookup(key));
  auto differs = [&](auto change) {
    TuningKey other = key;
    change(other);
    return !db.lookup(other).has_value();
  };
  EXPECT_TRUE(differs([](TuningKey& k) { k.device = "NVIDIA H200"; }));  // another GPU
  EXPECT_TRUE(differs([](TuningKey& k) { k.cc_minor = 9; }));
  EXPECT_TRUE(differs([](TuningKey& k) { k.cc_major = 8; }));
  EXPECT_TRUE(differs([](TuningKey& k) { k.structure_hash[0] = 'f'; }));
  EXPECT_TRUE(differs([](TuningKey& k) { k.head_dim = 64; }));
  EXPECT_TRUE(differs([](TuningKey& k) { k.dtype = DType::kFP16; }));
  EXPECT_TRUE(differs([](TuningKey& k) { k.seq_bucket = 65536; }));
}

TEST(TuningDbKeying, UpsertReplacesTheSameKey) {
  TuningDb db;
  db.upsert(sampleEntry());
  TuningEntry newer = sampleEntry();
  newer.tile = TileConfig{128, 128, 8, 2};
  db.upsert(newer);
  ASSERT_EQ(db.entries().size(), 1u);
  EXPECT_EQ(db.lookup(newer.key)->tile, newer.tile);
}

TEST(TuningDbRejects, UnknownVersionIgnoresTheWholeFileWithAWarning) {
  TuningDb db;
  db.upsert(sampleEntry());
  std::string text = db.dump();
  text.replace(text.find("\"permjit_tuning\": 1"), 19, "\"permjit_tuning\": 2");
  std::vector<std::string> warnings;
  TuningDb parsed = TuningDb::parse(text, "t.json", &warnings);
  EXPECT_TRUE(parsed.entries().empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("permjit_tuning: 2; allowed: 1"), std::string::npos) << warnings[0];

  warnings.clear();
  EXPECT_TRUE(TuningDb::parse("{\"entries\": []}", "t.json", &warnings).entries().empty());
  EXPECT_NE(joined(warnings).find("permjit_tuning: missing"), std::string::npos);
}

TEST(TuningDbRejects, NotJsonIsAnEmptyDatabaseWithAWarning) {
  std::vector<std::string> warnings;
  EXPECT_TRUE(
      TuningDb::parse("{\"permjit_tuning\": 1, \"entr", "t.json", &warnings).entries().empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("not a JSON object"), std::string::npos);
}

TEST(TuningDbRejects, BadEntriesAreSkippedAndNamedOthersKept) {
  TuningDb db;
  db.upsert(sampleEntry());
  nlohmann::json root = nlohmann::json::parse(db.dump());
  nlohmann::json good = root["entries"][0];
  auto broken = [&](auto change) {
    nlohmann::json e = good;
    change(e);
    return e;
  };
  root["entries"] = nlohmann::json::array({
      broken([](nlohmann::json& e) { e.erase("tile"); }),
      broken([](nlohmann::json& e) { e["dtype"] = "fp8"; }),
      broken([](nlohmann::json& e) { e["compute_capability"] = "nine"; }),
      broken([](nlohmann::json& e) { e["seq_bucket"] = 5000; }),
      broken([](nlohmann::json& e) { e["structure_hash"] = "xyz"; }),
      broken([](nlohmann::json& e) { e["tile"]["warps"] = "4"; }),
      broken([](nlohmann::json& e) { e["tuned_ms"] = -1; }),
      42,
      good,
  });
  std::vector<std::string> warnings;
  TuningDb parsed = TuningDb::parse(root.dump(), "t.json", &warnings);
  ASSERT_EQ(parsed.entries().size(), 1u);
  EXPECT_TRUE(parsed.lookup(sampleEntry().key));
  ASSERT_EQ(warnings.size(), 8u) << joined(warnings);
  const char* fields[] = {"entries[0].tile: missing",
                          "entries[1].dtype: 'fp8'",
                          "entries[2].compute_capability: 'nine'",
                          "entries[3].seq_bucket: 5000",
                          "entries[4].structure_hash",
                          "entries[5].tile.warps: not an integer",
                          "entries[6].tuned_ms",
                          "entries[7].entry: not an object"};
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_NE(warnings[i].find(fields[i]), std::string::npos) << warnings[i];
    EXPECT_NE(warnings[i].find("ignored"), std::string::npos) << warnings[i];
  }
}

TEST(TuningDbRejects, StaleTileIsIgnoredWithAWarning) {
  TuningEntry stale = sampleEntry();
  stale.tile = TileConfig{96, 64, 4, 2};  // block_m 96: not in the supported set any more
  TuningDb db;
  db.upsert(stale);
  std::vector<std::string> warnings;
  TuningDb parsed = TuningDb::parse(db.dump(), "t.json", &warnings);
  EXPECT_TRUE(warnings.empty()) << joined(warnings);  // well-formed: kept in the file
  EXPECT_FALSE(parsed.lookup(stale.key, &warnings));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("stale"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("tile.block_m: 96"), std::string::npos) << warnings[0];
}

TEST_F(TempDir, MissingFileIsEmptyWithoutWarnings) {
  std::vector<std::string> warnings;
  EXPECT_TRUE(TuningDb::load(path("none.json"), &warnings).entries().empty());
  EXPECT_TRUE(warnings.empty());
}

TEST_F(TempDir, UpdateCreatesUpsertsAndDropsBadEntries) {
  const std::string file = path("db/tuning.json");
  TuningEntry a = sampleEntry();
  std::vector<std::string> warnings;
  TuningDb::update(file, a, &warnings);
  TuningEntry b = sampleEntry();
  b.key.seq_bucket = 8192;
  TuningDb::update(file, b, &warnings);
  TuningEntry a2 = a;
  a2.tile = TileConfig{128, 128, 8, 3};
  TuningDb::update(file, a2, &warnings);
  EXPECT_TRUE(warnings.empty()) << joined(warnings);
  TuningDb loaded = TuningDb::load(file, &warnings);
  ASSERT_EQ(loaded.entries().size(), 2u);
  EXPECT_EQ(loaded.lookup(a.key)->tile, a2.tile);
  EXPECT_EQ(loaded.lookup(b.key)->tile, b.tile);
}

TEST_F(TempDir, UpdateNeverOverwritesAnotherVersion) {
  const std::string file = path("tuning.json");
  const std::string foreign = "{\"permjit_tuning\": 7, \"entries\": [\"future\"]}";
  write(file, foreign);
  std::vector<std::string> warnings;
  try {
    TuningDb::update(file, sampleEntry(), &warnings);
    FAIL() << "expected Error(kIo)";
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kIo);
    EXPECT_NE(std::string(error.what()).find("not overwriting"), std::string::npos);
  }
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, foreign);
}

TEST_F(TempDir, SaveToAnUnwritablePlaceIsAnIoError) {
  write(path("file"), "x");
  try {
    TuningDb().save(path("file/tuning.json"));  // parent is a regular file
    FAIL() << "expected Error(kIo)";
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kIo);
    EXPECT_NE(std::string(error.what()).find("file/tuning.json"), std::string::npos);
  }
}

TEST(StructureHash, IgnoresTheTileButNotThePattern) {
  CompileOptions options;
  KernelSpec a = compilePattern(causal() & (sink(64) | local(256)), options);
  options.tile = TileConfig{64, 32, 4, 3};
  KernelSpec a_other_tile = compilePattern(causal() & (sink(64) | local(256)), options);
  KernelSpec a_other_values = compilePattern(causal() & (sink(16) | local(1024)), options);
  KernelSpec dense = compilePattern(causal(), options);
  options.head_dim = 64;
  KernelSpec a_hd64 = compilePattern(causal() & (sink(64) | local(256)), options);
  const std::string hash = tuningStructureHash(a);
  EXPECT_EQ(hash.size(), 32u);
  EXPECT_EQ(hash, tuningStructureHash(a_other_tile));
  EXPECT_EQ(hash, tuningStructureHash(a_other_values));  // values are kernel arguments
  EXPECT_NE(hash, tuningStructureHash(dense));
  EXPECT_NE(hash, tuningStructureHash(a_hd64));
}

TEST(Candidates, DefaultFirstThenTheSupportedCrossProduct) {
  for (int head_dim : {64, 128}) {
    std::vector<TileConfig> tiles = candidateTiles(head_dim);
    ASSERT_FALSE(tiles.empty());
    EXPECT_EQ(tiles[0], defaultTileConfig(head_dim));
    EXPECT_EQ(tiles.size(), 24u);  // 2 x 3 x 2 x 2, the default among them
    for (size_t i = 0; i < tiles.size(); ++i) {
      EXPECT_NO_THROW(validateTileConfig(tiles[i]));
      for (size_t j = 0; j < i; ++j) EXPECT_FALSE(tiles[i] == tiles[j]);
    }
  }
  EXPECT_THROW(candidateTiles(96), Error);
}

TEST(NoDevice, TuningSaysItNeedsAGpu) {
  RuntimeOptions options;
  options.host_only = true;
  options.arch = "sm_90a";
  options.disable_cache = true;
  Runtime runtime(options);
  TuneShape shape;
  shape.seq_len = 1024;
  try {
    autotune(runtime, causal(), {}, shape);
    FAIL() << "expected Error(kDriverError)";
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kDriverError);
    EXPECT_NE(std::string(error.what()).find("needs a CUDA GPU"), std::string::npos);
  }
  // Planning on a host-only runtime never consults the database (it is keyed by GPU).
  EXPECT_FALSE(tunedTileFor(runtime, causal(), {}));
}

}  // namespace
}  // namespace permjit::runtime
