#include "permjit/runtime/TensorMaps.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

namespace permjit::runtime {
namespace {

static_assert(sizeof(TensorMap) == sizeof(CUtensorMap) &&
                  alignof(TensorMap) == alignof(CUtensorMap),
              "TensorMap must mirror CUtensorMap");

constexpr uint64_t kMaxStrideBytes = uint64_t{1} << 40;

// One (batch, head)-spanning map over `base` whose dimension 2 strides `step` positions:
// {head_dim, step, seq_len / step, heads, batch}, boxes {64, 1, box_rows, 1, 1} (64 elements =
// the 128-byte swizzle span; the kernel loads head_dim / 64 boxes per tile).
bool encodeMap(const Driver& driver, TensorMap& out, int& extent, const void* base,
               const long long (&strides)[3], int batch, int heads, int seq_len, int step,
               int head_dim, int box_rows, DType dtype) {
  extent = step == 1 ? seq_len : seq_len / step;
  if (step < 1 || extent < box_rows || base == nullptr) return false;
  if (reinterpret_cast<uintptr_t>(base) % 16 != 0) return false;
  const uint64_t seq_bytes = 2 * static_cast<uint64_t>(strides[kStrideSeq]);
  const std::array<cuuint64_t, 5> dims = {
      static_cast<cuuint64_t>(head_dim), static_cast<cuuint64_t>(step),
      static_cast<cuuint64_t>(extent), static_cast<cuuint64_t>(heads),
      static_cast<cuuint64_t>(batch)};
  // A dimension of size 1 is never stepped: where the tensor's own stride is one TMA refuses,
  // the row stride stands in.
  auto stride_of = [&](uint64_t bytes, cuuint64_t dim) {
    return dim == 1 && (bytes % 16 != 0 || bytes >= kMaxStrideBytes) ? seq_bytes : bytes;
  };
  const std::array<cuuint64_t, 4> byte_strides = {
      stride_of(seq_bytes, dims[1]), stride_of(seq_bytes * step, dims[2]),
      stride_of(2 * static_cast<uint64_t>(strides[kStrideHead]), dims[3]),
      stride_of(2 * static_cast<uint64_t>(strides[kStrideBatch]), dims[4])};
  for (cuuint64_t s : byte_strides) {
    if (s % 16 != 0 || s >= kMaxStrideBytes) return false;
  }
  const std::array<cuuint32_t, 5> box = {64, 1, static_cast<cuuint32_t>(box_rows), 1, 1};
  const std::array<cuuint32_t, 5> element_strides = {1, 1, 1, 1, 1};
  const CUresult result = driver.cuTensorMapEncodeTiled(
      reinterpret_cast<CUtensorMap*>(&out),
      dtype == DType::kBF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 5,
      const_cast<void*>(base), dims.data(), byte_strides.data(), box.data(), element_strides.data(),
      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return result == CUDA_SUCCESS;
}

}  // namespace

void tableSteps(const sem::SegmentTable& table, int (&steps)[kTmaSteps]) {
  std::pair<long long, int> by_size[sem::kMaxSegments];  // (positions, step)
  int distinct = 0;
  for (int i = 0; i < table.count; ++i) {
    const sem::Segment& s = table.seg[i];
    const int step = s.kind == sem::kIdentity ? 1 : s.stride;
    int j = 0;
    while (j < distinct && by_size[j].second != step) ++j;
    if (j == distinct) by_size[distinct++] = {0, step};
    by_size[j].first += s.end - s.begin;
  }
  std::sort(by_size, by_size + distinct, [](const auto& a, const auto& b) { return a > b; });
  for (int i = 0; i < kTmaSteps; ++i) steps[i] = i < distinct ? by_size[i].second : 0;
}

TmaArgs encodeTmaArgs(const Driver& driver, const AttentionArgs& args, DType dtype, int head_dim,
                      int block_m, int block_n) {
  TmaArgs tma;
  std::memset(&tma, 0, sizeof tma);
  int q_steps[kTmaSteps], kv_steps[kTmaSteps];
  tableSteps(args.rows, q_steps);
  tableSteps(args.cols, kv_steps);
  for (int i = 0; i < kTmaSteps; ++i) {
    if (q_steps[i] > 0 &&
        encodeMap(driver, tma.q[i], tma.q_extent[i], args.q, args.q_stride, args.batch, args.heads,
                  args.seq_len, q_steps[i], head_dim, block_m, dtype)) {
      tma.q_step[i] = q_steps[i];
    }
    int v_extent = 0;
    if (kv_steps[i] > 0 &&
        encodeMap(driver, tma.k[i], tma.kv_extent[i], args.k, args.k_stride, args.batch,
                  args.kv_heads, args.seq_len, kv_steps[i], head_dim, block_n, dtype) &&
        encodeMap(driver, tma.v[i], v_extent, args.v, args.v_stride, args.batch, args.kv_heads,
                  args.seq_len, kv_steps[i], head_dim, block_n, dtype)) {
      tma.kv_step[i] = kv_steps[i];
    }
    if (tma.q_step[i] == 0) tma.q_extent[i] = 0;
    if (tma.kv_step[i] == 0) tma.kv_extent[i] = 0;
  }
  return tma;
}

}  // namespace permjit::runtime
