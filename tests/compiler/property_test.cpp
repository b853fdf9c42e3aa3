// THE property test: for random patterns, layouts, lengths and tile configs, the compiled plan
// (segment tables + tile classification + per-element predicate) agrees with the DSL's CPU
// reference on every pair:
//   NONE tiles keep nothing, ALL tiles keep every valid pair, SOME tiles' evalKeep equals the
//   reference, and (segment tables being bijections) every kept pair lies in a visited tile.
// PERMJIT_TEST_SEED=<n> reruns one seed; the seed is printed on failure.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "permjit/compiler/Pipeline.h"
#include "permjit/compiler/Plan.h"
#include "permjit/dsl/Error.h"
#include "permjit/dsl/Reference.h"

namespace permjit {
namespace {

class Generator {
 public:
  Generator(uint64_t seed) : rng_(seed) {}

  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool coin(int percent = 50) { return uniform(0, 99) < percent; }

  // >= 3 interleaved spans (vision/text alternating, some gaps -> other).
  Layout layout(int64_t seq_len) {
    std::vector<Span> spans;
    int pieces = static_cast<int>(uniform(3, 6));
    std::vector<int64_t> cuts;
    for (int i = 0; i < pieces * 2; ++i) cuts.push_back(uniform(0, seq_len));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    bool vision = coin();
    for (size_t i = 0; i + 1 < cuts.size(); i += coin(70) ? 1 : 2) {
      if (cuts[i] >= cuts[i + 1]) continue;
      if (!spans.empty() && spans.back().end > cuts[i]) continue;
      spans.push_back(
          Span{vision ? Modality::kVision : Modality::kText, cuts[i], cuts[i + 1], std::nullopt});
      vision = !vision;
    }
    return Layout(spans);
  }

  SpanRef span(int64_t len) {
    switch (uniform(0, 3)) {
      case 0:
        return SpanRef::all();
      case 1: {
        int64_t b = uniform(0, len);
        return SpanRef::range(b, uniform(b, len));
      }
      case 2:
        return SpanRef::modality(coin() ? Modality::kVision : Modality::kText);
      default:
        return SpanRef::last(uniform(0, len));
    }
  }

  int64_t phase(int64_t stride) {
    switch (uniform(0, 2)) {
      case 0:
        return 0;
      case 1:
        return stride - 1;
      default:
        return uniform(0, stride - 1);
    }
  }

  Pattern atom(int64_t len) {
    int64_t stride = uniform(1, 20);
    switch (uniform(0, 8)) {
      case 0:
        return causal();
      case 1:
        return sink(uniform(0, len / 2));
      case 2:
        return local(uniform(0, len / 2));
      case 3:
        return grid(stride, phase(stride), phase(stride), span(len));
      case 4:
        return vlines(stride, phase(stride), span(len));
      case 5:
        return hlines(stride, phase(stride), span(len));
      case 6:
        return rows(coin() ? SpanRef::last(uniform(0, len / 4)) : span(len));
      case 7:
        return block(span(len), span(len));
      default:
        return causal() & local(uniform(1, len));
    }
  }

  Pattern pattern(int64_t len, int depth, bool allow_boundary) {
    int64_t choice = depth <= 0 ? 0 : uniform(0, 5);
    switch (choice) {
      case 1:
      case 2: {
        std::vector<Pattern> parts;
        for (int i = 0, n = static_cast<int>(uniform(2, 3)); i < n; ++i) {
          parts.push_back(pattern(len, depth - 1, allow_boundary));
        }
        return choice == 1 ? union_of(parts) : intersect_of(parts);
      }
      case 3:
        if (allow_boundary) {
          std::map<Modality, Pattern> by_q;
          for (Modality m : {Modality::kVision, Modality::kText, Modality::kOther}) {
            if (coin(60)) by_q.emplace(m, pattern(len, depth - 1, false));
          }
          if (!by_q.empty()) return q_boundary(by_q);
        }
        break;
      case 4:
        if (allow_boundary) {
          std::map<std::pair<Modality, Modality>, Pattern> by_qk;
          for (Modality q : {Modality::kVision, Modality::kText}) {
            for (Modality k : {Modality::kVision, Modality::kText, Modality::kOther}) {
              if (coin(40)) by_qk.emplace(std::pair{q, k}, pattern(len / 2, depth - 1, false));
            }
          }
          if (!by_qk.empty()) return boundary_2d(by_qk);
        }
        break;
      case 5:
        if (coin()) {
          PermuteBy by;
          if (coin()) {
            by.kind = PermuteBy::Kind::kResidue;
            by.stride = uniform(1, 16);
            by.span = span(len);
          } else {
            by.kind = PermuteBy::Kind::kModality;
            by.order = {Modality::kText, Modality::kVision};
          }
          auto axes = static_cast<PermuteAxes>(uniform(0, 2));
          return permute(pattern(len, depth - 1, allow_boundary), axes, by);
        }
        break;
    }
    return atom(len);
  }

 private:
  std::mt19937_64 rng_;
};

struct Counts {
  int64_t cases = 0, rejected = 0, pairs = 0, none = 0, some = 0, all = 0;
};

// Checks one compiled plan against the reference mask; returns false on the first mismatch.
bool checkPlan(const KernelSpec& spec, const Layout& layout, int64_t seq_len,
               const std::vector<uint8_t>& mask, Counts& counts) {
  std::vector<int> params = bindParams(spec, layout, seq_len);
  for (const PassSpec& pass : spec.passes) {
    sem::SegmentTable rows =
        buildSegmentTable(pass.rows, params, layout, seq_len, spec.tile.block_m);
    sem::SegmentTable cols =
        buildSegmentTable(pass.cols, params, layout, seq_len, spec.tile.block_n);
    std::vector<int> seen_q(seq_len, 0), seen_k(seq_len, 0);
    for (int i = 0; i < rows.total / rows.tile; ++i) {
      sem::Bounds qb = sem::tile_bounds(rows, i);
      for (int j = 0; j < cols.total / cols.tile; ++j) {
        sem::Bounds kb = sem::tile_bounds(cols, j);
        sem::Tri tri = evalClassify(spec, pass.expr_root, params, qb, kb);
        (tri == sem::kNone ? counts.none : tri == sem::kAll ? counts.all : counts.some)++;
        for (int r = 0; r < rows.tile; ++r) {
          sem::Coord q = sem::map_index(rows, i * rows.tile + r);
          if (q.pos < 0) continue;
          if (j == 0) ++seen_q[q.pos];
          for (int c = 0; c < cols.tile; ++c) {
            sem::Coord k = sem::map_index(cols, j * cols.tile + c);
            if (k.pos < 0) continue;
            if (i == 0 && r == 0) ++seen_k[k.pos];
            bool ref = mask[q.pos * seq_len + k.pos] != 0;
            ++counts.pairs;
            bool ok = tri == sem::kNone  ? !ref
                      : tri == sem::kAll ? ref
                                         : evalKeep(spec, pass.expr_root, params, q, k) == ref;
            if (!ok) {
              ADD_FAILURE() << "pair (q=" << q.pos << ", k=" << k.pos << ") reference keeps=" << ref
                            << " tile (" << i << ", " << j << ") class=" << tri
                            << " evalKeep=" << evalKeep(spec, pass.expr_root, params, q, k) << "\n"
                            << spec.str();
              return false;
            }
          }
        }
      }
    }
    for (int64_t x = 0; x < seq_len; ++x) {
      if (seen_q[x] != 1 || seen_k[x] != 1) {
        ADD_FAILURE() << "position " << x << " appears " << seen_q[x] << " times among rows and "
                      << seen_k[x] << " among columns";
        return false;
      }
    }
  }
  return true;
}

TEST(PlanMatchesReference, RandomPatterns) {
  uint64_t base_seed = 20261128;
  int cases = 300;
  if (const char* env = std::getenv("PERMJIT_TEST_SEED")) {
    base_seed = std::strtoull(env, nullptr, 10);
    cases = 1;
  }
  const TileConfig configs[] = {{128, 64, 4, 2}, {64, 32, 4, 2}, {64, 128, 8, 1}};
  Counts counts;
  for (int n = 0; n < cases; ++n) {
    uint64_t seed = base_seed + n;
    Generator gen(seed);
    int64_t seq_len = gen.uniform(1, 300);
    Layout layout = gen.layout(seq_len);
    Pattern pattern = gen.pattern(seq_len, static_cast<int>(gen.uniform(1, 3)), true);
    try {
      validate(pattern, layout, seq_len);
    } catch (const Error&) {
      ++counts.rejected;  // e.g. a boundary naming a modality the layout lacks
      continue;
    }
    SCOPED_TRACE(testing::Message() << "PERMJIT_TEST_SEED=" << seed << " S=" << seq_len
                                    << " layout=" << layout.str() << " pattern=" << pattern.str());
    std::vector<uint8_t> mask = keptMask(pattern, layout, seq_len);
    for (int c = 0; c < 2; ++c) {
      CompileOptions options;
      options.layout = layout;
      options.seq_len = seq_len;
      options.tile = configs[(n + c) % 3];
      KernelSpec spec;
      try {
        spec = compilePattern(pattern, options);
      } catch (const Error& e) {
        ADD_FAILURE() << "compilePattern: " << e.what();
        return;
      }
      ++counts.cases;
      if (!checkPlan(spec, layout, seq_len, mask, counts)) return;
    }
  }
  std::printf(
      "property: %lld plans, %lld patterns rejected by validate, %lld pairs; tiles "
      "none %lld, some %lld, all %lld\n",
      static_cast<long long>(counts.cases), static_cast<long long>(counts.rejected),
      static_cast<long long>(counts.pairs), static_cast<long long>(counts.none),
      static_cast<long long>(counts.some), static_cast<long long>(counts.all));
  EXPECT_GT(counts.cases, cases);  // most patterns validate
  EXPECT_GT(counts.none, 0);
  EXPECT_GT(counts.all, 0);
}

}  // namespace
}  // namespace permjit
