#include "permjit/patterns/LayerCheck.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>

#include "permjit/dsl/Reference.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/EventTimer.h"

namespace permjit::patterns {
namespace {

using runtime::DeviceBuffer;
using runtime::Driver;
using runtime::EventTimer;
using runtime::HostTensor;
using runtime::randomTensor;
using runtime::ScopedContext;

// Rows of one (batch, head) to check when sampling: both ends and an even spread.
std::vector<int64_t> sampleRows(int64_t seq_len, int count) {
  std::vector<int64_t> rows = {0, seq_len - 1};
  for (int i = 0; i < count; ++i) rows.push_back(seq_len * i / std::max(count, 1));
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

// One reference row of attention over the keys `kept` says: out[D] and its natural-log lse.
void referenceRow(const double* q_row, const double* k, const double* v, int64_t seq_len,
                  int64_t head_dim, const std::vector<uint8_t>& kept, double scale, double* out,
                  double* lse) {
  double max_score = -std::numeric_limits<double>::infinity();
  std::vector<double> scores(static_cast<size_t>(seq_len));
  for (int64_t key = 0; key < seq_len; ++key) {
    if (!kept[static_cast<size_t>(key)]) continue;
    double dot = 0;
    for (int64_t d = 0; d < head_dim; ++d) dot += q_row[d] * k[key * head_dim + d];
    scores[static_cast<size_t>(key)] = dot * scale;
    max_score = std::max(max_score, dot * scale);
  }
  std::fill(out, out + head_dim, 0.0);
  if (!std::isfinite(max_score)) {
    *lse = -std::numeric_limits<double>::infinity();
    return;
  }
  double sum = 0;
  for (int64_t key = 0; key < seq_len; ++key) {
    if (!kept[static_cast<size_t>(key)]) continue;
    double p = std::exp(scores[static_cast<size_t>(key)] - max_score);
    sum += p;
    for (int64_t d = 0; d < head_dim; ++d) out[d] += p * v[key * head_dim + d];
  }
  for (int64_t d = 0; d < head_dim; ++d) out[d] /= sum;
  *lse = max_score + std::log(sum);
}

}  // namespace

bool LayerCheckResult::passed(double tolerance) const {
  for (const HeadCheck& head : heads) {
    if (head.nan_found || !(head.rel_l2 < tolerance)) return false;
  }
  return !heads.empty();
}

LayerCheckResult checkLayer(const LayerPlan& layer, const LayerCheckConfig& config) {
  if (!layer.headPlan(0).canRun()) {
    throw Error(ErrorCategory::kDriverError,
                "no CUDA driver/GPU: the layer plan's runtime is host-only");
  }
  const DType dtype = layer.dtype();
  const int64_t B = config.batch, H = layer.numHeads(), S = config.seq_len, D = layer.headDim();
  const int64_t Hkv = config.kv_heads == 0 ? H : config.kv_heads;
  if (B < 1 || S < 1 || Hkv < 1 || H % Hkv != 0) {
    throw Error(ErrorCategory::kInvalidArgument,
                "check: batch, seq_len >= 1 and kv_heads dividing heads are required");
  }
  LayerCheckResult result;
  result.layout = layer.requestLayout(S, config.request_layout ? &*config.request_layout : nullptr);
  std::mt19937_64 rng(config.seed);
  HostTensor q = randomTensor(rng, dtype, config.tensor_layout, B, H, S, D);
  HostTensor k = randomTensor(rng, dtype, config.tensor_layout, B, Hkv, S, D);
  HostTensor v = randomTensor(rng, dtype, config.tensor_layout, B, Hkv, S, D);

  // The runtime uses the device's primary context; so do these buffers.
  std::shared_ptr<Driver> driver = Driver::open();
  ScopedContext context(*driver, driver->primaryContext(config.device_ordinal));

  const size_t q_bytes = q.device_bits.size() * 2, kv_bytes = k.device_bits.size() * 2;
  DeviceBuffer dq(driver, q_bytes), dk(driver, kv_bytes), dv(driver, kv_bytes),
      dout(driver, q_bytes);
  DeviceBuffer dlse(driver, static_cast<size_t>(B * H * S) * sizeof(float));
  const size_t workspace_bytes = layer.workspaceBytes(B, S);
  std::unique_ptr<DeviceBuffer> workspace;
  if (workspace_bytes > 0) workspace = std::make_unique<DeviceBuffer>(driver, workspace_bytes);
  dq.upload(q.device_bits.data(), q_bytes);
  dk.upload(k.device_bits.data(), kv_bytes);
  dv.upload(v.device_bits.data(), kv_bytes);
  dout.fill(0xff);  // NaN in bf16 and fp16
  dlse.fill(0xff);

  LayerRunArgs args;
  args.q = dq.data();
  args.k = dk.data();
  args.v = dv.data();
  args.o = dout.data();
  args.lse = config.with_lse ? static_cast<float*>(dlse.data()) : nullptr;
  args.batch = B;
  args.heads = H;
  args.kv_heads = Hkv;
  args.seq_len = S;
  args.dtype = dtype;
  args.tensor_layout = config.tensor_layout;
  args.layout = config.request_layout;
  if (workspace) {
    args.workspace = workspace->data();
    args.workspace_bytes = workspace_bytes;
  }
  layer.run(args, nullptr);
  driver->check(driver->cuStreamSynchronize(nullptr), "cuStreamSynchronize (layer run)");

  std::vector<uint16_t> out_bits(q.device_bits.size());
  dout.download(out_bits.data(), q_bytes);
  std::vector<float> lse(static_cast<size_t>(B * H * S));
  dlse.download(lse.data(), lse.size() * sizeof(float));

  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const double work = static_cast<double>(B * H) * static_cast<double>(S) * static_cast<double>(S) *
                      static_cast<double>(D);
  result.full_reference = work <= config.full_reference_limit;
  std::vector<int64_t> rows;
  if (result.full_reference) {
    for (int64_t row = 0; row < S; ++row) rows.push_back(row);
  } else {
    rows = sampleRows(S, config.sample_rows);
  }
  std::vector<double> ref(static_cast<size_t>(D));
  const std::vector<LayerPlan::HeadRun> runs = layer.headRuns(args);
  for (int64_t h = 0; h < H; ++h) {
    const Pattern& pattern = layer.headPattern(h);
    const Plan& plan = layer.headPlan(h);
    const int64_t kv = h / (H / Hkv);
    // A dynamic head keeps what its estimator chose for each batch element: read that back
    // from the head's workspace slice (its runs come in batch order).
    std::vector<DynamicIndices> indices;
    if (plan.isDynamic()) {
      for (const LayerPlan::HeadRun& run : runs) {
        if (run.head != h) continue;
        std::vector<DynamicIndices> chosen = plan.estimatedIndices(run.args, nullptr);
        indices.insert(indices.end(), chosen.begin(), chosen.end());
      }
    }
    HeadCheck check;
    check.head = h;
    double err2 = 0, ref2 = 0, kept = 0;
    std::vector<uint8_t> mask, kept_row(static_cast<size_t>(S));
    std::vector<double> full_out, full_lse;
    for (int64_t b = 0; b < B; ++b) {
      const DynamicIndices* dynamic = indices.empty() ? nullptr : &indices[static_cast<size_t>(b)];
      const double* q_head = &q.reference[static_cast<size_t>((b * H + h) * S * D)];
      const double* k_head = &k.reference[static_cast<size_t>((b * Hkv + kv) * S * D)];
      const double* v_head = &v.reference[static_cast<size_t>((b * Hkv + kv) * S * D)];
      // Full: the oracle (referenceAttention) over the whole mask, one (batch, head) at a time.
      if (result.full_reference) {
        if (b == 0 || dynamic != nullptr) mask = keptMask(pattern, result.layout, S, dynamic);
        full_out.resize(static_cast<size_t>(S * D));
        full_lse.resize(static_cast<size_t>(S));
        referenceAttention({1, 1, 1, S, D}, q_head, k_head, v_head, mask.data(), scale,
                           full_out.data(), full_lse.data());
      }
      for (int64_t row : rows) {
        const double* expected = ref.data();
        double ref_lse = 0;
        if (result.full_reference) {
          std::copy_n(&mask[static_cast<size_t>(row * S)], S, kept_row.begin());
          expected = &full_out[static_cast<size_t>(row * D)];
          ref_lse = full_lse[static_cast<size_t>(row)];
        } else {
          for (int64_t key = 0; key < S; ++key) {
            kept_row[static_cast<size_t>(key)] =
                keptPair(pattern, result.layout, S, row, key, dynamic) ? 1 : 0;
          }
          referenceRow(&q_head[row * D], k_head, v_head, S, D, kept_row, scale, ref.data(),
                       &ref_lse);
        }
        kept += static_cast<double>(std::count(kept_row.begin(), kept_row.end(), uint8_t{1}));
        for (int64_t d = 0; d < D; ++d) {
          double got = runtime::halfBitsToFloat(out_bits[static_cast<size_t>(runtime::tensorOffset(
                                                    config.tensor_layout, b, h, row, d, H, S, D))],
                                                dtype);
          if (!std::isfinite(got)) check.nan_found = true;
          err2 += (got - expected[d]) * (got - expected[d]);
          ref2 += expected[d] * expected[d];
        }
        if (config.with_lse && std::isfinite(ref_lse)) {
          double got_lse = lse[static_cast<size_t>((b * H + h) * S + row)];
          double diff = std::isfinite(got_lse) ? std::abs(got_lse - ref_lse)
                                               : std::numeric_limits<double>::infinity();
          check.lse_max_abs = std::max(check.lse_max_abs, diff);
        }
        ++check.rows_checked;
      }
    }
    check.rel_l2 = ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
    if (check.nan_found) check.rel_l2 = std::numeric_limits<double>::infinity();
    check.kept_fraction =
        kept / (static_cast<double>(B) * static_cast<double>(rows.size()) * static_cast<double>(S));
    result.heads.push_back(check);
  }

  if (config.timing_iterations > 0) {
    EventTimer timer(*driver);
    layer.run(args, nullptr);  // warm-up
    result.median_ms = timer.medianMs([&] { layer.run(args, nullptr); }, config.timing_iterations);
  }
  return result;
}

}  // namespace permjit::patterns
