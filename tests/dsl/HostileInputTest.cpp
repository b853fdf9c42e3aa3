// Inputs a hostile or careless caller hands the readers: nesting deep enough to overflow a
// recursive reader, duplicate keys, numbers beyond a double, and paths that are not regular
// files (a FIFO would block a reader forever, /dev/zero would exhaust memory). Each gets a
// clear error naming what and where, never a crash or a hang.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "permjit/dsl/Error.h"
#include "permjit/dsl/Files.h"
#include "permjit/dsl/Json.h"
#include "permjit/dsl/JsonReader.h"
#include "permjit/dsl/Pattern.h"

namespace permjit {
namespace {

namespace fs = std::filesystem;

// A pattern file whose pattern is `depth` nested unions around causal.
std::string nestedUnions(int depth) {
  std::string text = "{\"permjit\": 1, \"pattern\": ";
  for (int i = 0; i < depth; ++i) text += "{\"kind\": \"union\", \"of\": [";
  text += "{\"kind\": \"causal\"}";
  for (int i = 0; i < depth; ++i) text += "]}";
  return text + "}";
}

template <class F>
std::string errorOf(F f, ErrorCategory category) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), category) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(HostileJson, DeepNestingIsAnErrorNotAStackOverflow) {
  // 10,000 levels crashed the recursive reader before the bound.
  const std::string message =
      errorOf([] { parsePatternFile(nestedUnions(10000)); }, ErrorCategory::kInvalidPattern);
  EXPECT_NE(message.find("nested deeper than 256"), std::string::npos) << message;
  EXPECT_NE(message.find("pattern.of[0]"), std::string::npos) << message;  // where it happened
  // Well inside the bound still reads (a union nests two levels: the object and its list).
  EXPECT_NO_THROW(parsePatternFile(nestedUnions(100)));
}

TEST(HostileJson, DuplicateKeysAreRejectedWithTheirPath) {
  const std::string message = errorOf(
      [] { parsePatternFile(R"({"permjit": 1, "pattern": {"kind": "sink", "n": 4, "n": 1024}})"); },
      ErrorCategory::kInvalidPattern);
  EXPECT_NE(message.find("pattern.n: duplicate key"), std::string::npos) << message;
}

TEST(HostileJson, NumbersBeyondADoubleAreAnInvalidPatternNotAnInternalError) {
  const std::string message = errorOf(
      [] { parsePatternFile(R"({"permjit": 1, "pattern": {"kind": "sink", "n": 1e400}})"); },
      ErrorCategory::kInvalidPattern);
  EXPECT_NE(message.find("pattern file"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid JSON"), std::string::npos) << message;
}

// Patterns built in code obey the same bounds as the readers: depth and children per node.
TEST(HostilePatterns, DepthAndChildrenAreBounded) {
  Pattern p = sink(4);
  for (int level = 1; level < kMaxPatternDepth; ++level) {  // alternate: nothing flattens
    p = level % 2 ? (p | causal()) : (p & causal());
  }
  EXPECT_EQ(p.node().depth, kMaxPatternDepth);
  const std::string message =
      errorOf([&] { (void)(p & local(8)); }, ErrorCategory::kInvalidPattern);
  EXPECT_NE(message.find("nests 513 levels deep; allowed: at most 512"), std::string::npos)
      << message;
  std::vector<Pattern> parts;
  for (int i = 0; i < static_cast<int>(kMaxPatternChildren) + 1; ++i) parts.push_back(sink(i + 1));
  EXPECT_NE(errorOf([&] { union_of(parts); }, ErrorCategory::kInvalidPattern)
                .find("union_of: 4097 parts; allowed: at most 4096"),
            std::string::npos);
  parts.pop_back();
  EXPECT_NO_THROW(union_of(parts));
}

class HostileFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("permjit-hostile-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(HostileFiles, AFifoIsRefusedWithoutBlocking) {
  const std::string fifo = (dir_ / "pattern.json").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string message =
      errorOf([&] { loadPatternFile(fifo); }, ErrorCategory::kIo);  // would block forever
  EXPECT_NE(message.find("a FIFO; allowed: a regular file"), std::string::npos) << message;
  EXPECT_NE(message.find(fifo), std::string::npos) << message;
}

TEST_F(HostileFiles, ADeviceADirectoryAndAnOversizedFileAreRefused) {
  // /dev/zero would be read until memory runs out; a link to it is the same device.
  const std::string link = (dir_ / "zero.json").string();
  fs::create_symlink("/dev/zero", link);
  EXPECT_NE(errorOf([&] { loadPatternFile(link); }, ErrorCategory::kIo).find("a device"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { readRegularFile(dir_.string(), "layout"); }, ErrorCategory::kIo)
                .find("a directory"),
            std::string::npos);
  const std::string big = (dir_ / "big.json").string();
  std::ofstream(big) << std::string(100, ' ');
  EXPECT_NE(errorOf([&] { readRegularFile(big, "config", 64); }, ErrorCategory::kIo)
                .find("100 bytes; allowed: at most 64"),
            std::string::npos);
  EXPECT_EQ(readRegularFile(big, "config", 100).size(), 100u);
  EXPECT_EQ(requireRegularFile(big, "config"), 100u);
}

}  // namespace
}  // namespace permjit

namespace permjit {
namespace {

// A config rewritten in place must never be cut short: the new text replaces the old whole, and
// a write that cannot happen leaves the old file and no temporary behind.
TEST(AtomicWrite, ReplacesWholeOrLeavesTheOldFile) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "permjit_atomic_write";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "config.json").string();
  writeFileAtomically(path, "old\n", "model config");
  writeFileAtomically(path, "new text\n", "model config");
  EXPECT_EQ(readRegularFile(path, "model config"), "new text\n");
  // A directory in the way: the rename fails, naming the file; nothing is left beside it.
  const std::string blocked = (dir / "blocked").string();
  fs::create_directories(fs::path(blocked) / "inner");
  try {
    writeFileAtomically(blocked, "x", "model config");
    FAIL() << "wrote over a directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kIo);
    EXPECT_NE(std::string(e.what()).find(blocked + ": cannot write model config"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::is_directory(blocked));
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1u);  // config.json only: no temporary left behind
  EXPECT_THROW(writeFileAtomically((dir / "missing" / "c.json").string(), "x", "config"), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace permjit
