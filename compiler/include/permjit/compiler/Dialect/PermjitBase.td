// The permjit dialect: enums, attributes and types shared by the pattern ops and the tile ops.
#ifndef PERMJIT_BASE_TD
#define PERMJIT_BASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def Permjit_Dialect : Dialect {
  let name = "permjit";
  let summary = "Sparse-attention patterns and the tiles that compute them";
  let description = [{
    Two levels. Pattern ops (`permjit.head` and the ops producing `!permjit.mask`) say which
    (query, key) pairs a head keeps, mirroring the C++ DSL. Tile ops (`permjit.kernel`,
    `permjit.pass` and the `permjit.pred.*` ops producing `!permjit.pred`) say how one kernel
    computes them: row/column index-map recipes, a predicate over parameter slots, and tile
    classification statistics.
  }];
  let cppNamespace = "::permjit::ir";
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    // Defined next to the attribute storage classes (Attributes.cpp).
    void registerAttributesAndTypes();
  }];
}

// ---- Enums --------------------------------------------------------------------------------

def Permjit_Modality : I32EnumAttr<"Modality", "modality of a sequence position", [
    I32EnumAttrCase<"vision", 0>, I32EnumAttrCase<"text", 1>, I32EnumAttrCase<"other", 2>]> {
  let cppNamespace = "::permjit::ir";
}

def Permjit_SpanKind : I32EnumAttr<"SpanKind", "kind of a span reference", [
    I32EnumAttrCase<"all", 0>, I32EnumAttrCase<"range", 1>, I32EnumAttrCase<"modality", 2>,
    I32EnumAttrCase<"last", 3>]> {
  let cppNamespace = "::permjit::ir";
  let genSpecializedAttr = 0;
}

def Permjit_PermuteAxes : I32EnumAttr<"PermuteAxes", "axes a permutation applies to", [
    I32EnumAttrCase<"rows", 0>, I32EnumAttrCase<"cols", 1>, I32EnumAttrCase<"both", 2>]> {
  let cppNamespace = "::permjit::ir";
}

def Permjit_DType : I32EnumAttr<"DType", "element type of Q/K/V", [
    I32EnumAttrCase<"bf16", 0>, I32EnumAttrCase<"fp16", 1>]> {
  let cppNamespace = "::permjit::ir";
}

def Permjit_ParamKind : I32EnumAttr<"ParamKind", "how a parameter slot is bound per call", [
    I32EnumAttrCase<"kConst", 0, "const">, I32EnumAttrCase<"kSeqLenMinus", 1, "seq_len_minus">,
    I32EnumAttrCase<"kCountMinus", 2, "count_minus">, I32EnumAttrCase<"kInf", 3, "inf">]> {
  let cppNamespace = "::permjit::ir";
  let genSpecializedAttr = 0;
}

def Permjit_ParamRole : I32EnumAttr<"ParamRole", "what a parameter slot is for, where a later "
                                    "stage must find it", [
    I32EnumAttrCase<"kNone", 0, "none">, I32EnumAttrCase<"kGridPhaseQ", 1, "grid_phase_q">,
    I32EnumAttrCase<"kGridPhaseK", 2, "grid_phase_k">]> {
  let cppNamespace = "::permjit::ir";
  let genSpecializedAttr = 0;
}

// ---- Attributes ---------------------------------------------------------------------------

class Permjit_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Permjit_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Permjit_SpanAttr : Permjit_Attr<"Span", "span"> {
  let summary = "A set of positions along one axis";
  let description = [{
    The DSL's SpanRef: `all`, `range B, E` (positions [B, E)), `modality M` (every position of
    modality M), `last N` (the last N positions of the sequence, or of the modality inside a
    2D-boundary block).

    Example: `#permjit.span<range 812, 1000>`, `#permjit.span<modality vision>`,
    `#permjit.span<last 60>`, `#permjit.span<all>`.
  }];
  // range: a = begin, b = end; modality: a = modality code; last: a = count.
  let parameters = (ins "::permjit::ir::SpanKind":$kind, "int64_t":$a, "int64_t":$b);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Permjit_LayoutSpanAttr : Permjit_Attr<"LayoutSpan", "layout_span"> {
  let summary = "One modality span [begin, end) of a layout";
  let description = [{
    Example: `#permjit.layout_span<vision 812, 129940>`.
  }];
  let parameters = (ins "::permjit::ir::Modality":$modality, "int64_t":$begin, "int64_t":$end);
  let assemblyFormat = "`<` $modality $begin `,` $end `>`";
  let genVerifyDecl = 1;
}

def Permjit_PlanAttr : Permjit_Attr<"Plan", "plan"> {
  let summary = "Permutation plan of one axis at the pattern level";
  let description = [{
    Gather positions by modality in the given order, and/or order the positions of a span by
    residue class (pos - begin) mod stride. The pattern-level form of a map recipe: values,
    not parameter slots.

    Example: `#permjit.plan<identity>`, `#permjit.plan<gather [vision, text, other]>`,
    `#permjit.plan<residue 14 over #permjit.span<modality vision>>`.
  }];
  let parameters = (ins OptionalArrayRefParameter<"::permjit::ir::Modality">:$gather,
                        "int64_t":$stride, OptionalParameter<"::permjit::ir::SpanAttr">:$span);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isIdentity() const { return getGather().empty() && getStride() == 0; }
  }];
}

def Permjit_RecipeAttr : Permjit_Attr<"Recipe", "recipe"> {
  let summary = "Index-map recipe of one axis of a kernel pass (KernelSpec MapRecipe)";
  let description = [{
    Like `#permjit.plan`, with every number a parameter slot `p[i]` of the enclosing kernel.
    The residue permutation applies to the spans of one modality (`over vision`) or to the
    part of every span inside [p[b], p[e]) (`over p[b], p[e]`).

    Example: `#permjit.recipe<identity>`,
    `#permjit.recipe<gather [vision, text], residue p[3] over vision>`,
    `#permjit.recipe<residue p[0] over p[1], p[2]>`.
  }];
  let parameters = (ins OptionalArrayRefParameter<"::permjit::ir::Modality">:$gather,
                        "int32_t":$stride_slot, "int32_t":$residue_modality,
                        "int32_t":$begin_slot, "int32_t":$end_slot);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Permjit_ParamAttr : Permjit_Attr<"Param", "param"> {
  let summary = "One runtime parameter slot of a kernel";
  let description = [{
    A named value bound per call: a constant of the pattern, S - n (`seq_len_minus n`),
    count(modality) - n (`count_minus M n`), or "infinity" (`inf`).

    An optional trailing role marks a slot that a later stage looks up: `role grid_phase_q` /
    `role grid_phase_k` on the q / k phase of a grid (a grid_estimated pattern's kernels read
    the estimated phases into them). Only const slots take a role; no role is printed as none.

    Example: `#permjit.param<"grid.stride" const 14>`, `#permjit.param<"rows.begin"
    seq_len_minus 60>`, `#permjit.param<"q.last" count_minus text 60>`,
    `#permjit.param<"inf" inf>`, `#permjit.param<"grid.q.phase" const 0 role grid_phase_q>`.
  }];
  let parameters = (ins StringRefParameter<>:$name, "::permjit::ir::ParamKind":$kind,
                        "int64_t":$value, "int32_t":$modality,
                        "::permjit::ir::ParamRole":$role);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

// ---- Types --------------------------------------------------------------------------------

def Permjit_MaskType : TypeDef<Permjit_Dialect, "Mask"> {
  let mnemonic = "mask";
  let summary = "A set of kept (query, key) pairs";
  let description = [{ Produced by pattern ops. Example: `!permjit.mask`. }];
}

def Permjit_PredType : TypeDef<Permjit_Dialect, "Pred"> {
  let mnemonic = "pred";
  let summary = "A per-pair predicate over parameter slots (tile IR)";
  let description = [{ Produced by `permjit.pred.*` ops. Example: `!permjit.pred`. }];
}

#endif  // PERMJIT_BASE_TD
