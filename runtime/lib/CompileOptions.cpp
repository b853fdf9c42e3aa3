#include "permjit/permjit.h"

namespace permjit {

CompileOptions compileOptionsFor(const PlanOptions& options) {
  CompileOptions compile;
  compile.head_dim = options.head_dim;
  compile.dtype = options.dtype;
  compile.tile = options.tile;
  compile.layout = options.layout;
  compile.seq_len = options.seq_len;
  compile.name = options.name;
  compile.pass_split = options.pass_split;
  return compile;
}

}  // namespace permjit
