// The permjit pass pipeline, in order (compiler/lib/Pipeline.cpp runs them as named steps).
#ifndef PERMJIT_PASSES_TD
#define PERMJIT_PASSES_TD

include "mlir/Pass/PassBase.td"

def CanonicalizePass : Pass<"permjit-canonicalize", "mlir::ModuleOp"> {
  let summary = "Flatten and simplify the pattern ops of every head";
  let description = [{
    Flattens nested unions and intersections, drops structurally duplicate children, folds
    single-child unions/intersections into their child, and folds causal & local(w) into
    local(w). Dead pattern ops are erased.
  }];
  let dependentDialects = ["::permjit::ir::PermjitDialect"];
}

def PlanPermutationsPass : Pass<"permjit-plan-permutations", "mlir::ModuleOp"> {
  let summary = "Choose the row and column permutation plan of every head";
  let description = [{
    Sets `row_map` / `col_map` on each `permjit.head`: residue classes where hlines (rows) or
    vlines (columns) exist, modality gathers for q_boundary (rows) and boundary_2d (both);
    an explicit `permjit.permute` overrides the axes it names.
  }];
}

def LowerToTileIRPass : Pass<"permjit-lower-to-tile-ir", "mlir::ModuleOp"> {
  let summary = "Lower each permjit.head to a permjit.kernel with one or two passes";
  let description = [{
    Applies the lowering table (causal -> diag(0, inf), sink(n) -> krange(0, n), ...): every
    number becomes a param slot (const / seq_len_minus / count_minus / inf) and the plans
    become map recipes over those slots. Rejects dynamic patterns (vertical_slash).

    `pass-split=lines` splits a head of the form `O1 & ... & On & (T1 | ... | Tm)` (n >= 0)
    whose terms are partly line terms L (holding grid / vlines / hlines) and partly line-free
    terms N, with no line atom among the O's and no boundary or permute anywhere, into
      pass 0: identity maps,               and(O..., or(N...))
      pass 1: the head's row/col plans,    and(O..., or(L...), not(or(N...)))
    i.e. pass 1 keeps (O & L) & !(pass 0's set): every kept pair is in exactly one pass, and
    pass 1 merges into pass 0's output through the softmax statistics. Slots of a pattern op
    lowered in both passes are shared. A head of another shape that holds a line atom, no
    permute, and keeps pairs without its lines (a Q-Boundary or 2D-Boundary head with a grid
    block, a line under an intersection) splits in general form, P its predicate and P0 = P
    with every line atom false:
      pass 0: identity maps,               P0
      pass 1: the head's row/col plans,    and(P, or(its line predicates), not(P0))
    (P is monotone in its atoms, so P & !P0 lies on the lines; the or makes every tile off the
    lines NONE). Other heads get one pass. `auto` is `lines` (measured faster on the MMInference
    grid head; Pipeline.h).
  }];
  let options = [
    Option<"headDim", "head-dim", "int64_t", "128", "head dimension (64 or 128)">,
    Option<"dtype", "dtype", "std::string", "\"bf16\"", "element type: bf16 or fp16">,
    Option<"passSplit", "pass-split", "std::string", "\"single\"",
           "passes per head: single, lines (split line terms into a permuted pass), auto">,
  ];
}

def SelectTileConfigPass : Pass<"permjit-select-tile-config", "mlir::ModuleOp"> {
  let summary = "Set block_m/block_n/warps/stages of every kernel";
  let description = [{
    The default for the kernel's head dim (block_m 128, block_n 64, 4 warps, 2 stages),
    with any option given overriding its field. Runs before classify-tiles because tile
    counts depend on the tile shape.
  }];
  let options = [
    Option<"blockM", "block-m", "int64_t", "0", "rows per CTA (64 or 128; 0: default)">,
    Option<"blockN", "block-n", "int64_t", "0", "keys per step (32, 64 or 128; 0: default)">,
    Option<"warps", "warps", "int64_t", "0", "warps per CTA (4 or 8; 0: default)">,
    Option<"stages", "stages", "int64_t", "0", "pipeline stages (1..3; 0: default)">,
  ];
}

def ClassifyTilesPass : Pass<"permjit-classify-tiles", "mlir::ModuleOp"> {
  let summary = "Count full / partial / empty tiles of every pass when seq_len is known";
  let description = [{
    Builds the row and column segment tables of each pass (Plan.h) and classifies every
    (row tile, column tile) with the shared tile semantics; annotates the pass with the
    counts, the kept-pair bounds and the density. Kernels without seq_len are left alone.
  }];
}

#endif  // PERMJIT_PASSES_TD
