// Shared by the fuzz targets: the invariant check that aborts (so libFuzzer records the input)
// and the "what a user does next" walk over a parsed pattern: validate it for a few small
// sequence lengths and, where it is valid, compute the CPU reference mask and compare its
// per-row and per-pair forms. A permjit::Error from the library is an accepted answer; any other
// exception escapes to libFuzzer, which reports it as a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "permjit/dsl/Error.h"
#include "permjit/dsl/Pattern.h"
#include "permjit/dsl/Reference.h"

namespace permjit::fuzz {

// Not assert(): the targets are built with NDEBUG in release builds.
#define PERMJIT_FUZZ_CHECK(cond)                                                        \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

inline std::string asText(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// The largest sequence the reference mask is computed for: S x S pairs per call, kept cheap
// so the fuzzer spends its time in the readers.
constexpr int64_t kMaxMaskSeqLen = 64;

// Per-input indices a dynamic pattern needs: one vertical column, two diagonals and the first
// candidate stride of a grid_estimated atom with phases 0.
inline DynamicIndices dynamicIndicesFor(const Pattern& pattern, int64_t seq_len) {
  DynamicIndices dyn;
  dyn.vertical = {seq_len - 1};
  dyn.slash = {0};
  if (seq_len > 1) dyn.slash.push_back(1);
  if (const Pattern::Node* grid = findEstimatedGrid(pattern)) {
    if (!grid->strides.empty()) dyn.grid = GridChoice{grid->strides.front(), 0, 0};
  }
  return dyn;
}

// validate(pattern, layout, S) for small S and, where valid, the reference mask: keptRows and
// keptPair must agree with keptMask.
inline void exercisePattern(const Pattern& pattern, const Layout& layout) {
  (void)pattern.str();
  (void)isDynamic(pattern);
  std::vector<int64_t> lengths = {1, 17, kMaxMaskSeqLen};
  // The layout's own length; validated only when too long for a mask.
  if (!layout.spans().empty() && layout.spans().back().end > 0) {
    lengths.push_back(layout.spans().back().end);
  }
  for (int64_t seq_len : lengths) {
    try {
      validate(pattern, layout, seq_len);
    } catch (const Error&) {
      continue;
    }
    if (seq_len > kMaxMaskSeqLen) continue;
    const DynamicIndices dyn = dynamicIndicesFor(pattern, seq_len);
    std::vector<uint8_t> mask;
    try {
      mask = keptMask(pattern, layout, seq_len, &dyn);
    } catch (const Error&) {
      continue;  // e.g. an estimated grid whose span is not one range for this layout
    }
    PERMJIT_FUZZ_CHECK(mask.size() == static_cast<size_t>(seq_len * seq_len));
    const std::vector<int64_t> rows = {0, seq_len / 2, seq_len - 1};
    const std::vector<std::vector<uint8_t>> kept = keptRows(pattern, layout, seq_len, rows, &dyn);
    PERMJIT_FUZZ_CHECK(kept.size() == rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      PERMJIT_FUZZ_CHECK(kept[i].size() == static_cast<size_t>(seq_len));
      for (int64_t k = 0; k < seq_len; ++k) {
        PERMJIT_FUZZ_CHECK(kept[i][k] == mask[rows[i] * seq_len + k]);
      }
    }
    for (int64_t q : rows) {
      for (int64_t k : rows) {
        PERMJIT_FUZZ_CHECK(keptPair(pattern, layout, seq_len, q, k, &dyn) ==
                           (mask[q * seq_len + k] != 0));
      }
    }
  }
}

}  // namespace permjit::fuzz
