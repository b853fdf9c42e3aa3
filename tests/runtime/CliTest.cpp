// The `permjit` command line: every bad argument is a clear message and exit code 2. The
// commands run in-process through the CLI library (dispatch); one test runs the executable.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "Cli.h"
#include "permjit/dsl/Json.h"

namespace {
namespace fs = std::filesystem;

struct Result {
  int exit_code;
  std::string output;  // stdout, then stderr
};

// `permjit ARGUMENTS` in-process; ARGUMENTS split at spaces (the test paths have none).
Result runCli(const std::string& arguments) {
  std::vector<std::string> argv;
  std::istringstream words(arguments);
  for (std::string word; words >> word;) argv.push_back(word);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int code = permjit::cli::dispatch(argv);
  std::string out = ::testing::internal::GetCapturedStdout();
  return {code, out + ::testing::internal::GetCapturedStderr()};
}

// The built executable, through the shell.
Result runExecutable(const std::string& arguments) {
  std::string command = PERMJIT_CLI_PATH " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("permjit-cli-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    permjit::PatternFile file{
        "grid_head",
        permjit::causal() & (permjit::sink(64) | permjit::local(64) | permjit::grid(14, 0, 0)),
        permjit::Layout::textVisionText(1100, 76, 32)};
    write("grid.json", permjit::dumpPatternFile(file));
    write("broken.json", "{\"permjit\": 1, \"pattern\": {\"kind\": \"sideways\"}}");
    write("notjson.json", "{{{");
    setenv("PERMJIT_CACHE_DIR", (dir_ / "cache").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("PERMJIT_CACHE_DIR");
    fs::remove_all(dir_);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void expectUsageError(const std::string& arguments, const std::string& mentions) {
    Result result = runCli(arguments);
    EXPECT_EQ(result.exit_code, 2) << arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(mentions), std::string::npos) << arguments << "\n"
                                                               << result.output;
  }

  fs::path dir_;
};

TEST_F(Cli, HelpListsCommandsAndEnvironment) {
  Result result = runCli("--help");
  EXPECT_EQ(result.exit_code, 0);
  for (const char* word : {"compile", "run", "cache", "demo", "viz", "search", "tune",
                           "PERMJIT_CACHE_DIR", "PERMJIT_DISABLE_CACHE", "PERMJIT_VERBOSE"}) {
    EXPECT_NE(result.output.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(runCli("compile --help").exit_code, 0);
}

TEST_F(Cli, ExecutableLandsInBinAndExitsWithTheRule) {
  EXPECT_EQ(fs::path(PERMJIT_CLI_PATH).parent_path().filename(), "bin") << PERMJIT_CLI_PATH;
  Result version = runExecutable("--version");
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_EQ(version.output.rfind("permjit ", 0), 0u) << version.output;
  Result unknown = runExecutable("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("unknown command 'frobnicate'"), std::string::npos);
  Result missing = runExecutable("compile " + path("missing.json") + " --seq-len 1100 --emit spec");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
}

TEST_F(Cli, BadArgumentsExitTwo) {
  EXPECT_EQ(runCli("").exit_code, 2);
  expectUsageError("frobnicate", "unknown command");
  std::string grid = path("grid.json");
  expectUsageError("compile " + grid + " --emit spec", "--seq-len");
  expectUsageError("compile " + grid + " --seq-len 1100", "--emit");
  expectUsageError("compile " + grid + " --seq-len 1100 --emit assembly", "--emit");
  expectUsageError("compile " + grid + " --seq-len abc --emit spec", "--seq-len");
  expectUsageError("compile " + grid + " --seq-len -5 --emit spec", "--seq-len");
  expectUsageError("compile " + grid + " --seq-len 1100 --emit spec --dtype fp8", "--dtype");
  expectUsageError("compile " + grid + " --seq-len 1100 --emit spec --head-dim 96", "head_dim");
  expectUsageError("compile " + grid + " --seq-len 1100 --emit spec --tile 128x64", "--tile");
  expectUsageError("compile " + grid + " --seq-len 1100 --emit spec --bogus 1", "unknown option");
  expectUsageError("compile " + grid + " --seq-len 1100 --emit cubin", "-o");
  expectUsageError("compile " + grid + " --seq-len 1100 --emit cubin --arch hopper -o x", "arch");
  expectUsageError("compile " + grid + " --seq-len 50 --emit spec", "seq_len");
  expectUsageError("compile " + path("missing.json") + " --seq-len 1100 --emit spec",
                   "missing.json");
  expectUsageError("compile " + path("broken.json") + " --seq-len 1100 --emit spec", "sideways");
  expectUsageError("compile " + path("notjson.json") + " --seq-len 1100 --emit spec", "notjson");
  expectUsageError("compile --seq-len 1100 --emit spec", "PATTERN.json");
  expectUsageError("run " + grid + " --seq-len 1100", "--heads");
  expectUsageError("run " + grid + " --seq-len 1100 --heads 8 --kv-heads 3", "--kv-heads");
  expectUsageError("run " + grid + " --seq-len 1100 --heads 8 --tensor-layout sbhd",
                   "--tensor-layout");
  expectUsageError("compile " + grid + " --seq-len 1100 --emit spec --passes three", "--passes");
  expectUsageError("cache", "stats or clear");
  expectUsageError("cache purge", "unknown action");
  expectUsageError("demo now", "no arguments");
}

TEST_F(Cli, CompilesEveryStage) {
  std::string grid = path("grid.json");
  for (const char* stage : {"pattern-ir", "tile-ir", "spec", "cuda", "ptx"}) {
    Result result = runCli("compile " + grid + " --seq-len 1100 --emit " + stage);
    EXPECT_EQ(result.exit_code, 0) << stage << "\n" << result.output;
    EXPECT_FALSE(result.output.empty()) << stage;
  }
  Result split = runCli("compile " + grid + " --seq-len 1100 --emit spec --passes lines");
  EXPECT_EQ(split.exit_code, 0) << split.output;
  EXPECT_NE(split.output.find("pass 1"), std::string::npos) << split.output;
  Result cubin = runCli("compile " + grid + " --seq-len 1100 --emit cubin --passes single --arch " +
                        "sm_80 -o " + path("k.cubin"));
  ASSERT_EQ(cubin.exit_code, 0) << cubin.output;
  std::ifstream in(path("k.cubin"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 4u);
  EXPECT_EQ(bytes.substr(1, 3), "ELF");
  // Cached: every pass's cubin for the default target, the PTX, and the sm_80 cubins.
  Result stats = runCli("cache stats");
  EXPECT_EQ(stats.exit_code, 0);
  size_t at = stats.output.find("kernels");
  ASSERT_NE(at, std::string::npos) << stats.output;
  int files = std::atoi(stats.output.c_str() + at + 7);
  EXPECT_GE(files, 3) << stats.output;
  Result clear = runCli("cache clear");
  EXPECT_EQ(clear.exit_code, 0);
  EXPECT_NE(clear.output.find("removed " + std::to_string(files) + " files"), std::string::npos)
      << clear.output;
  EXPECT_NE(runCli("cache stats").output.find("0 files"), std::string::npos);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_F(Cli, CompileEmitsEveryPassOfTheRunPlan) {
  const std::string grid = path("grid.json");
  // The plan `permjit run` builds for this file: default plan options (pass split auto).
  permjit::RuntimeOptions runtime_options;
  runtime_options.host_only = true;
  runtime_options.arch = "sm_90a";
  permjit::Runtime runtime(runtime_options);
  permjit::PatternFile file = permjit::loadPatternFile(grid);
  permjit::PlanOptions plan_options;
  plan_options.layout = *file.layout;
  plan_options.seq_len = 1100;
  plan_options.name = file.name;
  permjit::Plan plan = runtime.plan(file.pattern, plan_options);
  ASSERT_EQ(plan.numPasses(), 2);
  auto header = [&](int pass) {
    return "// permjit: pass " + std::to_string(pass) + " of 2, kernel " + plan.kernelName(pass) +
           "\n";
  };
  const std::string compile = "compile " + grid + " --seq-len 1100 --arch sm_90a ";

  Result cuda = runCli(compile + "--emit cuda");
  ASSERT_EQ(cuda.exit_code, 0) << cuda.output;
  const size_t pass0 = cuda.output.find(header(0) + plan.source(0));
  const size_t pass1 = cuda.output.find(header(1) + plan.source(1));
  EXPECT_EQ(pass0, 0u) << cuda.output.substr(0, 200);
  EXPECT_NE(pass1, std::string::npos);
  EXPECT_GT(pass1, pass0);
  EXPECT_NE(cuda.output.find("cuda of 2 of the plan's 2 pass(es)"), std::string::npos);

  // --pass I: that pass alone, as the compiler produced it.
  Result one = runCli(compile + "--emit cuda --pass 1");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(one.output.rfind(plan.source(1), 0), 0u);
  EXPECT_EQ(one.output.find("// permjit: pass"), std::string::npos);
  expectUsageError(compile + "--emit cuda --pass 2", "--pass: 2 is out of range; allowed: 0..1");
  expectUsageError(compile + "--emit spec --pass 0", "--pass: only with --emit cuda, ptx or cubin");

  Result ptx = runCli(compile + "--emit ptx -o " + path("k.ptx"));
  ASSERT_EQ(ptx.exit_code, 0) << ptx.output;
  const std::string ptx_text = readFile(path("k.ptx"));
  EXPECT_EQ(ptx_text.find(header(0)), 0u);
  EXPECT_NE(ptx_text.find(header(1)), std::string::npos);
  EXPECT_NE(ptx_text.find(".entry " + plan.kernelName(1)), std::string::npos);

  // cubin: one file per pass, each reported; exactly FILE for one pass.
  Result cubin = runCli(compile + "--emit cubin -o " + path("k.cubin"));
  ASSERT_EQ(cubin.exit_code, 0) << cubin.output;
  EXPECT_FALSE(fs::exists(path("k.cubin")));
  for (int pass : {0, 1}) {
    const std::string file_path = path("k.pass" + std::to_string(pass) + ".cubin");
    EXPECT_EQ(readFile(file_path), plan.binary("cubin", pass)) << file_path;
    EXPECT_NE(cubin.output.find("to " + file_path), std::string::npos) << cubin.output;
  }
  Result single = runCli(compile + "--emit cubin --pass 1 -o " + path("one.cubin"));
  ASSERT_EQ(single.exit_code, 0) << single.output;
  EXPECT_EQ(readFile(path("one.cubin")), plan.binary("cubin", 1));
}

TEST_F(Cli, CompilesAnEstimatedGridHead) {
  permjit::PatternFile file{"grid_head_estimated",
                            permjit::causal() & (permjit::sink(64) | permjit::local(64) |
                                                 permjit::grid_estimated({7, 14, 28})),
                            permjit::Layout::textVisionText(1100, 76, 32)};
  write("estimated.json", permjit::dumpPatternFile(file));
  Result spec = runCli("compile " + path("estimated.json") + " --seq-len 1100 --emit spec");
  ASSERT_EQ(spec.exit_code, 0) << spec.output;
  EXPECT_NE(spec.output.find("grid stride and phases estimated per run (candidate strides 7, "
                             "14, 28"),
            std::string::npos)
      << spec.output;
  Result cuda = runCli("compile " + path("estimated.json") + " --seq-len 1100 --emit cuda");
  ASSERT_EQ(cuda.exit_code, 0) << cuda.output;
  EXPECT_NE(cuda.output.find("attention_forward_estimated_grid"), std::string::npos) << cuda.output;
  // The estimator kernels are not in the Plan API: stderr says what was written.
  EXPECT_NE(cuda.output.find("also launches estimator kernels, which the Plan API does not expose"),
            std::string::npos)
      << cuda.output;
}

TEST_F(Cli, DemoRunsWithOrWithoutAGpu) {
  Result result = runCli("demo");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  bool gpu = result.output.find("PASS") != std::string::npos;
  bool cpu = result.output.find("no CUDA driver/GPU") != std::string::npos &&
             result.output.find("kept fraction") != std::string::npos;
  EXPECT_TRUE(gpu || cpu) << result.output;
}

}  // namespace
