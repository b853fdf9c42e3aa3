// The tuning database without a GPU: reading, writing, keying and rejection of bad entries;
// candidate generation; and that tuning refuses clearly where there is no device.
#include <gtest/gtest.h>

#include <algorithm>
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
  e.pass_split = PassSplit::kSplitLines;
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
  b.pass_split = std::nullopt;  // an entry tuned before the split was a dimension
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
    EXPECT_EQ(got->pass_split, want.pass_split);
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
  EXPECT_EQ(root.at("permjit_tuning"), 2);
  const auto& e = root.at("entries").at(0);
  EXPECT_EQ(e.at("pass_split"), "lines");
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

TEST(TuningDbKeying, ThePassSplitIsAValueNotPartOfTheKey) {
  TuningDb db;
  db.upsert(sampleEntry());
  TuningEntry single = sampleEntry();
  single.pass_split = PassSplit::kSingle;
  db.upsert(single);
  ASSERT_EQ(db.entries().size(), 1u);
  EXPECT_EQ(db.lookup(single.key)->pass_split, PassSplit::kSingle);
  nlohmann::json root = nlohmann::json::parse(db.dump());
  EXPECT_EQ(root["entries"][0]["pass_split"], "single");
  single.pass_split = std::nullopt;  // not tuned: not written at all
  db.upsert(single);
  EXPECT_FALSE(nlohmann::json::parse(db.dump())["entries"][0].contains("pass_split"));
}

// A version 1 file (written before the pass split was tuned) still reads: its entries have no
// split, so planning keeps the compiler's choice; an update rewrites it as version 2.
TEST_F(TempDir, Version1FilesStillReadAndUpgradeOnUpdate) {
  TuningEntry old = sampleEntry();
  old.pass_split = std::nullopt;
  TuningDb db;
  db.upsert(old);
  nlohmann::json root = nlohmann::json::parse(db.dump());
  root["permjit_tuning"] = 1;
  const std::string file = path("tuning.json");
  write(file, root.dump(2));
  std::vector<std::string> warnings;
  TuningDb loaded = TuningDb::load(file, &warnings);
  EXPECT_TRUE(warnings.empty()) << joined(warnings);
  auto entry = loaded.lookup(old.key);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->tile, old.tile);
  EXPECT_FALSE(entry->pass_split);

  TuningEntry other = sampleEntry();
  other.key.seq_bucket = 8192;
  TuningDb::update(file, other, &warnings);
  EXPECT_TRUE(warnings.empty()) << joined(warnings);
  nlohmann::json updated = nlohmann::json::parse(std::ifstream(file));
  EXPECT_EQ(updated["permjit_tuning"], kTuningDbVersion);
  TuningDb reloaded = TuningDb::load(file, &warnings);
  ASSERT_EQ(reloaded.entries().size(), 2u);
  EXPECT_FALSE(reloaded.lookup(old.key)->pass_split);
  EXPECT_EQ(reloaded.lookup(other.key)->pass_split, PassSplit::kSplitLines);
}

TEST(TuningDbRejects, BadPassSplitsAreSkippedAndNamed) {
  TuningDb db;
  db.upsert(sampleEntry());
  nlohmann::json root = nlohmann::json::parse(db.dump());
  nlohmann::json good = root["entries"][0];
  auto with = [&](nlohmann::json value) {
    nlohmann::json e = good;
    e["pass_split"] = value;
    return e;
  };
  root["entries"] = nlohmann::json::array({with("auto"), with("fused"), with(1), good});
  std::vector<std::string> warnings;
  TuningDb parsed = TuningDb::parse(root.dump(), "t.json", &warnings);
  ASSERT_EQ(parsed.entries().size(), 1u);
  EXPECT_EQ(parsed.lookup(sampleEntry().key)->pass_split, PassSplit::kSplitLines);
  ASSERT_EQ(warnings.size(), 3u) << joined(warnings);
  EXPECT_NE(warnings[0].find("entries[0].pass_split: 'auto'; allowed: single, lines"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("entries[1].pass_split: 'fused'"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[2].find("entries[2].pass_split: not a string"), std::string::npos)
      << warnings[2];

  // Version 1 had no such field: an entry carrying one is not a version 1 entry.
  root["permjit_tuning"] = 1;
  root["entries"] = nlohmann::json::array({good});
  warnings.clear();
  EXPECT_TRUE(TuningDb::parse(root.dump(), "t.json", &warnings).entries().empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("entries[0].pass_split: not a field of permjit_tuning 1"),
            std::string::npos)
      << warnings[0];
}

TEST(TuningDbRejects, UnknownVersionIgnoresTheWholeFileWithAWarning) {
  TuningDb db;
  db.upsert(sampleEntry());
  std::string text = db.dump();
  text.replace(text.find("\"permjit_tuning\": 2"), 19, "\"permjit_tuning\": 3");
  std::vector<std::string> warnings;
  TuningDb parsed = TuningDb::parse(text, "t.json", &warnings);
  EXPECT_TRUE(parsed.entries().empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("permjit_tuning: 3; allowed: 1..2"), std::string::npos) << warnings[0];

  warnings.clear();
  EXPECT_TRUE(TuningDb::parse("{\"entries\": []}", "t.json", &warnings).entries().empty());
  EXPECT_NE(joined(warnings).find("permjit_tuning: missing"), std::string::npos);
}

TEST(TuningDbRejects, DuplicateKeysIgnoreTheWholeFileWithAWarning) {
  std::vector<std::string> warnings;
  EXPECT_TRUE(
      TuningDb::parse(R"({"permjit_tuning": 2, "entries": [], "entries": []})", "t.json", &warnings)
          .entries()
          .empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("entries: duplicate key"), std::string::npos) << warnings[0];
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
      // 2^32 + 128 once read as block_m 128 (wrapped into an int).
      broken([](nlohmann::json& e) { e["tile"]["block_m"] = (int64_t{1} << 32) + 128; }),
      good,
  });
  std::vector<std::string> warnings;
  TuningDb parsed = TuningDb::parse(root.dump(), "t.json", &warnings);
  ASSERT_EQ(parsed.entries().size(), 1u);
  EXPECT_TRUE(parsed.lookup(sampleEntry().key));
  ASSERT_EQ(warnings.size(), 9u) << joined(warnings);
  const char* fields[] = {"entries[0].tile: missing",
                          "entries[1].dtype: 'fp8'",
                          "entries[2].compute_capability: 'nine'",
                          "entries[3].seq_bucket: 5000",
                          "entries[4].structure_hash",
                          "entries[5].tile.warps: not an integer",
                          "entries[6].tuned_ms",
                          "entries[7].entry: not an object",
                          "entries[8].tile.block_m: 4294967424; allowed: 1..1024"};
  for (size_t i = 0; i < 9; ++i) {
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
    // 2 x 3 x 2 x 2, the default among them, less block_m 64 with 8 warps (8 rows a warp: the
    // family refuses it, so the tuner is not offered it)
    EXPECT_EQ(tiles.size(), 18u);
    for (const TileConfig& tile : tiles) EXPECT_GE(tile.block_m / tile.warps, 16);
    for (size_t i = 0; i < tiles.size(); ++i) {
      EXPECT_NO_THROW(validateTileConfig(tiles[i]));
      for (size_t j = 0; j < i; ++j) EXPECT_FALSE(tiles[i] == tiles[j]);
    }
  }
  EXPECT_THROW(candidateTiles(96), Error);
}

// The sm90a family's space: its one warp layout (warps 4, block_m 128) with block_n {64, 128}
// and stages {2, 3}, its default (128 keys per step) first.
TEST(Candidates, TheSm90aFamilyHasItsOwnSpace) {
  // block_n {128, 64} x stages {2, 3}; at head dim 64 also block_m 192 (three consumer
  // warpgroups), tried right after the default; warps are the family's own (4).
  for (int head_dim : {64, 128}) {
    const std::vector<TileConfig> tiles = candidateTiles(head_dim, KernelFamily::kSm90a);
    ASSERT_EQ(tiles.size(), head_dim == 64 ? 8u : 4u);
    EXPECT_EQ(tiles[0], (TileConfig{128, 128, 4, head_dim == 64 ? 3 : 2}));
    int three_groups = 0;
    for (const TileConfig& tile : tiles) {
      EXPECT_TRUE(tile.block_m == 128 || (head_dim == 64 && tile.block_m == 192)) << tileName(tile);
      EXPECT_EQ(tile.warps, 4);
      three_groups += tile.block_m == 192;
      EXPECT_EQ(std::count(tiles.begin(), tiles.end(), tile), 1) << tileName(tile);
    }
    EXPECT_EQ(three_groups, head_dim == 64 ? 4 : 0);
    if (head_dim == 64) {  // the warpgroup choice comes early: a bounded tuner reaches it
      EXPECT_EQ(tiles[1], (TileConfig{128, 128, 4, 2}));
      EXPECT_EQ(tiles[2], (TileConfig{192, 128, 4, 2}));
    }
  }
  PlanOptions options;
  const std::vector<TuneCandidate> dense =
      candidateConfigs(causal(), options, {}, 0, KernelFamily::kSm90a);
  ASSERT_EQ(dense.size(), 4u);
  EXPECT_EQ(dense[0].tile, (TileConfig{128, 128, 4, 2}));
  options.head_dim = 64;
  EXPECT_EQ(candidateConfigs(causal(), options, {}, 0, KernelFamily::kSm90a).size(), 8u);
}

// The grid head splits into a line-free pass and a lines pass; dense causal does not.
Pattern gridHead() {
  return causal() & (sink(1024) | local(1024) | rows(SpanRef::last(60)) | grid(14, 0, 0));
}

TEST(Candidates, PassSplitIsADimensionWherethePatternSplits) {
  PlanOptions options;
  EXPECT_EQ(candidateSplits(gridHead(), options),
            (std::vector<PassSplit>{PassSplit::kSplitLines, PassSplit::kSingle}));
  EXPECT_EQ(candidateSplits(causal(), options), std::vector<PassSplit>{PassSplit::kSingle});
  options.pass_split = PassSplit::kSingle;  // explicit: not tuned
  EXPECT_EQ(candidateSplits(gridHead(), options), std::vector<PassSplit>{PassSplit::kSingle});

  options.pass_split = PassSplit::kAuto;
  const TileConfig fallback = defaultTileConfig(128), other{64, 64, 4, 2};
  std::vector<TuneCandidate> grid = candidateConfigs(gridHead(), options, {other, fallback}, 0);
  ASSERT_EQ(grid.size(), 4u);  // the default tile is not repeated
  EXPECT_EQ(grid[0], (TuneCandidate{fallback, PassSplit::kSplitLines}));  // the default plan
  EXPECT_EQ(grid[1], (TuneCandidate{fallback, PassSplit::kSingle}));
  EXPECT_EQ(grid[2], (TuneCandidate{other, PassSplit::kSplitLines}));
  EXPECT_EQ(grid[3], (TuneCandidate{other, PassSplit::kSingle}));
  EXPECT_EQ(candidateName(grid[1]), "128x64x4x2/single");
  EXPECT_EQ(candidateConfigs(gridHead(), options, {other}, 3).size(), 3u);
  EXPECT_EQ(candidateConfigs(causal(), options, {}, 0).size(), 18u);
  EXPECT_EQ(candidateConfigs(gridHead(), options, {}, 0).size(), 36u);
  EXPECT_THROW(candidateConfigs(causal(), options, {TileConfig{96, 64, 4, 2}}, 0), Error);
}

TEST(TunedResult, TheEntryRecordsTheChosenSplit) {
  TuneResult result;
  result.best_tile = TileConfig{64, 64, 4, 2};
  result.best_split = PassSplit::kSingle;
  result.default_split = PassSplit::kSplitLines;
  result.default_ms = 2;
  result.best_ms = 1.5;
  TuningEntry entry = result.entry();
  EXPECT_EQ(entry.tile, result.best_tile);
  EXPECT_EQ(entry.pass_split, PassSplit::kSingle);
  EXPECT_NEAR(result.gain(), 1.0 / 3.0, 1e-12);
}

// The database policy plan() applies, on a described device: no GPU or Runtime is needed.
class TuningPolicy : public TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    ::setenv("PERMJIT_TUNING_DB", path("tuning.json").c_str(), 1);
    ::unsetenv("PERMJIT_TUNE");
    device_ = TuningDevice{"Test GPU", 9, 0, 232448, "sm_90a"};
    options_.head_dim = 128;
    options_.seq_len = 4096;
    options_.name = "policy";
  }
  void TearDown() override {
    ::unsetenv("PERMJIT_TUNING_DB");
    ::unsetenv("PERMJIT_TUNE");
    TempDir::TearDown();
  }
  void store(const TileConfig& tile, PassSplit split) {
    TuningEntry entry;
    entry.key = tuningKeyFor(device_, tuningKeySpec(causal(), options_), options_.seq_len);
    entry.tile = tile;
    entry.pass_split = split;
    entry.date = isoDateNow();
    std::vector<std::string> warnings;
    TuningDb::update(path("tuning.json"), entry, &warnings);
    ASSERT_TRUE(warnings.empty()) << joined(warnings);
  }
  TuneFunction countingTune(int* calls, const TileConfig& best) {
    return [calls, best](const Pattern&, const PlanOptions& options, const TuneShape& shape) {
      ++*calls;
      TuneResult result;
      result.key = tuningKeyFor(TuningDevice{"Test GPU", 9, 0, 232448, "sm_90a"},
                                tuningKeySpec(causal(), options), shape.seq_len);
      result.default_tile = defaultTileConfig(128);
      result.best_tile = best;
      result.best_split = PassSplit::kSingle;
      result.default_ms = 2;
      result.best_ms = 1;
      return result;
    };
  }
  TuningDevice device_;
  PlanOptions options_;
};

TEST_F(TuningPolicy, AnEntryForTheDeviceIsAppliedWithoutTuning) {
  const TileConfig tile{64, 64, 4, 2};
  store(tile, PassSplit::kSingle);
  int calls = 0;
  auto tuned = tunedConfigFor(device_, causal(), options_, countingTune(&calls, tile));
  ASSERT_TRUE(tuned);
  EXPECT_EQ(*tuned, (TunedConfig{tile, PassSplit::kSingle}));
  EXPECT_EQ(calls, 0);
  TuningDevice other = device_;
  other.name = "Other GPU";  // keyed by device: no entry there
  EXPECT_FALSE(tunedConfigFor(other, causal(), options_, countingTune(&calls, tile)));
  EXPECT_EQ(calls, 0);
}

TEST_F(TuningPolicy, AnEntryThatNoLongerFitsTheDeviceIsStale) {
  store(TileConfig{128, 128, 8, 3}, PassSplit::kSingle);
  device_.max_smem_optin = 48 * 1024;  // far below what a 128x128x3 hd128 tile needs
  int calls = 0;
  ::testing::internal::CaptureStderr();
  auto tuned = tunedConfigFor(device_, causal(), options_, countingTune(&calls, {}));
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(tuned);
  EXPECT_EQ(calls, 0);
  EXPECT_NE(err.find("stale"), std::string::npos) << err;
  EXPECT_NE(err.find("shared memory"), std::string::npos) << err;
}

TEST_F(TuningPolicy, TuneOnFirstUseTunesOnceAndStores) {
  ::setenv("PERMJIT_TUNE", "1", 1);
  const TileConfig best{64, 128, 4, 2};
  int calls = 0;
  ::testing::internal::CaptureStderr();
  auto tuned = tunedConfigFor(device_, causal(), options_, countingTune(&calls, best));
  ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(tuned);
  EXPECT_EQ(tuned->tile, best);
  EXPECT_EQ(calls, 1);
  // The stored entry now answers without tuning again.
  auto again = tunedConfigFor(device_, causal(), options_, countingTune(&calls, best));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->tile, best);
  EXPECT_EQ(calls, 1);
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
  EXPECT_FALSE(tunedConfigFor(runtime, causal(), {}));
}

}  // namespace
}  // namespace permjit::runtime
