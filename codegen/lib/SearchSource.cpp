// The offline search's residue-mass kernel (codegen/cuda/pj_search.cuh): its source and shared
// memory.
#include <sstream>
#include <string>

#include "EmbeddedSources.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/codegen/KernelArgs.h"
#include "permjit/dsl/Error.h"

namespace permjit {

GeneratedKernel generateResidueMass(int head_dim, DType dtype, const TargetInfo& target) {
  if (head_dim != 64 && head_dim != 128) {
    throw Error(ErrorCategory::kUnsupported,
                "head_dim: " + std::to_string(head_dim) + " is not supported; allowed: 64, 128");
  }
  const std::string type = dtype == DType::kBF16 ? "BF16" : "FP16";
  GeneratedKernel out;
  out.kernel_name = "permjit_search_residue_mass_" + std::to_string(head_dim) + "_" +
                    (dtype == DType::kBF16 ? "bf16" : "fp16");
  out.threads = 128;
  out.smem_bytes = 0;  // all dynamic: residueMassSmemBytes(head_dim, row_bins) per launch
  std::ostringstream src;
  src << "// permjit offline search: residue mass\n"
      << "#include \"pj_search.cuh\"\n\n"
      << "extern \"C\" __global__ void __launch_bounds__(128)\n"
      << out.kernel_name << "(const __grid_constant__ permjit::ResidueMassArgs args) {\n"
      << "  permjit::dev::residue_mass<permjit::dev::EstimateConfig<permjit::dev::" << type << ", "
      << head_dim << ">>(args);\n"
      << "}\n";
  out.source = src.str();
  codegen_detail::attachCompileInputs(out, target);
  return out;
}

int residueMassSmemBytes(int head_dim, int row_bins) {
  const int tiles = 2 * 64 * head_dim * 2;  // the estimator's 64 Q rows and one 64-key K tile
  return tiles + 64 * row_bins * 4 + 2 * kMaxResidueStrides * 64 * 2 + row_bins;
}

}  // namespace permjit
