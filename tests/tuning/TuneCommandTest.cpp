// `permjit tune` in-process through the CLI library (permjit_cli): usage errors, the clear
// "needs a GPU" refusal, and on a GPU a full run that stores a database entry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "Cli.h"
#include "RequireGpu.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/dsl/Json.h"
#include "permjit/permjit.h"
#include "permjit/runtime/TuningDb.h"

namespace permjit {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code;
  std::string out, err;
};

Outcome tune(std::vector<std::string> args) {
  args.insert(args.begin(), "tune");
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int code = cli::dispatch(args);
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  return {code, out, err};
}

class TuneCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("permjit-tune-cli-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    pattern_path_ = (dir_ / "a_shape.json").string();
    PatternFile file;
    file.name = "a_shape";
    file.pattern = causal() & (sink(64) | local(512));
    std::ofstream(pattern_path_) << dumpPatternFile(file);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string pattern_path_;
};

TEST_F(TuneCommand, HelpAndUsageErrors) {
  Outcome help = tune({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage: permjit tune"), std::string::npos);

  Outcome no_seq = tune({pattern_path_});
  EXPECT_EQ(no_seq.code, 2);
  EXPECT_NE(no_seq.err.find("--seq-len: required"), std::string::npos) << no_seq.err;

  Outcome bad_option = tune({pattern_path_, "--seq-len", "1024", "--frobnicate", "1"});
  EXPECT_EQ(bad_option.code, 2);
  EXPECT_NE(bad_option.err.find("unknown option '--frobnicate'"), std::string::npos);

  Outcome bad_dtype = tune({pattern_path_, "--seq-len", "1024", "--dtype", "fp8"});
  EXPECT_EQ(bad_dtype.code, 2);
  EXPECT_NE(bad_dtype.err.find("--dtype: 'fp8'; allowed: bf16, fp16"), std::string::npos);
}

TEST_F(TuneCommand, SaysClearlyThatItNeedsAGpu) {
  const std::string db = (dir_ / "tuning.json").string();
  Outcome result = tune(
      {pattern_path_, "--seq-len", "1024", "--db", db, "--driver", "/nonexistent/libcuda.so.1"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("permjit tune: needs a CUDA GPU"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("/nonexistent/libcuda.so.1"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(db));
}

TEST_F(TuneCommand, TunesAndStoresOnAGpu) {
  PERMJIT_REQUIRE_GPU();
  const std::string db = (dir_ / "tuning.json").string();
  Outcome result =
      tune({pattern_path_, "--seq-len", "4096", "--heads", "4", "--iters", "5", "--db", db});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.out.find("<- chosen"), std::string::npos) << result.out;
  // The default is the kernel family's (PERMJIT_KERNEL_FAMILY, else this GPU's preferred).
  const std::string default_tile = runtime::tileName(defaultTile(Runtime().kernelFamily(), 128));
  EXPECT_NE(result.out.find("default " + default_tile), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("stored in " + db), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("] "), std::string::npos);  // the progress bar
  std::vector<std::string> warnings;
  runtime::TuningDb loaded = runtime::TuningDb::load(db, &warnings);
  ASSERT_EQ(loaded.entries().size(), 1u);
  EXPECT_EQ(loaded.entries()[0].key.seq_bucket, 4096);
  EXPECT_EQ(loaded.entries()[0].pattern, "a_shape");
  EXPECT_TRUE(warnings.empty());
}

}  // namespace
}  // namespace permjit
