// THE property test: for random patterns, layouts, lengths and tile configs, the compiled plan
// (segment tables + tile classification + per-element predicate) agrees with the DSL's CPU
// reference on every pair. For every pass, with its own segment tables: NONE tiles keep
// nothing of the pass's predicate, ALL tiles keep every valid pair, and (segment tables being
// bijections) every pair lies in exactly one tile. Across passes: every pair the reference
// keeps is kept by exactly one pass, every other pair by none (the passes merge through the
// LSE, so their kept sets must be disjoint). Plans are compiled single-pass and with
// PassSplit::kSplitLines; split-shaped patterns (outer & (line terms | line-free terms)) get
// a test of their own so that most of them do split.
// PERMJIT_TEST_SEED=<n> reruns one seed; the seed is printed on failure.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "HostDynamicSets.h"
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

  Pattern lineAtom(int64_t len) {
    int64_t stride = uniform(1, 20);
    switch (uniform(0, 3)) {
      case 0:
        return grid(stride, phase(stride), phase(stride), span(len));
      case 1:
        return vlines(stride, phase(stride), span(len));
      case 2:
        return hlines(stride, phase(stride), span(len));
      default:
        return block(span(len), span(len)) & vlines(stride, phase(stride), span(len));
    }
  }

  Pattern lineFreeAtom(int64_t len) {
    switch (uniform(0, 4)) {
      case 0:
        return sink(uniform(0, len / 2));
      case 1:
        return local(uniform(0, len / 2));
      case 2:
        return rows(coin() ? SpanRef::last(uniform(0, len / 4)) : span(len));
      case 3:
        return block(span(len), span(len));
      default:
        return causal() & local(uniform(1, len));
    }
  }

  // outer... & (line terms | line-free terms), the shape PassSplit::kSplitLines splits.
  Pattern splitShaped(int64_t len) {
    std::vector<Pattern> terms;
    for (int i = 0, n = static_cast<int>(uniform(1, 3)); i < n; ++i) terms.push_back(lineAtom(len));
    for (int i = 0, n = static_cast<int>(uniform(1, 3)); i < n; ++i) {
      terms.insert(terms.begin() + uniform(0, static_cast<int64_t>(terms.size())),
                   lineFreeAtom(len));
    }
    std::vector<Pattern> parts;
    if (coin(80)) parts.push_back(causal());
    if (coin(20)) parts.push_back(lineFreeAtom(len));
    if (parts.empty()) return union_of(terms);
    parts.push_back(union_of(terms));
    return intersect_of(parts);
  }

  // A Q-Boundary or 2D-Boundary head whose first block is split-shaped (so it holds a line
  // and keeps pairs without it), the others random: the general line split takes every one.
  Pattern boundaryWithLines(int64_t len) {
    if (coin()) {
      std::map<Modality, Pattern> by_q;
      by_q.emplace(Modality::kVision, splitShaped(len));
      if (coin(60)) by_q.emplace(Modality::kText, pattern(len, 1, false));
      return q_boundary(by_q);
    }
    std::map<std::pair<Modality, Modality>, Pattern> by_qk;
    by_qk.emplace(std::pair{Modality::kVision, Modality::kVision}, splitShaped(len / 2));
    for (auto [q, k] : {std::pair{Modality::kVision, Modality::kText},
                        std::pair{Modality::kText, Modality::kText},
                        std::pair{Modality::kText, Modality::kVision}}) {
      if (coin(50)) by_qk.emplace(std::pair{q, k}, pattern(len / 2, 1, false));
    }
    return boundary_2d(by_qk);
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
  int64_t cases = 0, rejected = 0, split = 0, pairs = 0, none = 0, some = 0, all = 0;
};

// Checks one compiled plan against the reference mask; returns false on the first mismatch.
// Dynamic plans read the sets `dyn` (the gathered pass's columns are its vertical columns).
bool checkPlan(const KernelSpec& spec, const Layout& layout, int64_t seq_len,
               const std::vector<uint8_t>& mask, Counts& counts,
               const DynamicIndices* dyn = nullptr) {
  // One set per vertical_slash atom; a pass reads its atom's.
  std::vector<std::unique_ptr<testing_detail::HostDynamicSets>> atom_sets;
  if (dyn) {
    atom_sets.push_back(
        std::make_unique<testing_detail::HostDynamicSets>(dyn->vertical, dyn->slash, seq_len));
    for (const VerticalSlashSets& later : dyn->later_atoms) {
      atom_sets.push_back(
          std::make_unique<testing_detail::HostDynamicSets>(later.vertical, later.slash, seq_len));
    }
  }
  std::vector<int> params = bindParams(spec, layout, seq_len);
  if (spec.passes.empty() || spec.passes.size() > 8) {
    ADD_FAILURE() << spec.passes.size() << " passes; allowed: 1..8\n" << spec.str();
    return false;
  }
  if (spec.passes.size() > 1) ++counts.split;
  // Bit i: pass i keeps the pair.
  std::vector<uint8_t> kept_by(seq_len * seq_len, 0);
  for (size_t pass_index = 0; pass_index < spec.passes.size(); ++pass_index) {
    const PassSpec& pass = spec.passes[pass_index];
    if (!atom_sets.empty() && pass.atom >= static_cast<int>(atom_sets.size())) {
      ADD_FAILURE() << "pass " << pass_index << " reads atom " << pass.atom << " of "
                    << atom_sets.size();
      return false;
    }
    const testing_detail::HostDynamicSets* sets =
        atom_sets.empty() ? nullptr : atom_sets[static_cast<size_t>(pass.atom)].get();
    const sem::DynamicSets* view = sets ? &sets->view : nullptr;
    sem::SegmentTable rows =
        buildSegmentTable(pass.rows, params, layout, seq_len, spec.tile.block_m);
    sem::SegmentTable cols =
        buildSegmentTable(pass.cols, params, layout, seq_len, spec.tile.block_n);
    const bool gathered = pass.cols.gather_vertical;
    if (gathered && !view) {
      ADD_FAILURE() << "pass " << pass_index << " gathers vertical columns in a static plan";
      return false;
    }
    const int col_tiles =
        gathered ? (view->col_count + cols.tile - 1) / cols.tile : cols.total / cols.tile;
    // Column c of column tile j: the segment table's, or the gathered list's.
    auto column = [&](int j, int c) {
      if (!gathered) return sem::map_index(cols, j * cols.tile + c);
      sem::Coord k{-1, -1, sem::kOther};
      if (j * cols.tile + c < view->col_count) k.pos = view->col_list[j * cols.tile + c];
      return k;
    };
    std::vector<int> seen_q(seq_len, 0), seen_k(seq_len, 0);
    for (int i = 0; i < rows.total / rows.tile; ++i) {
      sem::Bounds qb = sem::tile_bounds(rows, i);
      for (int r = 0; r < rows.tile; ++r) {
        sem::Coord q = sem::map_index(rows, i * rows.tile + r);
        if (q.pos >= 0) ++seen_q[q.pos];
      }
      for (int j = 0; j < col_tiles; ++j) {
        sem::Bounds kb =
            gathered ? sem::gathered_bounds(*view, j, cols.tile) : sem::tile_bounds(cols, j);
        sem::Tri tri = evalClassify(spec, pass.expr_root, params, qb, kb, view);
        (tri == sem::kNone ? counts.none : tri == sem::kAll ? counts.all : counts.some)++;
        // The device's TileScanner first classifies runs of 32 tiles as one (sem::run_bounds,
        // gathered_bounds of a 32-tile run); a run's NONE or ALL must hold for each pair of its
        // tiles too. Runs of 2 tiles straddle more segment and class boundaries at these sizes.
        sem::Tri claims[3] = {tri, sem::kSome, sem::kSome};
        for (int level = 1; level < 3; ++level) {
          const int group_tiles = level == 1 ? 2 : 32, g = j / group_tiles;
          sem::Bounds run;
          bool exact = true;
          if (gathered) {
            run = sem::gathered_bounds(*view, g, group_tiles * cols.tile);
          } else {
            exact = sem::run_bounds(cols, g * group_tiles, group_tiles, run);
          }
          if (exact && run.count > 0) {
            claims[level] = evalClassify(spec, pass.expr_root, params, qb, run, view);
          }
        }
        // A consumer warp classifies its own rows of a partial tile (sem::sub_bounds; 16 rows
        // on the device, 8 here to cut more tiles): its NONE or ALL must hold for its rows.
        constexpr int kWarpRows = 8;
        sem::Tri warp_claim = sem::kSome;
        for (int r = 0; r < rows.tile; ++r) {
          if (r % kWarpRows == 0) {
            const sem::Bounds wb = sem::sub_bounds(qb, r, kWarpRows);
            warp_claim = wb.count > 0 ? evalClassify(spec, pass.expr_root, params, wb, kb, view)
                                      : sem::kSome;
          }
          sem::Coord q = sem::map_index(rows, i * rows.tile + r);
          if (q.pos < 0) continue;
          for (int c = 0; c < cols.tile; ++c) {
            sem::Coord k = column(j, c);
            if (k.pos < 0) continue;
            if (i == 0 && r == 0) ++seen_k[k.pos];
            ++counts.pairs;
            bool keep = evalKeep(spec, pass.expr_root, params, q, k, view);
            int wrong = -1;  // the first claim the pair contradicts: the tile's, a run's, a warp's
            for (int level = 0; level < 4 && wrong < 0; ++level) {
              const sem::Tri c = level < 3 ? claims[level] : warp_claim;
              if (c == sem::kNone ? keep : c == sem::kAll ? !keep : false) wrong = level;
            }
            if (wrong >= 0) {
              ADD_FAILURE() << "pass " << pass_index << " pair (q=" << q.pos << ", k=" << k.pos
                            << ") tile (" << i << ", " << j << ") "
                            << (wrong == 0   ? ""
                                : wrong == 1 ? "run of 2 "
                                : wrong == 2 ? "run of 32 "
                                             : "warp rows ")
                            << "class=" << (wrong < 3 ? claims[wrong] : warp_claim)
                            << " but evalKeep=" << keep << "; reference keeps="
                            << static_cast<int>(mask[q.pos * seq_len + k.pos]) << "\n"
                            << spec.str();
              return false;
            }
            if (keep) kept_by[q.pos * seq_len + k.pos] |= static_cast<uint8_t>(1u << pass_index);
          }
        }
      }
    }
    for (int64_t x = 0; x < seq_len; ++x) {
      // A gathered pass sees each vertical column once and no other column.
      const int want_k = gathered ? sem::set_keep(sets->view, sem::kVerticalSet, int(x)) : 1;
      if (seen_q[x] != 1 || seen_k[x] != want_k) {
        ADD_FAILURE() << "pass " << pass_index << ": position " << x << " appears " << seen_q[x]
                      << " times among rows and " << seen_k[x] << " among columns";
        return false;
      }
    }
  }
  for (int64_t q = 0; q < seq_len; ++q) {
    for (int64_t k = 0; k < seq_len; ++k) {
      unsigned passes = kept_by[q * seq_len + k];
      bool ref = mask[q * seq_len + k] != 0;
      // Exactly one pass when the reference keeps the pair, none otherwise.
      bool ok = ref ? (passes != 0 && (passes & (passes - 1)) == 0) : passes == 0;
      if (!ok) {
        ADD_FAILURE() << "pair (q=" << q << ", k=" << k << ") reference keeps=" << ref
                      << " but the passes keeping it are the bits of " << passes << "\n"
                      << spec.str();
        return false;
      }
    }
  }
  return true;
}

struct Settings {
  uint64_t base_seed;
  int cases;
};

Settings settings(uint64_t default_seed, int default_cases) {
  if (const char* env = std::getenv("PERMJIT_TEST_SEED")) {
    return Settings{std::strtoull(env, nullptr, 10), 1};
  }
  return Settings{default_seed, default_cases};
}

const TileConfig kConfigs[] = {{128, 64, 4, 2}, {64, 32, 4, 2}, {64, 128, 8, 1}};

// Compiles `pattern` with `options` and checks the plan; false after a reported failure.
bool compileAndCheck(const Pattern& pattern, CompileOptions options, const Layout& layout,
                     int64_t seq_len, const std::vector<uint8_t>& mask, Counts& counts,
                     const DynamicIndices* dyn = nullptr) {
  options.layout = layout;
  options.seq_len = seq_len;
  KernelSpec spec;
  try {
    spec = compilePattern(pattern, options);
  } catch (const Error& e) {
    ADD_FAILURE() << "compilePattern (pass split " << passSplitName(options.pass_split)
                  << "): " << e.what();
    return false;
  }
  ++counts.cases;
  return checkPlan(spec, layout, seq_len, mask, counts, dyn);
}

void printCounts(const char* name, const Counts& counts) {
  std::printf(
      "%s: %lld plans (%lld split), %lld patterns rejected by validate, %lld pairs; tiles "
      "none %lld, some %lld, all %lld\n",
      name, static_cast<long long>(counts.cases), static_cast<long long>(counts.split),
      static_cast<long long>(counts.rejected), static_cast<long long>(counts.pairs),
      static_cast<long long>(counts.none), static_cast<long long>(counts.some),
      static_cast<long long>(counts.all));
}

TEST(PlanMatchesReference, RandomPatterns) {
  auto [base_seed, cases] = settings(20261128, 300);
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
    for (int c = 0; c < 3; ++c) {
      CompileOptions options;
      options.tile = kConfigs[(n + c) % 3];
      options.pass_split = c == 2 ? PassSplit::kSplitLines : PassSplit::kSingle;
      if (!compileAndCheck(pattern, options, layout, seq_len, mask, counts)) return;
    }
  }
  printCounts("property", counts);
  EXPECT_GT(counts.cases, cases * 3 / 2);  // most patterns validate
  EXPECT_GT(counts.none, 0);
  EXPECT_GT(counts.all, 0);
}

// vertical_slash heads with random estimated sets: the two passes per atom (no vertical column;
// the gathered vertical columns) are exact, disjoint and together the reference of those sets,
// also with one atom per q_boundary modality.
TEST(PlanMatchesReference, DynamicPatternsWithRandomSets) {
  auto [base_seed, cases] = settings(20261129, 200);
  Counts counts;
  int multi_atom = 0;
  for (int n = 0; n < cases; ++n) {
    uint64_t seed = base_seed + n;
    Generator gen(seed);
    int64_t seq_len = gen.uniform(1, 300);
    Layout layout = gen.layout(seq_len);
    Pattern vs = vertical_slash(gen.uniform(1, 50), gen.uniform(1, 80), 64);
    // What may surround a vertical_slash: no key-modality or modality-local atoms (the gathered
    // columns have neither; the compiler rejects them, see pipeline_test).
    auto beside = [&]() -> Pattern {
      int64_t stride = gen.uniform(1, 20), b = gen.uniform(0, seq_len);
      SpanRef range = SpanRef::range(b, gen.uniform(b, seq_len));
      switch (gen.uniform(0, 5)) {
        case 0:
          return sink(gen.uniform(0, seq_len / 2));
        case 1:
          return local(gen.uniform(0, seq_len / 2));
        case 2:
          return rows(SpanRef::last(gen.uniform(0, seq_len / 4)));
        case 3:
          return vlines(stride, gen.phase(stride), range);
        case 4:
          return hlines(stride, gen.phase(stride), gen.coin() ? range : SpanRef::all());
        default:
          return grid(stride, gen.phase(stride), gen.phase(stride), range);
      }
    };
    Pattern pattern = causal() & vs;
    switch (gen.uniform(0, 4)) {
      case 0:
        pattern = causal() & (vs | beside());
        break;
      case 1:
        pattern = causal() & (vs | beside() | beside());
        break;
      case 2:
        pattern = q_boundary(
            {{Modality::kVision, causal() & vs}, {Modality::kText, causal() & beside()}});
        break;
      case 3: {
        // One atom per query modality (the paper's Q-Boundary): each row reads its own.
        std::map<Modality, Pattern> by_q = {
            {Modality::kVision, causal() & (vs | beside())},
            {Modality::kText, causal() & vertical_slash(gen.uniform(1, 50), 20, 32)}};
        if (gen.coin()) {
          by_q.emplace(Modality::kOther, causal() & (beside() | vertical_slash(5, 5, 16)));
        }
        pattern = q_boundary(by_q);
        break;
      }
      default:
        break;
    }
    try {
      validate(pattern, layout, seq_len);
    } catch (const Error&) {
      ++counts.rejected;
      continue;
    }
    DynamicIndices dyn;
    dyn.later_atoms.resize(std::max<size_t>(verticalSlashAtoms(pattern).size(), 1) - 1);
    multi_atom += !dyn.later_atoms.empty();
    for (size_t atom = 0; atom <= dyn.later_atoms.size(); ++atom) {
      std::vector<int64_t>& vertical = atom ? dyn.later_atoms[atom - 1].vertical : dyn.vertical;
      std::vector<int64_t>& slash = atom ? dyn.later_atoms[atom - 1].slash : dyn.slash;
      for (int64_t x = 0; x < seq_len; ++x) {
        if (gen.coin(15)) vertical.push_back(x);
        if (gen.coin(x < 8 ? 80 : 10)) slash.push_back(x);
      }
    }
    SCOPED_TRACE(testing::Message() << "PERMJIT_TEST_SEED=" << seed << " S=" << seq_len
                                    << " layout=" << layout.str() << " pattern=" << pattern.str());
    std::vector<uint8_t> mask = keptMask(pattern, layout, seq_len, &dyn);
    CompileOptions options;
    options.tile = kConfigs[n % 3];
    if (!compileAndCheck(pattern, options, layout, seq_len, mask, counts, &dyn)) return;
  }
  printCounts("dynamic", counts);
  std::printf("dynamic: %d heads with one atom per query modality\n", multi_atom);
  EXPECT_GT(multi_atom, cases / 20);
  EXPECT_EQ(counts.split, counts.cases);  // every dynamic head is two passes or more
  EXPECT_GT(counts.cases, cases / 2);
  EXPECT_GT(counts.none, 0);
  EXPECT_GT(counts.all, 0);
}

// `cases` random patterns make(gen, S), each compiled single-pass and with kSplitLines and
// checked against the reference; false at the first wrong plan. split_cases counts the
// kSplitLines compiles that split; a single-pass compile never may.
template <class Make>
bool checkSingleAndSplit(uint64_t base_seed, int cases, int64_t min_len, Make make, Counts& counts,
                         int64_t& split_cases) {
  for (int n = 0; n < cases; ++n) {
    uint64_t seed = base_seed + n;
    Generator gen(seed);
    int64_t seq_len = gen.uniform(min_len, 300);
    Layout layout = gen.layout(seq_len);
    Pattern pattern = make(gen, seq_len);
    try {
      validate(pattern, layout, seq_len);
    } catch (const Error&) {
      ++counts.rejected;  // e.g. a boundary naming a modality the layout lacks
      continue;
    }
    SCOPED_TRACE(testing::Message() << "PERMJIT_TEST_SEED=" << seed << " S=" << seq_len
                                    << " layout=" << layout.str() << " pattern=" << pattern.str());
    std::vector<uint8_t> mask = keptMask(pattern, layout, seq_len);
    for (PassSplit split : {PassSplit::kSingle, PassSplit::kSplitLines}) {
      CompileOptions options;
      options.tile = kConfigs[n % 3];
      options.pass_split = split;
      const int64_t before = counts.split;
      if (!compileAndCheck(pattern, options, layout, seq_len, mask, counts)) return false;
      if (split == PassSplit::kSplitLines) split_cases += counts.split - before;
      if (split == PassSplit::kSingle) EXPECT_EQ(counts.split, before);
    }
  }
  return true;
}

// Boundary heads with a grid-like block: under kSplitLines each is two passes (the general
// line split: P0 = P with lines false, then P & lines & !P0 over the head's plans), exact and
// disjoint like every plan.
TEST(PlanMatchesReference, BoundaryHeadsWithLines) {
  auto [base_seed, cases] = settings(20261201, 150);
  Counts counts;
  int64_t split_cases = 0;
  auto make = [](Generator& gen, int64_t len) { return gen.boundaryWithLines(len); };
  if (!checkSingleAndSplit(base_seed, cases, 2, make, counts, split_cases)) return;
  printCounts("boundary", counts);
  // More than 3/4 of the validated heads split (canonicalize may fold a block away).
  EXPECT_GT(split_cases * 4, counts.cases / 2 * 3);
  EXPECT_GT(counts.cases, cases / 2);
}

TEST(PlanMatchesReference, SplitShapedPatterns) {
  auto [base_seed, cases] = settings(20270301, 200);
  Counts counts;
  int64_t split_cases = 0;
  auto make = [](Generator& gen, int64_t len) { return gen.splitShaped(len); };
  if (!checkSingleAndSplit(base_seed, cases, 1, make, counts, split_cases)) return;
  printCounts("split-shaped", counts);
  // Every validated split-shaped pattern splits under kSplitLines (canonicalize may only merge
  // duplicate terms, never make a union's terms all of one kind).
  EXPECT_EQ(counts.split * 2, counts.cases);
  EXPECT_EQ(split_cases * 2, counts.cases);
  EXPECT_GT(counts.cases, cases);
}

}  // namespace
}  // namespace permjit
