// permjit ops: pattern level (what is kept) and tile level (how one kernel computes it).
#ifndef PERMJIT_OPS_TD
#define PERMJIT_OPS_TD

include "permjit/compiler/Dialect/PermjitBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Permjit_Op<string mnemonic, list<Trait> traits = []>
    : Op<Permjit_Dialect, mnemonic, traits>;

def Permjit_LayoutAttrC : TypedArrayAttrBase<Permjit_LayoutSpanAttr, "layout spans">;
def Permjit_ParamTableC : TypedArrayAttrBase<Permjit_ParamAttr, "param slot table">;

// ==== Pattern level =========================================================================

def Permjit_HeadOp : Permjit_Op<"head", [Symbol, IsolatedFromAbove]> {
  let summary = "One attention head's sparsity pattern";
  let description = [{
    Holds the pattern ops of one head; the `permjit.yield` terminator names the kept set.
    `layout` lists the modality spans (positions outside them are `other`); `seq_len` is set
    when the sequence length is known at compile time. plan-permutations adds `row_map` and
    `col_map`.

    Example:
    ```mlir
    permjit.head @grid_head attributes {seq_len = 4096 : i64,
        layout = [#permjit.layout_span<text 0, 812>, #permjit.layout_span<vision 812, 4036>]} {
      %0 = permjit.causal
      %1 = permjit.grid stride 14 phase 0, 0 over <modality vision>
      %2 = permjit.intersect %0, %1
      permjit.yield %2 : !permjit.mask
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, OptionalAttr<I64Attr>:$seq_len,
                       Permjit_LayoutAttrC:$layout, OptionalAttr<Permjit_PlanAttr>:$row_map,
                       OptionalAttr<Permjit_PlanAttr>:$col_map);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Value getRoot();
  }];
}

def Permjit_YieldOp : Permjit_Op<"yield", [Terminator, Pure,
    ParentOneOf<["HeadOp", "PassOp"]>]> {
  let summary = "Names the kept set of a head or the predicate of a pass";
  let description = [{
    Example: `permjit.yield %2 : !permjit.mask` (in a head),
    `permjit.yield %5 : !permjit.pred` (in a pass).
  }];
  let arguments = (ins AnyTypeOf<[Permjit_MaskType, Permjit_PredType]>:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
  let hasVerifier = 1;
}

class Permjit_PatternOp<string mnemonic, list<Trait> traits = []>
    : Permjit_Op<mnemonic, !listconcat([Pure], traits)> {
  let results = (outs Permjit_MaskType:$result);
}

def Permjit_CausalOp : Permjit_PatternOp<"causal"> {
  let summary = "Keeps k <= q";
  let description = [{ Example: `%0 = permjit.causal` }];
  let assemblyFormat = "attr-dict";
}

def Permjit_SinkOp : Permjit_PatternOp<"sink"> {
  let summary = "Keeps the first n keys (k < n)";
  let description = [{ No causality of its own. Example: `%0 = permjit.sink 1024` }];
  let arguments = (ins I64Attr:$n);
  let assemblyFormat = "$n attr-dict";
  let hasVerifier = 1;
}

def Permjit_LocalOp : Permjit_PatternOp<"local"> {
  let summary = "Keeps a causal band 0 <= q - k < window";
  let description = [{ Example: `%0 = permjit.local 1024` }];
  let arguments = (ins I64Attr:$window);
  let assemblyFormat = "$window attr-dict";
  let hasVerifier = 1;
}

def Permjit_GridOp : Permjit_PatternOp<"grid"> {
  let summary = "Horizontal and vertical lines of one stride over a span";
  let description = [{
    hlines(stride, phase_q, span) | vlines(stride, phase_k, span): the MMInference grid head.
    Example: `%0 = permjit.grid stride 14 phase 0, 13 over <modality vision>`
  }];
  let arguments = (ins I64Attr:$stride, I64Attr:$phase_q, I64Attr:$phase_k,
                       Permjit_SpanAttr:$span);
  let assemblyFormat = "`stride` $stride `phase` $phase_q `,` $phase_k `over` $span attr-dict";
  let hasVerifier = 1;
}

def Permjit_VLinesOp : Permjit_PatternOp<"vlines"> {
  let summary = "Whole key columns k in span with residue(k) == phase";
  let description = [{ Example: `%0 = permjit.vlines stride 14 phase 3 over <range 812, 4000>` }];
  let arguments = (ins I64Attr:$stride, I64Attr:$phase, Permjit_SpanAttr:$span);
  let assemblyFormat = "`stride` $stride `phase` $phase `over` $span attr-dict";
  let hasVerifier = 1;
}

def Permjit_HLinesOp : Permjit_PatternOp<"hlines"> {
  let summary = "Whole query rows q in span with residue(q) == phase";
  let description = [{ Example: `%0 = permjit.hlines stride 14 phase 0 over <all>` }];
  let arguments = (ins I64Attr:$stride, I64Attr:$phase, Permjit_SpanAttr:$span);
  let assemblyFormat = "`stride` $stride `phase` $phase `over` $span attr-dict";
  let hasVerifier = 1;
}

def Permjit_RowsOp : Permjit_PatternOp<"rows"> {
  let summary = "Whole query rows of a span";
  let description = [{ Example (trailing text question): `%0 = permjit.rows <last 60>` }];
  let arguments = (ins Permjit_SpanAttr:$span);
  let assemblyFormat = "$span attr-dict";
}

def Permjit_VerticalSlashOp : Permjit_PatternOp<"vertical_slash"> {
  let summary = "Dynamic key columns and diagonals estimated per input";
  let description = [{
    MInference's vertical-slash head: `vertical` key columns and `slash` diagonals, estimated
    from the last `last_q` queries of each input.
    Example: `%0 = permjit.vertical_slash vertical 1000 slash 6096 last_q 64`
  }];
  let arguments = (ins I64Attr:$vertical, I64Attr:$slash, I64Attr:$last_q);
  let assemblyFormat = "`vertical` $vertical `slash` $slash `last_q` $last_q attr-dict";
  let hasVerifier = 1;
}

def Permjit_BlockOp : Permjit_PatternOp<"block"> {
  let summary = "Pairs with q in q_span and k in k_span";
  let description = [{ Example: `%0 = permjit.block <last 60> x <modality vision>` }];
  let arguments = (ins Permjit_SpanAttr:$q_span, Permjit_SpanAttr:$k_span);
  let assemblyFormat = "$q_span `x` $k_span attr-dict";
}

def Permjit_UnionOp : Permjit_PatternOp<"union"> {
  let summary = "Pairs kept by any part";
  let description = [{ Example: `%3 = permjit.union %0, %1, %2` }];
  let arguments = (ins Variadic<Permjit_MaskType>:$parts);
  let assemblyFormat = "$parts attr-dict";
  let hasVerifier = 1;
}

def Permjit_IntersectOp : Permjit_PatternOp<"intersect"> {
  let summary = "Pairs kept by every part";
  let description = [{ Example: `%2 = permjit.intersect %0, %1` }];
  let arguments = (ins Variadic<Permjit_MaskType>:$parts);
  let assemblyFormat = "$parts attr-dict";
  let hasVerifier = 1;
}

def Permjit_QBoundaryOp : Permjit_PatternOp<"q_boundary"> {
  let summary = "Rows of each query modality keep what that modality's pattern keeps";
  let description = [{
    Q-Boundary: a query of modality m keeps what the pattern for m keeps (original
    coordinates); rows of modalities not listed keep nothing.
    Example: `%2 = permjit.q_boundary [vision: %0, text: %1]`
  }];
  let arguments = (ins Variadic<Permjit_MaskType>:$parts, ArrayAttr:$modalities);
  let assemblyFormat = "custom<QCases>($parts, $modalities) attr-dict";
  let hasVerifier = 1;
}

def Permjit_Boundary2DOp : Permjit_PatternOp<"boundary_2d"> {
  let summary = "Each (query modality, key modality) block keeps its own pattern";
  let description = [{
    2D-Boundary: a pair (q, k) with q of modality mq and k of modality mk keeps what the
    pattern of (mq, mk) keeps in modality-local coordinates (ranks among the positions of mq
    and mk), as if the sequence were just that modality. Unlisted blocks keep nothing.
    Example: `%2 = permjit.boundary_2d [(vision, vision): %0, (text, text): %1]`
  }];
  let arguments = (ins Variadic<Permjit_MaskType>:$parts, ArrayAttr:$pairs);
  let assemblyFormat = "custom<PairCases>($parts, $pairs) attr-dict";
  let hasVerifier = 1;
}

def Permjit_PermuteOp : Permjit_PatternOp<"permute"> {
  let summary = "The same kept set, with a fixed permutation plan";
  let description = [{
    A hint: overrides plan-permutations for the given axes.
    Example:
    `%1 = permjit.permute %0 axes both by <residue 14 over #permjit.span<modality vision>>`
  }];
  let arguments = (ins Permjit_MaskType:$input, Permjit_PermuteAxes:$axes,
                       Permjit_PlanAttr:$by);
  let assemblyFormat = "$input `axes` $axes `by` $by attr-dict";
  let hasVerifier = 1;
}

// ==== Tile level ============================================================================

def Permjit_KernelOp : Permjit_Op<"kernel", [Symbol, IsolatedFromAbove, NoTerminator,
    SingleBlock]> {
  let summary = "One sparse-attention kernel: param slots, tile config and passes";
  let description = [{
    The tile-level form of a head (what KernelSpec holds). `params` is the slot table every
    `p[i]` refers to. The tile config (`block_m`, `block_n`, `warps`, `stages`) is set by
    select-tile-config. `seq_len` and `layout`, when known, are kept for classify-tiles; they
    are parameters, not structure. `vertical_slash`, on a head with estimated atoms: four
    values per atom, in atom order: vertical, slash, last_q, and the query modality whose last
    queries the estimator reads (-1: all queries).

    Passes are launched in order; each pass after the first merges its result into the output
    of the ones before through the softmax statistics (log-sum-exp), so the passes' kept sets
    must be disjoint and together the head's (lower-to-tile-ir's pass-split=lines builds them
    so: a later pass excludes what an earlier pass keeps).

    Example:
    ```mlir
    permjit.kernel @grid_head head_dim 128 dtype bf16 attributes {
        params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>]} {
      permjit.pass rows <identity> cols <identity> {
        %0 = permjit.pred.diag lo p[0] hi p[1]
        permjit.yield %0 : !permjit.pred
      }
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, I64Attr:$head_dim, Permjit_DType:$dtype,
                       Permjit_ParamTableC:$params, OptionalAttr<I64Attr>:$block_m,
                       OptionalAttr<I64Attr>:$block_n, OptionalAttr<I64Attr>:$warps,
                       OptionalAttr<I64Attr>:$stages, OptionalAttr<I64Attr>:$seq_len,
                       OptionalAttr<Permjit_LayoutAttrC>:$layout,
                       OptionalAttr<DenseI64ArrayAttr>:$vertical_slash);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat =
      "$sym_name `head_dim` $head_dim `dtype` $dtype attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def Permjit_PassOp : Permjit_Op<"pass", [HasParent<"KernelOp">, IsolatedFromAbove]> {
  let summary = "One launch: row/column index maps and the kept-pair predicate";
  let description = [{
    Rows and columns are visited in the permuted orders of the `rows` and `cols` recipes; the
    region's `permjit.yield` is the predicate. classify-tiles adds `full_tiles`,
    `partial_tiles`, `empty_tiles`, `kept_pairs_min`/`kept_pairs_max` (equal when counted
    exactly) and `density` (kept_pairs_max / S^2). With `gather_vertical`, the columns are
    instead the estimated vertical columns of the run (ascending, gathered from the workspace)
    and `cols` is unused. `atom` names the vertical_slash atom whose estimated sets the pass
    reads (a head holds one per q_boundary modality at most; absent: atom 0).

    Example:
    ```mlir
    permjit.pass rows <residue p[0] over vision> cols <identity> {
      %0 = permjit.pred.true
      permjit.yield %0 : !permjit.pred
    }
    ```
  }];
  let arguments = (ins Permjit_RecipeAttr:$rows, Permjit_RecipeAttr:$cols,
                       OptionalAttr<I64Attr>:$full_tiles, OptionalAttr<I64Attr>:$partial_tiles,
                       OptionalAttr<I64Attr>:$empty_tiles, OptionalAttr<I64Attr>:$kept_pairs_min,
                       OptionalAttr<I64Attr>:$kept_pairs_max, OptionalAttr<F64Attr>:$density,
                       UnitAttr:$gather_vertical, OptionalAttr<I64Attr>:$atom);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "`rows` $rows `cols` $cols attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Value getRoot();
  }];
}

class Permjit_PredOp<string mnemonic, list<Trait> traits = []>
    : Permjit_Op<"pred." # mnemonic, !listconcat([Pure], traits)> {
  let results = (outs Permjit_PredType:$result);
}

def Permjit_PredTrueOp : Permjit_PredOp<"true"> {
  let summary = "Every pair";
  let description = [{ Example: `%0 = permjit.pred.true` }];
  let assemblyFormat = "attr-dict";
}

def Permjit_PredFalseOp : Permjit_PredOp<"false"> {
  let summary = "No pair";
  let description = [{ Example: `%0 = permjit.pred.false` }];
  let assemblyFormat = "attr-dict";
}

def Permjit_PredAndOp : Permjit_PredOp<"and"> {
  let summary = "Conjunction";
  let description = [{ Example: `%2 = permjit.pred.and %0, %1` }];
  let arguments = (ins Variadic<Permjit_PredType>:$parts);
  let assemblyFormat = "$parts attr-dict";
  let hasVerifier = 1;
}

def Permjit_PredOrOp : Permjit_PredOp<"or"> {
  let summary = "Disjunction";
  let description = [{ Example: `%2 = permjit.pred.or %0, %1` }];
  let arguments = (ins Variadic<Permjit_PredType>:$parts);
  let assemblyFormat = "$parts attr-dict";
  let hasVerifier = 1;
}

def Permjit_PredNotOp : Permjit_PredOp<"not"> {
  let summary = "Negation";
  let description = [{ Example: `%1 = permjit.pred.not %0` }];
  let arguments = (ins Permjit_PredType:$input);
  let assemblyFormat = "$input attr-dict";
}

def Permjit_PredDiagOp : Permjit_PredOp<"diag"> {
  let summary = "p[lo] <= q - k < p[hi]";
  let description = [{
    With `local`, q and k are modality-local ranks. Example:
    `%0 = permjit.pred.diag lo p[0] hi p[1]`, `%1 = permjit.pred.diag lo p[2] hi p[3] local`
  }];
  let arguments = (ins I32Attr:$lo, I32Attr:$hi, UnitAttr:$local);
  let assemblyFormat = "`lo` `p` `[` $lo `]` `hi` `p` `[` $hi `]` (`local` $local^)? attr-dict";
  let hasVerifier = 1;
}

class Permjit_RangePredOp<string mnemonic, string axis> : Permjit_PredOp<mnemonic> {
  let summary = "p[begin] <= " # axis # " < p[end]";
  let description = [{
    With `local`, the coordinate is the modality-local rank. Example:
    `%0 = permjit.pred.}] # mnemonic # [{ begin p[0] end p[1]`
  }];
  let arguments = (ins I32Attr:$begin, I32Attr:$end, UnitAttr:$local);
  let assemblyFormat =
      "`begin` `p` `[` $begin `]` `end` `p` `[` $end `]` (`local` $local^)? attr-dict";
  let hasVerifier = 1;
}
def Permjit_PredQRangeOp : Permjit_RangePredOp<"qrange", "q">;
def Permjit_PredKRangeOp : Permjit_RangePredOp<"krange", "k">;

class Permjit_ModPredOp<string mnemonic, string axis> : Permjit_PredOp<mnemonic> {
  let summary = "(" # axis # " - p[base]) mod p[stride] == p[phase]";
  let description = [{
    Floor modulo. With `local`, the coordinate is the modality-local rank. Example:
    `%0 = permjit.pred.}] # mnemonic # [{ base p[0] stride p[1] phase p[2] local`
  }];
  let arguments = (ins I32Attr:$base, I32Attr:$stride, I32Attr:$phase,
                       UnitAttr:$local);
  let assemblyFormat = "`base` `p` `[` $base `]` `stride` `p` `[` $stride `]` `phase` `p` `[` "
                       "$phase `]` (`local` $local^)? attr-dict";
  let hasVerifier = 1;
}
def Permjit_PredQModOp : Permjit_ModPredOp<"qmod", "q">;
def Permjit_PredKModOp : Permjit_ModPredOp<"kmod", "k">;

class Permjit_ModalityPredOp<string mnemonic, string axis> : Permjit_PredOp<mnemonic> {
  let summary = "modality(" # axis # ") == modality";
  let description = [{
    Example: `%0 = permjit.pred.}] # mnemonic # [{ vision`
  }];
  let arguments = (ins Permjit_Modality:$modality);
  let assemblyFormat = "$modality attr-dict";
}
def Permjit_PredQModalityOp : Permjit_ModalityPredOp<"qmodality", "q">;

def Permjit_PredKVerticalOp : Permjit_PredOp<"kvertical"> {
  let summary = "k is one of the run's estimated vertical columns";
  let description = [{
    A dynamic atom of vertical_slash: the key column was chosen by the online estimator of this
    input and (batch, head). Needs the kernel's `vertical_slash` sizes. Example:
    `%0 = permjit.pred.kvertical`
  }];
  let assemblyFormat = "attr-dict";
}

def Permjit_PredSlashOp : Permjit_PredOp<"slash"> {
  let summary = "q - k is one of the run's estimated slash offsets";
  let description = [{
    A dynamic atom of vertical_slash: the diagonal offset q - k was chosen by the online
    estimator of this input and (batch, head). Example: `%0 = permjit.pred.slash`
  }];
  let assemblyFormat = "attr-dict";
}
def Permjit_PredKModalityOp : Permjit_ModalityPredOp<"kmodality", "k">;

#endif  // PERMJIT_OPS_TD
