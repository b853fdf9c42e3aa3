// permjit compile: run the pipeline to any stage and print or write it.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "Cli.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/runtime/AtomicFile.h"

namespace permjit::cli {

const char* const kCompileUsage =
    "usage: permjit compile PATTERN.json --seq-len N --emit STAGE [options]\n"
    "  --emit pattern-ir|tile-ir|spec|cuda|ptx|cubin   what to produce\n"
    "  --seq-len N          sequence length the pattern is checked and lowered for\n"
    "  --layout L.json      modality layout (default: the pattern file's \"layout\")\n"
    "  --head-dim 64|128    (default 128)     --dtype bf16|fp16 (default bf16)\n"
    "  --arch sm_XY[a]      NVRTC target (default: this GPU's, else sm_90a)\n"
    "  --tile MxNxWxS       block_m x block_n x warps x stages (default: the tuning database's,\n"
    "                       else the kernel family's: sm80 128x64x4x2, sm90a 128x128x4x2;\n"
    "                       sm90a at head dim 64 128x128x4x3)\n"
    "  --passes auto|single|lines  one fused pass, or line-free terms + grid lines merged\n"
    "  --pass I             only pass I for cuda/ptx/cubin (default: every pass of the plan;\n"
    "                       text gets a comment per pass naming its index and kernel)\n"
    "  -o FILE              write there instead of stdout (required for cubin); cubin of a\n"
    "                       plan with several passes goes to FILE's name with .passI inserted\n"
    "                       before the extension (out.pass0.cubin, out.pass1.cubin)\n"
    "Dynamic plans (vertical_slash, grid_estimated) also launch estimator kernels; the Plan API\n"
    "does not expose them, so they are not emitted (stderr says so).\n";

namespace {

// out.cubin -> out.pass1.cubin; out -> out.pass1.
std::string passPath(const std::string& path, int pass) {
  std::filesystem::path p(path);
  std::filesystem::path name = p.stem();
  name += ".pass" + std::to_string(pass);
  name += p.extension();
  return (p.parent_path() / name).string();
}

// Readers see no file or the whole output, never a half-written one.
void writeFile(const std::string& path, const std::string& bytes) {
  if (auto failure = runtime::writeFileAtomically(path, bytes)) {
    throw Error(ErrorCategory::kIo, "-o: " + failure->what + " '" + failure->path +
                                        "': " + std::strerror(failure->error));
  }
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
  const bool kernel_code = *emit == "cuda" || *emit == "ptx" || *emit == "cubin";
  if (args.has("--pass") && !kernel_code) {
    throw UsageError("--pass: only with --emit cuda, ptx or cubin (a pass's kernel code)");
  }
  const std::optional<std::string> output_path = args.get("-o");
  input.layout.validate(input.seq_len);
  validate(input.file.pattern, input.layout, input.seq_len);

  if (!kernel_code) {
    PlanOptions plan = input.plan;
    if (!plan.tile) plan.tile = defaultPlanTile(args, plan.head_dim);
    const CompileOptions compile = compileOptionsFor(plan);
    std::string output;
    if (*emit == "pattern-ir") {
      output = emitStage(input.file.pattern, compile, Stage::kPatternIR);
    } else if (*emit == "tile-ir") {
      output = emitStage(input.file.pattern, compile, Stage::kTileIR);
    } else if (*emit == "spec") {
      output = emitStage(input.file.pattern, compile, Stage::kSpec);
    } else {
      throw UsageError("--emit: '" + *emit +
                       "'; allowed: pattern-ir, tile-ir, spec, cuda, ptx, cubin");
    }
    if (output_path) {
      writeFile(*output_path, output);
      std::cerr << "permjit: wrote " << output.size() << " bytes of " << *emit << " to "
                << *output_path << "\n";
    } else {
      std::cout << output;
      if (!output.empty() && output.back() != '\n') std::cout << "\n";
    }
    return 0;
  }

  const bool binary = *emit == "cubin";
  if (binary && !output_path) throw UsageError("-o: required for --emit cubin (binary output)");
  RuntimeOptions options;
  options.host_only = true;
  options.arch = targetArch(args);
  Runtime runtime(options);
  Plan plan = runtime.plan(input.file.pattern, input.plan);
  const int passes = plan.numPasses();
  std::vector<int> selected;
  if (args.has("--pass")) {
    const int64_t pass = args.getInt("--pass", 0, 0, INT32_MAX);
    if (pass >= passes) {
      throw UsageError("--pass: " + std::to_string(pass) + " is out of range; allowed: 0.." +
                       std::to_string(passes - 1) + " (this plan has " + std::to_string(passes) +
                       " pass(es))");
    }
    selected.push_back(static_cast<int>(pass));
  } else {
    for (int pass = 0; pass < passes; ++pass) selected.push_back(pass);
  }
  auto code = [&](int pass) {
    return *emit == "cuda" ? plan.source(pass) : plan.binary(*emit, pass);
  };

  if (binary) {
    // One file per pass; exactly FILE when there is one pass to write.
    for (int pass : selected) {
      const std::string path = selected.size() == 1 ? *output_path : passPath(*output_path, pass);
      const std::string bytes = code(pass);
      writeFile(path, bytes);
      std::cerr << "permjit: wrote " << bytes.size() << " bytes of cubin (pass " << pass << ", "
                << plan.kernelName(pass) << ") to " << path << "\n";
    }
  } else {
    // Several passes in one text: a comment before each names it (valid in CUDA and PTX).
    std::string output;
    for (int pass : selected) {
      std::string text = code(pass);
      if (!args.has("--pass")) {
        output += "// permjit: pass " + std::to_string(pass) + " of " + std::to_string(passes) +
                  ", kernel " + plan.kernelName(pass) + "\n";
      }
      output += text;
      if (!output.empty() && output.back() != '\n') output += "\n";
    }
    if (output_path) {
      writeFile(*output_path, output);
      std::cerr << "permjit: wrote " << output.size() << " bytes of " << *emit << " to "
                << *output_path << "\n";
    } else {
      std::cout << output;
    }
  }
  std::cerr << "permjit: " << *emit << " of " << selected.size() << " of the plan's " << passes
            << " pass(es)";
  if (plan.isDynamic()) {
    std::cerr << "; this dynamic plan also launches estimator kernels, which the Plan API does "
                 "not expose: not written";
  }
  std::cerr << "\n";
  return 0;
}

}  // namespace permjit::cli
