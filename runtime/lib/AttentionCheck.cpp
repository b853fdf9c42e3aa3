#include "permjit/runtime/AttentionCheck.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "RuntimeInternal.h"
#include "permjit/codegen/KernelArgs.h"
#include "permjit/dsl/Reference.h"
#include "permjit/runtime/EventTimer.h"

namespace permjit::runtime {
namespace {

// Index of element (b, h, s, d) in a contiguous tensor of the given layout.
// q and k with planted vertical_slash structure, one entry per set of query rows (every row
// for a single entry, rows.has_value() == false). The head dim is split into two parts per
// entry: the first carries random rotations (q_i . k_j peaks where i - j == slash: a sum of
// cosines of random frequencies), the second is all ones in the entry's queries and in its
// planted key columns, zero elsewhere; a query's parts of the other entries are zero. A little
// uniform noise keeps the values generic.
struct PlantedEntry {
  std::optional<Modality> rows;
  std::vector<int64_t> vertical;
  int64_t slash = -1;
};

void plantStructure(std::mt19937_64& rng, DType dtype, TensorLayout layout, int64_t batch,
                    int64_t heads, int64_t kv_heads, int64_t seq_len, int64_t head_dim,
                    const std::vector<PlantedEntry>& entries, const Layout& spans, HostTensor& q,
                    HostTensor& k) {
  const int64_t parts = 2 * static_cast<int64_t>(entries.size());
  if (entries.empty() || head_dim % (2 * parts) != 0) {
    throw Error(ErrorCategory::kInvalidArgument,
                "planted_by_modality: " + std::to_string(entries.size()) +
                    " entries; allowed: 1 .. head_dim / 4 (two even parts of the head dim each)");
  }
  const int64_t part = head_dim / parts, freqs = part / 2;
  std::uniform_real_distribution<double> angle(0.0, 3.14159265358979);
  std::uniform_real_distribution<float> noise(-0.05f, 0.05f);
  std::vector<std::vector<double>> w(entries.size(), std::vector<double>(freqs));
  for (auto& entry_w : w) {
    for (double& f : entry_w) f = angle(rng);
  }
  const double amplitude = 1.4;
  std::vector<std::vector<uint8_t>> planted(entries.size(),
                                            std::vector<uint8_t>(static_cast<size_t>(seq_len)));
  std::vector<int> entry_of(static_cast<size_t>(seq_len), 0);  // the query's entry; -1: none
  for (size_t e = 0; e < entries.size(); ++e) {
    for (int64_t c : entries[e].vertical) {
      if (c < 0 || c >= seq_len) {
        throw Error(ErrorCategory::kInvalidArgument, "planted vertical column " +
                                                         std::to_string(c) + "; allowed: 0.." +
                                                         std::to_string(seq_len - 1));
      }
      planted[e][static_cast<size_t>(c)] = 1;
    }
  }
  if (entries.front().rows) {
    std::fill(entry_of.begin(), entry_of.end(), -1);
    for (int64_t s = 0; s < seq_len; ++s) {
      const Modality m = spans.modalityAt(s, seq_len);
      for (size_t e = 0; e < entries.size(); ++e) {
        if (entries[e].rows == m) entry_of[static_cast<size_t>(s)] = static_cast<int>(e);
      }
    }
  }
  auto fill = [&](HostTensor& t, int64_t nheads, bool is_q) {
    size_t i = 0;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < nheads; ++h)
        for (int64_t s = 0; s < seq_len; ++s)
          for (int64_t d = 0; d < head_dim; ++d, ++i) {
            const size_t e = static_cast<size_t>(d / (2 * part));
            const int64_t slash = entries[e].slash;
            const bool mine = !is_q || entry_of[static_cast<size_t>(s)] == static_cast<int>(e);
            const int64_t in_entry = d % (2 * part);
            double value = 0.0;  // a query's parts of the other entries
            if (mine && in_entry < 2 * freqs) {
              const double pos =
                  is_q ? static_cast<double>(s) : static_cast<double>(s + (slash >= 0 ? slash : 0));
              const double a = w[e][static_cast<size_t>(in_entry / 2)] * pos;
              value = slash >= 0 ? amplitude * (in_entry % 2 ? std::sin(a) : std::cos(a)) : 0.0;
            } else if (mine) {
              value = (is_q || planted[e][static_cast<size_t>(s)]) ? 1.0 : 0.0;
            }
            uint16_t bits = floatToHalfBits(static_cast<float>(value) + noise(rng), dtype);
            t.device_bits[tensorOffset(layout, b, h, s, d, nheads, seq_len, head_dim)] = bits;
            t.reference[i] = halfBitsToFloat(bits, dtype);
          }
  };
  fill(q, heads, true);
  fill(k, kv_heads, false);
}

// q and k with a planted grid (CheckConfig::planted_grid): the second half of the head dim is
// the line direction (ones) in keys on the vertical lines and in queries that are not on a
// horizontal line; everything else is small noise.
void plantGrid(std::mt19937_64& rng, DType dtype, TensorLayout layout, int64_t batch, int64_t heads,
               int64_t kv_heads, int64_t seq_len, int64_t head_dim, const GridChoice& grid,
               int64_t begin, int64_t end, HostTensor& q, HostTensor& k) {
  std::uniform_real_distribution<float> noise(-0.05f, 0.05f);
  auto residue = [&](int64_t s) { return s >= begin && s < end ? (s - begin) % grid.stride : -1; };
  auto fill = [&](HostTensor& t, int64_t nheads, bool is_q) {
    size_t i = 0;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < nheads; ++h)
        for (int64_t s = 0; s < seq_len; ++s) {
          const int64_t r = residue(s);
          const bool along = is_q ? r != grid.phase_q : r == grid.phase_k;
          for (int64_t d = 0; d < head_dim; ++d, ++i) {
            const double value = d >= head_dim / 2 && along ? 1.0 : 0.0;
            uint16_t bits = floatToHalfBits(static_cast<float>(value) + noise(rng), dtype);
            t.device_bits[tensorOffset(layout, b, h, s, d, nheads, seq_len, head_dim)] = bits;
            t.reference[i] = halfBitsToFloat(bits, dtype);
          }
        }
  };
  fill(q, heads, true);
  fill(k, kv_heads, false);
}

// One reference row (b, h, q): the same definition as referenceAttention, mask from keptPair.
void referenceRow(const Pattern& pattern, const Layout& layout, const AttentionShape& shape,
                  const std::vector<double>& q, const std::vector<double>& k,
                  const std::vector<double>& v, double scale, int64_t b, int64_t h, int64_t row,
                  double* out, double* lse, const DynamicIndices* dyn) {
  const std::vector<uint8_t> kept = keptRows(pattern, layout, shape.seq_len, {row}, dyn).front();
  const int64_t S = shape.seq_len, D = shape.head_dim;
  const int64_t kvh = h / (shape.heads / shape.kv_heads);
  const double* qrow = &q[((b * shape.heads + h) * S + row) * D];
  std::vector<double> scores;
  std::vector<int64_t> keys;
  double max_score = -std::numeric_limits<double>::infinity();
  for (int64_t key = 0; key < S; ++key) {
    if (!kept[static_cast<size_t>(key)]) continue;
    const double* krow = &k[((b * shape.kv_heads + kvh) * S + key) * D];
    double dot = 0;
    for (int64_t d = 0; d < D; ++d) dot += qrow[d] * krow[d];
    scores.push_back(dot * scale);
    keys.push_back(key);
    max_score = std::max(max_score, dot * scale);
  }
  std::fill(out, out + D, 0.0);
  if (keys.empty()) {
    *lse = -std::numeric_limits<double>::infinity();
    return;
  }
  double sum = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    double p = std::exp(scores[i] - max_score);
    sum += p;
    const double* vrow = &v[((b * shape.kv_heads + kvh) * S + keys[i]) * D];
    for (int64_t d = 0; d < D; ++d) out[d] += p * vrow[d];
  }
  for (int64_t d = 0; d < D; ++d) out[d] /= sum;
  *lse = max_score + std::log(sum);
}

std::vector<int64_t> sampleRows(int64_t seq_len, int count, std::mt19937_64& rng) {
  std::vector<int64_t> rows = {0, seq_len - 1};
  for (int i = 0; i < count; ++i) rows.push_back(seq_len * i / std::max(count, 1));
  std::uniform_int_distribution<int64_t> any(0, seq_len - 1);
  for (int i = 0; i < count / 2; ++i) rows.push_back(any(rng));
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

}  // namespace

int64_t tensorOffset(TensorLayout layout, int64_t b, int64_t h, int64_t s, int64_t d, int64_t heads,
                     int64_t seq_len, int64_t head_dim) {
  if (layout == TensorLayout::kBHSD) return ((b * heads + h) * seq_len + s) * head_dim + d;
  return ((b * seq_len + s) * heads + h) * head_dim + d;
}

HostTensor randomTensor(std::mt19937_64& rng, DType dtype, TensorLayout layout, int64_t batch,
                        int64_t heads, int64_t seq_len, int64_t head_dim) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  HostTensor t;
  size_t n = static_cast<size_t>(batch * heads * seq_len * head_dim);
  t.device_bits.resize(n);
  t.reference.resize(n);
  size_t i = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t s = 0; s < seq_len; ++s)
        for (int64_t d = 0; d < head_dim; ++d, ++i) {
          uint16_t bits = floatToHalfBits(uniform(rng), dtype);
          t.device_bits[tensorOffset(layout, b, h, s, d, heads, seq_len, head_dim)] = bits;
          t.reference[i] = halfBitsToFloat(bits, dtype);
        }
  return t;
}

uint16_t floatToHalfBits(float value, DType dtype) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if (dtype == DType::kBF16) {
    if ((bits & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);                  // round to nearest even
    return static_cast<uint16_t>(bits >> 16);
  }
  // IEEE fp16, round to nearest even, with subnormals and overflow to infinity.
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (abs < 0x38800000u) {                                               // fp16 subnormal
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    int shift = 126 - static_cast<int>(abs >> 23);  // 14 (2^-15) .. 24 (2^-25)
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t rebias = abs - (112u << 23);
  uint32_t half = rebias >> 13;
  uint32_t rest = rebias & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(sign | half);
}

float halfBitsToFloat(uint16_t value, DType dtype) {
  uint32_t bits;
  if (dtype == DType::kBF16) {
    bits = static_cast<uint32_t>(value) << 16;
  } else {
    uint32_t sign = (value & 0x8000u) << 16;
    uint32_t exponent = (value >> 10) & 0x1fu;
    uint32_t mantissa = value & 0x3ffu;
    if (exponent == 0x1f) {
      bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
      bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
      bits = sign;
    } else {
      float f = std::ldexp(static_cast<float>(mantissa), -24);
      std::memcpy(&bits, &f, 4);
      bits |= sign;
    }
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

double toleranceFor(DType dtype) { return dtype == DType::kBF16 ? 2e-2 : 5e-3; }

double keptFraction(const Pattern& pattern, const Layout& layout, int64_t seq_len, bool* exact,
                    int64_t exact_limit) {
  if (seq_len <= exact_limit) {
    std::vector<uint8_t> mask = keptMask(pattern, layout, seq_len);
    if (exact) *exact = true;
    int64_t kept = std::count(mask.begin(), mask.end(), uint8_t{1});
    return static_cast<double>(kept) / static_cast<double>(seq_len * seq_len);
  }
  if (exact) *exact = false;
  std::mt19937_64 rng(7);
  std::vector<int64_t> rows = sampleRows(seq_len, 48, rng);
  double kept = 0;
  for (int64_t row : rows) {
    for (int64_t key = 0; key < seq_len; ++key)
      kept += keptPair(pattern, layout, seq_len, row, key);
  }
  return kept / (static_cast<double>(rows.size()) * static_cast<double>(seq_len));
}

CheckResult checkPlan(Runtime& runtime, const Plan& plan, const Pattern& pattern,
                      const CheckConfig& config) {
  const auto& state = RuntimeAccess::state(runtime);
  if (!state->driver) {
    throw Error(ErrorCategory::kDriverError, "no CUDA driver/GPU: " + state->no_device_reason);
  }
  const KernelSpec& spec = plan.spec();
  const DType dtype = spec.dtype;
  const int64_t B = config.batch, H = config.heads, S = config.seq_len, D = spec.head_dim;
  const int64_t Hkv = config.kv_heads == 0 ? H : config.kv_heads;
  std::mt19937_64 rng(config.seed);
  HostTensor q = randomTensor(rng, dtype, config.tensor_layout, B, H, S, D);
  HostTensor k = randomTensor(rng, dtype, config.tensor_layout, B, Hkv, S, D);
  HostTensor v = randomTensor(rng, dtype, config.tensor_layout, B, Hkv, S, D);
  if (!config.planted_vertical.empty() || config.planted_slash >= 0) {
    plantStructure(rng, dtype, config.tensor_layout, B, H, Hkv, S, D,
                   {PlantedEntry{std::nullopt, config.planted_vertical, config.planted_slash}},
                   config.layout, q, k);
  } else if (!config.planted_by_modality.empty()) {
    std::vector<PlantedEntry> entries;
    for (const CheckConfig::PlantedRows& p : config.planted_by_modality) {
      entries.push_back({p.rows, p.vertical, p.slash});
    }
    plantStructure(rng, dtype, config.tensor_layout, B, H, Hkv, S, D, entries, config.layout, q, k);
  }
  if (config.planted_grid) {
    const GridChoice& g = *config.planted_grid;
    if (g.stride < 1 || g.phase_q < 0 || g.phase_q >= g.stride || g.phase_k < 0 ||
        g.phase_k >= g.stride || config.planted_grid_begin < 0 || config.planted_grid_end > S ||
        config.planted_grid_begin >= config.planted_grid_end) {
      throw Error(ErrorCategory::kInvalidArgument,
                  "planted_grid: stride >= 1, phases in [0, stride) and 0 <= begin < end <= "
                  "seq_len required");
    }
    plantGrid(rng, dtype, config.tensor_layout, B, H, Hkv, S, D, g, config.planted_grid_begin,
              config.planted_grid_end, q, k);
  }

  auto driver = state->driver;
  ScopedContext context(*driver, state->context);

  const size_t q_bytes = q.device_bits.size() * 2, kv_bytes = k.device_bits.size() * 2;
  DeviceBuffer dq(driver, q_bytes), dk(driver, kv_bytes), dv(driver, kv_bytes),
      dout(driver, q_bytes);
  DeviceBuffer dlse(driver, static_cast<size_t>(B * H * S) * sizeof(float));
  const size_t split_bytes = config.key_split_workspace ? plan.keySplitWorkspaceBytes() : 0;
  const size_t ws_bytes = plan.isDynamic() ? plan.workspaceBytes(B, H, S) : split_bytes;
  DeviceBuffer dws(driver, std::max<size_t>(ws_bytes, 256));
  dq.upload(q.device_bits.data(), q_bytes);
  dk.upload(k.device_bits.data(), kv_bytes);
  dv.upload(v.device_bits.data(), kv_bytes);
  dout.fill(0xff);  // NaN in bf16 and fp16: an unwritten element cannot pass
  dlse.fill(0xff);

  RunArgs args;
  args.q = dq.data();
  args.k = dk.data();
  args.v = dv.data();
  args.o = dout.data();
  args.lse = static_cast<float*>(dlse.data());
  args.batch = B;
  args.heads = H;
  args.kv_heads = Hkv;
  args.seq_len = S;
  args.head_dim = D;
  args.dtype = dtype;
  args.tensor_layout = config.tensor_layout;
  args.layout = config.layout;
  args.workspace = plan.isDynamic() || split_bytes > 0 ? dws.data() : nullptr;
  args.workspace_bytes = ws_bytes;
  plan.run(args, nullptr);
  driver->check(driver->cuStreamSynchronize(nullptr), "cuStreamSynchronize (kernel execution)");
  CheckResult result;
  if (!plan.isDynamic() && split_bytes > 0) {
    KeySplitHeader header;
    dws.download(&header, sizeof header);
    result.key_split_tiles = header.tiles;
    result.key_split_extra = header.extra;
  }
  if (plan.isDynamic()) result.estimated = plan.estimatedIndices(args, nullptr);
  // The sets of (b, h), or null for a static plan.
  auto dynFor = [&](int64_t b, int64_t h) -> const DynamicIndices* {
    return result.estimated.empty() ? nullptr : &result.estimated[static_cast<size_t>(b * H + h)];
  };

  std::vector<uint16_t> out_bits(q.device_bits.size());
  dout.download(out_bits.data(), q_bytes);
  std::vector<float> lse(static_cast<size_t>(B * H * S));
  dlse.download(lse.data(), lse.size() * sizeof(float));

  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const AttentionShape shape{B, H, Hkv, S, D};
  double err2 = 0, ref2 = 0;
  auto compareRow = [&](int64_t b, int64_t h, int64_t row, const double* ref, double ref_lse) {
    for (int64_t d = 0; d < D; ++d) {
      double got = halfBitsToFloat(
          out_bits[tensorOffset(config.tensor_layout, b, h, row, d, H, S, D)], dtype);
      if (!std::isfinite(got)) result.nan_found = true;
      err2 += (got - ref[d]) * (got - ref[d]);
      ref2 += ref[d] * ref[d];
    }
    if (std::isfinite(ref_lse)) {
      double got_lse = lse[static_cast<size_t>((b * H + h) * S + row)];
      double diff = std::isfinite(got_lse) ? std::abs(got_lse - ref_lse)
                                           : std::numeric_limits<double>::infinity();
      result.lse_max_abs = std::max(result.lse_max_abs, diff);
    }
    ++result.rows_checked;
  };
  double work = static_cast<double>(B * H) * static_cast<double>(S) * static_cast<double>(S) *
                static_cast<double>(D);
  if (work <= config.full_reference_limit) {
    result.full_reference = true;
    std::vector<double> ref(static_cast<size_t>(B * H * S * D)),
        ref_lse(static_cast<size_t>(B * H * S));
    int64_t kept = 0;
    if (!plan.isDynamic()) {
      std::vector<uint8_t> mask = keptMask(pattern, config.layout, S);
      referenceAttention(shape, q.reference.data(), k.reference.data(), v.reference.data(),
                         mask.data(), scale, ref.data(), ref_lse.data());
      kept = std::count(mask.begin(), mask.end(), uint8_t{1}) * B * H;
    } else {
      // Each (batch, head) has its own estimated sets, hence its own mask.
      const int64_t group = H / Hkv;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h) {
          std::vector<uint8_t> mask = keptMask(pattern, config.layout, S, dynFor(b, h));
          kept += std::count(mask.begin(), mask.end(), uint8_t{1});
          const size_t qo = static_cast<size_t>((b * H + h) * S * D);
          const size_t ko = static_cast<size_t>((b * Hkv + h / group) * S * D);
          referenceAttention({1, 1, 1, S, D}, q.reference.data() + qo, k.reference.data() + ko,
                             v.reference.data() + ko, mask.data(), scale, ref.data() + qo,
                             ref_lse.data() + static_cast<size_t>((b * H + h) * S));
        }
    }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t row = 0; row < S; ++row) {
          size_t at = static_cast<size_t>((b * H + h) * S + row);
          compareRow(b, h, row, &ref[at * D], ref_lse[at]);
        }
    result.kept_fraction = static_cast<double>(kept) / static_cast<double>(B * H) /
                           (static_cast<double>(S) * static_cast<double>(S));
    result.kept_exact = true;
  } else {
    std::vector<int64_t> rows = sampleRows(S, config.sample_rows, rng);
    std::vector<double> ref(static_cast<size_t>(D));
    for (int64_t row : rows) {
      int64_t b = row % B, h = (row / 7) % H;  // spread the sample over batches and heads
      double ref_lse = 0;
      referenceRow(pattern, config.layout, shape, q.reference, k.reference, v.reference, scale, b,
                   h, row, ref.data(), &ref_lse, dynFor(b, h));
      compareRow(b, h, row, ref.data(), ref_lse);
    }
    if (plan.isDynamic()) {
      // Kept pairs of head 0 from its sets, counted per row (causal rows hold at most q + 1).
      std::vector<int64_t> counted;
      for (int64_t row = 0; row < S; row += std::max<int64_t>(1, S / 256)) counted.push_back(row);
      double kept = 0;
      for (const auto& mask_row : keptRows(pattern, config.layout, S, counted, dynFor(0, 0))) {
        kept += static_cast<double>(std::count(mask_row.begin(), mask_row.end(), uint8_t{1}));
      }
      result.kept_fraction = kept / (static_cast<double>(counted.size()) * static_cast<double>(S));
      result.kept_exact = false;
    } else {
      result.kept_fraction = keptFraction(pattern, config.layout, S, &result.kept_exact);
    }
  }
  result.rel_l2 = ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
  if (result.nan_found) result.rel_l2 = std::numeric_limits<double>::infinity();

  if (config.timing_iterations > 0) {
    EventTimer timer(*driver);
    plan.run(args, nullptr);  // warm-up
    result.median_ms = timer.medianMs([&] { plan.run(args, nullptr); }, config.timing_iterations);
    if (plan.isDynamic()) {
      RunArgs reuse = args;
      reuse.reuse_estimate = true;
      result.attention_ms =
          timer.medianMs([&] { plan.run(reuse, nullptr); }, config.timing_iterations);
    }
    double kept_pairs = result.kept_fraction * static_cast<double>(S) * static_cast<double>(S);
    result.eff_tflops =
        4.0 * static_cast<double>(B * H * D) * kept_pairs / (result.median_ms * 1e-3) / 1e12;
  }
  return result;
}

}  // namespace permjit::runtime
