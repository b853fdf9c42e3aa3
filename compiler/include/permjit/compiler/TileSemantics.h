// Tile semantics shared by the host (planner, property tests) and the device (NVRTC kernels).
//
// This header is the single definition of
//   * permuted index spaces (segment tables): how a permuted row/column index maps back to an
//     original sequence position, and
//   * the per-element predicate and the per-tile three-valued classification of every
//     primitive atom of the tile IR.
// The generated CUDA embeds this file verbatim and the host planner calls the same functions,
// so the property test that proves the plan exact on the CPU tests the code the GPU runs.
//
// Freestanding on purpose: no standard headers, only `int` arithmetic, so NVRTC compiles it
// without any include path. Positions are int (sequence lengths below 2^30).
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define PJ_HD __host__ __device__ __forceinline__
#else
#define PJ_HD inline
#endif

namespace permjit {
namespace sem {

// "Larger than any position difference": the open upper bound of unbounded ranges.
constexpr int kPosInf = 0x3fffffff;
constexpr int kMaxSegments = 32;
constexpr int kMaxParams = 64;

// Three-valued tile classification: no pair kept / some pairs kept / every valid pair kept.
enum Tri : int { kNone = 0, kSome = 1, kAll = 2 };
PJ_HD Tri tri_and(Tri a, Tri b) { return a < b ? a : b; }
PJ_HD Tri tri_or(Tri a, Tri b) { return a > b ? a : b; }
PJ_HD Tri tri_not(Tri a) { return static_cast<Tri>(2 - static_cast<int>(a)); }

// Modality codes; must match permjit::Modality in dsl/ (checked by a static_assert there).
enum ModalityCode : int { kVision = 0, kText = 1, kOther = 2, kNumModalities = 3 };

enum SegmentKind : int { kIdentity = 0, kResidue = 1 };

PJ_HD int round_up(int x, int m) { return (x + m - 1) / m * m; }
// Floor modulo for a possibly negative x and m > 0.
PJ_HD int floor_mod(int x, int m) {
  int r = x % m;
  return r < 0 ? r + m : r;
}

// One piece of a permuted index space. Every position of a segment lies in one layout span
// (so it has one modality). Identity segments keep original order; residue segments order
// their positions by class t = (pos - begin) mod stride, then original order inside a class.
// Every class (residue) or the whole segment (identity) is padded to a multiple of the tile,
// so a tile never straddles two segments or two classes.
struct Segment {
  int kind;         // SegmentKind
  int modality;     // ModalityCode of every position in the segment
  int begin, end;   // original positions [begin, end)
  int stride;       // residue segments: number of classes (>= 1); identity: 1
  int local_begin;  // rank of `begin` among all positions of its modality
  int perm_begin;   // first permuted index (a multiple of the tile)
  int perm_len;     // permuted length including padding (a multiple of the tile)
};

struct SegmentTable {
  int count;  // used entries of seg
  int tile;   // padding unit: block rows (row maps) or block columns (column maps)
  int total;  // sum of perm_len: the permuted extent, a multiple of tile
  Segment seg[kMaxSegments];
};

// Layout of the classes of a residue segment: L = a*stride + b positions; classes t < b hold
// a + 1 positions (padded to hi), the others a (padded to lo).
struct ResidueShape {
  int a, b, hi, lo;
};
PJ_HD ResidueShape residue_shape(const Segment& s, int tile) {
  int len = s.end - s.begin;
  ResidueShape r;
  r.a = len / s.stride;
  r.b = len % s.stride;
  r.hi = round_up(r.a + 1, tile);
  r.lo = round_up(r.a, tile);
  return r;
}

// Permuted length of a segment for a given tile (used by the host when building tables).
PJ_HD int segment_perm_len(const Segment& s, int tile) {
  if (s.kind == kIdentity) return round_up(s.end - s.begin, tile);
  ResidueShape r = residue_shape(s, tile);
  return r.b * r.hi + (s.stride - r.b) * r.lo;
}

PJ_HD int find_segment(const SegmentTable& tab, int p) {
  int i = 0;
  while (i + 1 < tab.count && p >= tab.seg[i + 1].perm_begin) ++i;
  return i;
}

// A position with the coordinates predicates may read. pos < 0 marks padding.
struct Coord {
  int pos;       // original sequence position
  int local;     // rank among the positions of its modality
  int modality;  // ModalityCode
};

// Where permuted index p of segment s lands: class t and index j inside the class.
struct ClassIndex {
  int t, j, n;  // class, index in class, class size (valid iff j < n)
};
PJ_HD ClassIndex class_index(const Segment& s, int tile, int rel) {
  ClassIndex c;
  if (s.kind == kIdentity) {
    c.t = 0;
    c.j = rel;
    c.n = s.end - s.begin;
    return c;
  }
  ResidueShape r = residue_shape(s, tile);
  if (rel < r.b * r.hi) {
    c.t = rel / r.hi;
    c.j = rel % r.hi;
    c.n = r.a + 1;
  } else {
    int rest = rel - r.b * r.hi;
    c.t = r.b + rest / r.lo;
    c.j = rest % r.lo;
    c.n = r.a;
  }
  return c;
}

PJ_HD Coord map_index(const SegmentTable& tab, int p) {
  Coord out;
  out.pos = -1;
  out.local = -1;
  out.modality = kOther;
  if (p < 0 || p >= tab.total) return out;
  const Segment& s = tab.seg[find_segment(tab, p)];
  ClassIndex c = class_index(s, tab.tile, p - s.perm_begin);
  out.modality = s.modality;
  if (c.j >= c.n) return out;
  out.pos = s.begin + c.t + c.j * s.stride;
  out.local = s.local_begin + (out.pos - s.begin);
  return out;
}

// Everything a tile classifier may know about the valid positions of one tile: they are
// lo, lo + step, ..., hi (count of them), all of one modality; local coordinates follow the
// same progression from llo.
struct Bounds {
  int lo, hi;    // original positions (meaningless when count == 0)
  int llo, lhi;  // modality-local coordinates
  int step;      // distance between consecutive valid positions
  int count;     // valid positions in the tile (0: the tile is all padding)
  int modality;
};

PJ_HD Bounds tile_bounds(const SegmentTable& tab, int tile_index) {
  int p0 = tile_index * tab.tile;
  const Segment& s = tab.seg[find_segment(tab, p0)];
  ClassIndex c = class_index(s, tab.tile, p0 - s.perm_begin);
  Bounds b;
  b.modality = s.modality;
  b.step = s.kind == kIdentity ? 1 : s.stride;
  int left = c.n - c.j;
  b.count = left <= 0 ? 0 : (left < tab.tile ? left : tab.tile);
  b.lo = s.begin + c.t + c.j * s.stride;
  b.hi = b.lo + (b.count > 0 ? b.count - 1 : 0) * b.step;
  b.llo = s.local_begin + (b.lo - s.begin);
  b.lhi = s.local_begin + (b.hi - s.begin);
  return b;
}

// Bounds of positions first .. first + n - 1 of a tile's progression (clamped to its count): a
// consumer warp's rows of a row tile. count 0 when first is past the tile's valid positions.
PJ_HD Bounds sub_bounds(const Bounds& tile, int first, int n) {
  Bounds b = tile;
  int left = tile.count - first;
  b.count = left <= 0 ? 0 : (left < n ? left : n);
  b.lo = tile.lo + first * tile.step;
  b.llo = tile.llo + first * tile.step;
  b.hi = b.lo + (b.count > 0 ? b.count - 1 : 0) * tile.step;
  b.lhi = b.llo + (b.count > 0 ? b.count - 1 : 0) * tile.step;
  return b;
}

// Bounds of the run of `tiles` consecutive tiles from first_tile, when they lie in one segment
// and one class (then their valid positions are one progression, and a classifier's NONE or ALL
// for the run holds for every tile of it: the claims are about every valid pair). Returns false
// when the run straddles a segment or class boundary; the caller then classifies tile by tile.
PJ_HD bool run_bounds(const SegmentTable& tab, int first_tile, int tiles, Bounds& b) {
  int p0 = first_tile * tab.tile;
  int p1 = (first_tile + tiles) * tab.tile - 1;
  if (p1 >= tab.total) p1 = tab.total - 1;
  int si = find_segment(tab, p0);
  if (find_segment(tab, p1) != si) return false;
  const Segment& s = tab.seg[si];
  ClassIndex c0 = class_index(s, tab.tile, p0 - s.perm_begin);
  ClassIndex c1 = class_index(s, tab.tile, p1 - s.perm_begin);
  if (c0.t != c1.t) return false;
  int last = c1.j < c1.n - 1 ? c1.j : c1.n - 1;
  b.modality = s.modality;
  b.step = s.kind == kIdentity ? 1 : s.stride;
  b.count = last < c0.j ? 0 : last - c0.j + 1;
  b.lo = s.begin + c0.t + c0.j * s.stride;
  b.hi = b.lo + (b.count > 0 ? b.count - 1 : 0) * b.step;
  b.llo = s.local_begin + (b.lo - s.begin);
  b.lhi = s.local_begin + (b.hi - s.begin);
  return true;
}

// ---- Primitive atoms: per-element predicate and per-tile classification -------------------
// Classifiers receive the coordinate ranges of the row tile (q) and column tile (k) already
// chosen (original or modality-local) by the caller; ALL and NONE must be exact claims about
// every valid pair, SOME is always a safe answer.

// lo <= q - k < hi
PJ_HD bool diag_keep(int q, int k, int lo, int hi) {
  int d = q - k;
  return d >= lo && d < hi;
}
PJ_HD Tri diag_classify(int qlo, int qhi, int klo, int khi, int lo, int hi) {
  int dmin = qlo - khi, dmax = qhi - klo;
  if (dmax < lo || dmin >= hi) return kNone;
  if (dmin >= lo && dmax < hi) return kAll;
  return kSome;
}

// b <= x < e
PJ_HD bool range_keep(int x, int b, int e) { return x >= b && x < e; }
PJ_HD Tri range_classify(int xlo, int xhi, int b, int e) {
  if (xhi < b || xlo >= e) return kNone;
  if (xlo >= b && xhi < e) return kAll;
  return kSome;
}

// (x - base) mod stride == phase   (floor modulo; phase in [0, stride))
PJ_HD bool mod_keep(int x, int base, int stride, int phase) {
  return floor_mod(x - base, stride) == phase;
}
PJ_HD Tri mod_classify(int xlo, int xhi, int step, int count, int base, int stride, int phase) {
  if (stride == 1) return kAll;
  if (step == 0 && count > 1) return kSome;  // gathered positions: no progression to reason on
  if (step % stride == 0 || count == 1) {
    return floor_mod(xlo - base, stride) == phase ? kAll : kNone;
  }
  if (step == 1) {
    // First position >= xlo in the class; none inside the tile means no pair is kept.
    int first = xlo + floor_mod(phase - floor_mod(xlo - base, stride), stride);
    return first > xhi ? kNone : kSome;
  }
  return kSome;
}

PJ_HD bool modality_keep(int modality, int want) { return modality == want; }
// Tiles never straddle modalities (segments lie in one span), so this is exact.
PJ_HD Tri modality_classify(int modality, int want) { return modality == want ? kAll : kNone; }

// ---- Dynamic index sets (vertical_slash) ----------------------------------------------------
// The online estimator chooses, per input and (batch, head), a set of key columns (vertical)
// and a set of diagonal offsets q - k (slash). Both live in the run's workspace as a bitmap
// (bit x % 32 of word x / 32: x is chosen) and a prefix count, so membership and "how many
// chosen values in [lo, hi]" are O(1). The slash set is also kept as its pair arrays (below), so
// that a partial tile's row mask is one 32-bit window (slash_bits) instead of a load per
// element.
enum DynamicSet : int { kVerticalSet = 0, kSlashSet = 1 };

struct DynamicSets {
  // bits[set][w] is word w of the set's bitmap, for w < word_count[set] ((size + 31) / 32);
  // words outside read as 0, bits past size are 0.
  const unsigned* bits[2];
  int word_count[2];
  // The slash set's pair arrays, pair_words words each (slash_pair_word): array rho at
  // slash_pairs + rho * pair_words, for rho < 8.
  const unsigned* slash_pairs;
  int pair_words;
  const int* prefix[2];  // prefix[set][x]: chosen values below x (size + 1 entries)
  const int* col_list;   // the chosen vertical columns, ascending
  int col_count;         // entries of col_list
  int size;              // values lie in [0, size): the sequence length
};

PJ_HD int set_words(int size) { return (size + 31) >> 5; }

// Word w of a set's bitmap (0 outside it).
PJ_HD unsigned set_word(const DynamicSets& d, int set, int w) {
  return (w >= 0 && w < d.word_count[set]) ? d.bits[set][w] : 0u;
}

PJ_HD bool set_keep(const DynamicSets& d, int set, int x) {
  return x >= 0 && x < d.size && ((set_word(d, set, x >> 5) >> (x & 31)) & 1u) != 0;
}

// Chosen values in [xlo, xhi]: none -> NONE; every value of the range chosen and `dense` (each
// value of the range may occur in the tile, so "all chosen" means every pair is kept) -> ALL.
PJ_HD Tri set_classify(const DynamicSets& d, int set, int xlo, int xhi, bool dense) {
  int lo = xlo < 0 ? 0 : xlo, hi = xhi >= d.size ? d.size - 1 : xhi;
  if (lo > hi) return kNone;
  int n = d.prefix[set][hi + 1] - d.prefix[set][lo];
  if (n == 0) return kNone;
  if (dense && lo == xlo && hi == xhi && n == hi - lo + 1) return kAll;
  return kSome;
}

// ---- Column bits: a row's kept columns of one thread's share of a column tile ------------------
// A partial tile's mask, per row, in a handful of integer operations instead of the predicate per
// element (which, on tiles with a few partial columns, cost more than the tile's MMAs). In the
// m16n8 accumulator layout (both kernel families' score fragments), lane L holds the columns
//   col(j) = (j / 2) * 8 + 2 * (L % 4) + j % 2,   j < 2 * n8 (n8 = BlockN / 8 fragments),
// and bit j of a row's word says whether column col(j) of the tile is kept. col(j) grows with j,
// so an interval of tile columns is a run of bits: diagonal and key-range atoms are an interval
// of columns for a fixed row (positions lo + col * step), query-side atoms all or none, and only
// key residues on other steps and the dynamic sets are evaluated per element.
struct ColumnLanes {
  int base;   // 2 * (lane % 4): the first column of the lane in each 8-column fragment
  int n8;     // 8-column fragments in a tile row (2 * n8 <= 32)
  int count;  // valid columns of the tile; later ones are padding, never kept
};

PJ_HD ColumnLanes column_lanes(int lane, int n8, int count) {
  ColumnLanes c;
  c.base = (lane & 3) * 2;
  c.n8 = n8;
  c.count = count;
  return c;
}

// Floor division for b > 0; a step of 1 (every identity segment) needs no division.
PJ_HD int floor_div(int a, int b) {
  if (b == 1) return a;
  int q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
// Parameters clamped to [-kPosInf, kPosInf]: a position (< 2^30) minus one of them fits an int.
PJ_HD int clamp_bound(int x) { return x < -kPosInf ? -kPosInf : (x > kPosInf ? kPosInf : x); }

// The bits j with col(j) < x.
PJ_HD unsigned lanes_below(const ColumnLanes& c, int x) {
  int y = x - c.base;
  if (y <= 0) return 0u;
  int n = 2 * c.n8;
  if (y < 8 * c.n8) {
    int rem = y & 7;
    n = 2 * (y >> 3) + (rem < 2 ? rem : 2);
  }
  return n >= 32 ? 0xffffffffu : (1u << n) - 1u;
}

// Tile columns [a, b), valid ones only.
PJ_HD unsigned span_bits(const ColumnLanes& c, int a, int b) {
  if (a < 0) a = 0;
  if (b > c.count) b = c.count;
  if (a >= b) return 0u;
  return lanes_below(c, b) & ~lanes_below(c, a);
}

PJ_HD unsigned valid_bits(const ColumnLanes& c) { return span_bits(c, 0, c.count); }
PJ_HD unsigned all_bits(bool keep) { return keep ? 0xffffffffu : 0u; }

// diag_keep(q, klo + col * step, lo, hi): lo <= d - col * step < hi with d = q - klo.
PJ_HD unsigned diag_bits(const ColumnLanes& c, int q, int klo, int step, int lo, int hi) {
  int d = q - klo;
  return span_bits(c, floor_div(d - clamp_bound(hi), step) + 1,
                   floor_div(d - clamp_bound(lo), step) + 1);
}

// range_keep(klo + col * step, b, e): col in [ceil((b - klo) / step), ceil((e - klo) / step)).
PJ_HD unsigned krange_bits(const ColumnLanes& c, int klo, int step, int b, int e) {
  return span_bits(c, -floor_div(klo - clamp_bound(b), step),
                   -floor_div(klo - clamp_bound(e), step));
}

// Bit j of the word, for each valid column col(j) that keep(col) keeps (the per-element path).
template <class Keep>
PJ_HD unsigned each_bits(const ColumnLanes& c, Keep keep) {
  unsigned bits = 0;
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#pragma unroll 1
#endif
  for (int j = 0; j < 2 * c.n8; ++j) {
    int col = (j >> 1) * 8 + c.base + (j & 1);
    if (col < c.count && keep(col)) bits |= 1u << j;
  }
  return bits;
}

PJ_HD unsigned bit_reverse(unsigned x) {
#if defined(__CUDA_ARCH__)
  return __brev(x);
#else
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
  return (x >> 16) | (x << 16);
#endif
}

// The slash set's pair arrays. A lane's columns of a tile row are base + 8 m + e (m < n8, e < 2),
// at offsets q - k = D - 8 m - e (D = q - klo - base on consecutive positions): for each m a
// pair of adjacent offsets, 8 apart from the next m's. Pair array rho (< 8) holds, as entry k
// (bits 2 k and 2 k + 1), whether offsets 8 k + rho - 1 and 8 k + rho are chosen; so a lane's
// 2 n8 bits of a row are n8 consecutive entries of array D mod 8 (D & 7), ending at entry
// floor(D / 8) (D >> 3; D may be negative): one window of the array, reversed (slash_bits). Entries
// reach offset size: slash_pair_words.
PJ_HD int slash_pair_words(int size) { return ((size >> 3) + 16) >> 4; }

// Word w of pair array rho (entries 16 w .. 16 w + 15), from the slash bitmap: entry k's bits are
// bits 8 k + rho - 1 and 8 k + rho of the bitmap, and entries 16 w + 4 i .. + 3 read word 4 w + i
// (and the top bit of the word below, for offset 8 k + rho - 1 when rho is 0).
PJ_HD unsigned slash_pair_word(const DynamicSets& d, int rho, int w) {
  unsigned out = 0;
  for (int i = 0; i < 4; ++i) {
    const unsigned long long v =
        (static_cast<unsigned long long>(set_word(d, kSlashSet, 4 * w + i)) << 1) |
        (set_word(d, kSlashSet, 4 * w + i - 1) >> 31);
    for (int t = 0; t < 4; ++t) {
      out |= static_cast<unsigned>((v >> (8 * t + rho)) & 3u) << (2 * (4 * i + t));
    }
  }
  return out;
}

// Bits [start, start + 32) of pair array rho (0 outside the array).
PJ_HD unsigned pair_window(const DynamicSets& d, int rho, int start) {
  const unsigned* a = d.slash_pairs + rho * d.pair_words;
  const int w = start >> 5, shift = start & 31;
  const unsigned lo = (w >= 0 && w < d.pair_words) ? a[w] : 0u;
  if (shift == 0) return lo;
  const unsigned hi = (w + 1 >= 0 && w + 1 < d.pair_words) ? a[w + 1] : 0u;
  return (lo >> shift) | (hi << (32 - shift));
}

// set_keep(d, kSlashSet, q - (klo + col * step)) per column. On consecutive positions, entries
// K - n8 + 1 .. K (K = floor(D / 8)) of pair array D mod 8 (see above), bit-reversed: entry K - m
// lands on bits 2 m (offset D - 8 m) and 2 m + 1 (offset D - 8 m - 1), the lane's columns
// base + 8 m and base + 8 m + 1. Columns past the tile's count are the caller's to clear.
PJ_HD unsigned slash_bits(const ColumnLanes& c, const DynamicSets& d, int q, int klo, int step) {
  if (step != 1) {
    return each_bits(c, [&](int col) { return set_keep(d, kSlashSet, q - (klo + col * step)); });
  }
  const int top = q - klo - c.base;
  const unsigned window = pair_window(d, top & 7, 2 * ((top >> 3) - c.n8 + 1));
  return bit_reverse(window) >> (32 - 2 * c.n8);
}

// mod_keep(klo + col * step, base, stride, phase): constant on a tile whose step is a multiple
// of the stride (a residue class of the grid permutation); on consecutive positions every
// stride-th column, walked directly; per element otherwise.
PJ_HD unsigned kmod_bits(const ColumnLanes& c, int klo, int step, int base, int stride, int phase) {
  if (step % stride == 0) return all_bits(mod_keep(klo, base, stride, phase));
  if (step != 1) {
    return each_bits(c, [&](int col) { return mod_keep(klo + col * step, base, stride, phase); });
  }
  if (phase < 0 || phase >= stride) return 0u;
  unsigned bits = 0;
  for (int col = floor_mod(phase - floor_mod(klo - base, stride), stride); col < c.count;
       col += stride) {
    if ((col & 6) == c.base) bits |= 1u << ((col >> 3) * 2 + (col & 1));
  }
  return bits;
}

// Tile t of the gathered column space (the chosen vertical columns, BlockN per tile). The
// positions are ascending but not a progression: step 0 tells classifiers so.
PJ_HD Bounds gathered_bounds(const DynamicSets& d, int t, int tile) {
  Bounds b;
  int first = t * tile;
  int left = d.col_count - first;
  b.count = left <= 0 ? 0 : (left < tile ? left : tile);
  b.lo = b.count > 0 ? d.col_list[first] : 0;
  b.hi = b.count > 0 ? d.col_list[first + b.count - 1] : 0;
  b.llo = b.lhi = -1;
  b.step = 0;
  b.modality = kOther;
  return b;
}

}  // namespace sem
}  // namespace permjit
