#include "permjit/runtime/Workspace.h"

#include <algorithm>
#include <string>
#include <utility>

#include "permjit/dsl/Error.h"

namespace permjit::runtime {
namespace {
size_t align256(size_t bytes) { return (bytes + 255) / 256 * 256; }
}  // namespace

WorkspaceLayout workspaceLayout(const DynamicSpec& dynamic, int64_t seq_len) {
  if (seq_len < 1) {
    throw Error(ErrorCategory::kInvalidArgument,
                "seq_len: " + std::to_string(seq_len) + "; allowed: >= 1");
  }
  WorkspaceLayout w;
  w.seq_len = seq_len;
  w.last_q = std::min(dynamic.last_q, seq_len);
  w.chunks = (seq_len + kEstimateChunk - 1) / kEstimateChunk;
  w.vertical = std::min(dynamic.vertical, seq_len);
  w.slash = std::min(dynamic.slash, seq_len);
  const size_t n = static_cast<size_t>(seq_len);
  size_t at = 0;
  auto region = [&](size_t bytes) {
    size_t offset = at;
    at += align256(bytes);
    return offset;
  };
  w.partial = region(static_cast<size_t>(w.chunks * w.last_q) * 8);
  w.lse = region(static_cast<size_t>(w.last_q) * 4);
  w.col_score = region(n * 4);
  w.diag_score = region(n * 4);
  w.col_flag = region(n);
  w.diag_flag = region(n);
  w.col_prefix = region((n + 1) * 4);
  w.diag_prefix = region((n + 1) * 4);
  w.col_list = region(static_cast<size_t>(std::max<int64_t>(w.vertical, 1)) * 4);
  w.head_bytes = at;
  return w;
}

size_t dynamicWorkspaceBytes(const KernelSpec& spec, int64_t batch, int64_t heads,
                             int64_t seq_len) {
  if (!spec.dynamic) return 0;
  for (auto [field, value] : {std::pair{"batch", batch}, std::pair{"heads", heads}}) {
    if (value < 1) {
      throw Error(ErrorCategory::kInvalidArgument,
                  std::string(field) + ": " + std::to_string(value) + "; allowed: >= 1");
    }
  }
  return static_cast<size_t>(batch * heads) * workspaceLayout(*spec.dynamic, seq_len).head_bytes;
}

}  // namespace permjit::runtime
