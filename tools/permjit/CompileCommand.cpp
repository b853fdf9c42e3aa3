// permjit compile: run the pipeline to any stage and print or write it.
#include <fstream>
#include <iostream>

#include "Cli.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"

namespace permjit::cli {

const char* const kCompileUsage =
    "usage: permjit compile PATTERN.json --seq-len N --emit STAGE [options]\n"
    "  --emit pattern-ir|tile-ir|spec|cuda|ptx|cubin   what to produce\n"
    "  --seq-len N          sequence length the pattern is checked and lowered for\n"
    "  --layout L.json      modality layout (default: the pattern file's \"layout\")\n"
    "  --head-dim 64|128    (default 128)     --dtype bf16|fp16 (default bf16)\n"
    "  --arch sm_XY[a]      NVRTC target (default: this GPU's, else sm_90a)\n"
    "  --tile MxNxWxS       block_m x block_n x warps x stages (default: the compiler's)\n"
    "  --passes auto|single|lines  one fused pass, or line-free terms + grid lines merged\n"
    "  --pass I             which pass for cuda/ptx/cubin (default 0)\n"
    "  -o FILE              write there instead of stdout (required for cubin)\n";

namespace {

std::string defaultArch() {
  if (Runtime::deviceUnavailableReason().empty()) {
    RuntimeOptions options;
    options.disable_cache = true;
    return Runtime(options).arch();
  }
  return "sm_90a";
}

}  // namespace

int compileCommand(const std::vector<std::string>& argv) {
  std::vector<std::string> valued = kPatternOptions;
  valued.insert(valued.end(), {"--emit", "--pass", "-o"});
  Args args(argv, valued, {});
  PatternInput input = readPatternInput(args, true);
  auto emit = args.get("--emit");
  if (!emit)
    throw UsageError("--emit: required; allowed: pattern-ir, tile-ir, spec, cuda, ptx, cubin");
  int pass = static_cast<int>(args.getInt("--pass", 0, 0, 64));

  CompileOptions compile;
  compile.head_dim = input.plan.head_dim;
  compile.dtype = input.plan.dtype;
  compile.tile = input.plan.tile;
  compile.layout = input.layout;
  compile.seq_len = input.seq_len;
  compile.name = input.plan.name;
  compile.pass_split = input.plan.pass_split;
  input.layout.validate(input.seq_len);
  validate(input.file.pattern, input.layout, input.seq_len);

  std::string output;
  bool binary = false;
  if (*emit == "pattern-ir") {
    output = emitStage(input.file.pattern, compile, Stage::kPatternIR);
  } else if (*emit == "tile-ir") {
    output = emitStage(input.file.pattern, compile, Stage::kTileIR);
  } else if (*emit == "spec") {
    output = emitStage(input.file.pattern, compile, Stage::kSpec);
  } else if (*emit == "cuda" || *emit == "ptx" || *emit == "cubin") {
    RuntimeOptions options;
    options.host_only = true;
    options.arch = args.get("--arch") ? *args.get("--arch") : defaultArch();
    Runtime runtime(options);
    Plan plan = runtime.plan(input.file.pattern, input.plan);
    if (pass >= plan.numPasses()) {
      throw UsageError("--pass: " + std::to_string(pass) + "; this plan has " +
                       std::to_string(plan.numPasses()) + " pass(es)");
    }
    if (*emit == "cuda") {
      output = plan.source(pass);
    } else {
      output = plan.binary(*emit, pass);
      binary = *emit == "cubin";
    }
  } else {
    throw UsageError("--emit: '" + *emit +
                     "'; allowed: pattern-ir, tile-ir, spec, cuda, ptx, cubin");
  }

  if (auto path = args.get("-o")) {
    std::ofstream out(*path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorCategory::kIo, "-o: cannot write '" + *path + "'");
    out.write(output.data(), static_cast<std::streamsize>(output.size()));
    if (!out) throw Error(ErrorCategory::kIo, "-o: writing '" + *path + "' failed");
    std::cerr << "permjit: wrote " << output.size() << " bytes of " << *emit << " to " << *path
              << "\n";
  } else {
    if (binary) throw UsageError("-o: required for --emit cubin (binary output)");
    std::cout << output;
    if (!output.empty() && output.back() != '\n') std::cout << "\n";
  }
  return 0;
}

}  // namespace permjit::cli
