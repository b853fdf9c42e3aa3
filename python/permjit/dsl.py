"""The permjit pattern DSL in Python: the same values as the C++ DSL (dsl/.../Pattern.h).

    from permjit import causal, sink, local, rows, grid, SpanRef
    head = causal() & (sink(1024) | local(1024) | rows(SpanRef.last(60)) | grid(14, 0, 0))

A Pattern is its JSON node (docs/json-schema.md). Every constructor hands the node to the C++
DSL through libpermjit.so, which checks it (errors are InvalidPatternError with the JSON path,
e.g. "pattern.n: ...") and writes it back in canonical form: unions and intersections flattened,
every field written. So validation, equality and the reference mask are the C++ rules, never a
Python copy of them.
"""

from __future__ import annotations

import ctypes
import json
from typing import Iterable, Mapping, Sequence

from . import _lib
from .errors import InvalidArgumentError
from .layout import Layout, as_layout

MODALITIES = ("vision", "text", "other")


def _modality(name, field: str) -> str:
    if name not in MODALITIES:
        raise InvalidArgumentError(f"{field}: unknown modality {name!r}; allowed: vision, text, other")
    return name


class SpanRef:
    """A set of positions along one axis, resolved against a layout and length (Pattern.h)."""

    __slots__ = ("_node",)

    def __init__(self, node: Mapping):
        self._node = dict(node)

    @staticmethod
    def all() -> "SpanRef":
        return SpanRef({"all": True})

    @staticmethod
    def range(begin: int, end: int) -> "SpanRef":
        return SpanRef({"range": [_lib.require_int(begin, "range.begin"),
                                  _lib.require_int(end, "range.end")]})

    @staticmethod
    def modality(name: str) -> "SpanRef":
        return SpanRef({"modality": _modality(name, "modality")})

    @staticmethod
    def last(count: int) -> "SpanRef":
        return SpanRef({"last": _lib.require_int(count, "last")})

    def to_dict(self) -> dict:
        return dict(self._node)

    def __eq__(self, other) -> bool:
        return isinstance(other, SpanRef) and self._node == other._node

    def __hash__(self) -> int:
        return hash(json.dumps(self._node, sort_keys=True))

    def __repr__(self) -> str:
        (key, value), = self._node.items()
        return f"SpanRef.{key}({'' if key == 'all' else value})"


VISION = SpanRef.modality("vision")


def _span(span, field: str) -> dict:
    if span is None:
        return VISION.to_dict()
    if isinstance(span, SpanRef):
        return span.to_dict()
    raise InvalidArgumentError(f"{field}: expected a SpanRef, got {type(span).__name__}")


class Pattern:
    """An immutable attention pattern: which (query, key) pairs a head keeps."""

    __slots__ = ("_json", "_node")

    def __init__(self, node):
        """From a JSON node (a dict or its text), checked and canonicalized by the C++ DSL."""
        text = node if isinstance(node, str) else json.dumps(node)
        self._json = _lib.call_text("permjit_pattern_canonical_json", text.encode())
        self._node = json.loads(self._json)

    # ---- JSON ---------------------------------------------------------------------------------

    @staticmethod
    def from_json(text) -> "Pattern":
        """A bare pattern node, or a pattern file ({"permjit": 1, "pattern": ...}; its name and
        layout are dropped here: PatternFile.from_json keeps them). Text or an already parsed
        dict."""
        value = json.loads(text) if isinstance(text, (str, bytes)) else text
        if isinstance(value, dict) and "permjit" in value:
            return PatternFile.from_json(value).pattern
        return Pattern(value)

    def to_json(self, indent: int | None = None) -> str:
        """The canonical JSON node (docs/json-schema.md)."""
        if indent is None:
            return self._json
        return json.dumps(self._node, indent=indent, sort_keys=True)

    def to_dict(self) -> dict:
        return json.loads(self._json)

    @property
    def kind(self) -> str:
        return self._node["kind"]

    # ---- values -------------------------------------------------------------------------------

    def __eq__(self, other) -> bool:
        return isinstance(other, Pattern) and self._json == other._json

    def __hash__(self) -> int:
        return hash(self._json)

    def __str__(self) -> str:
        """The one-line DSL text of the C++ Pattern::str(), e.g. "causal() & (sink(4) | ...)"."""
        return _lib.call_text("permjit_pattern_text", self._json.encode())

    def __repr__(self) -> str:
        return f"Pattern({self})"

    def __or__(self, other: "Pattern") -> "Pattern":
        return union_of([self, _pattern(other, "|")])

    def __and__(self, other: "Pattern") -> "Pattern":
        return intersect_of([self, _pattern(other, "&")])

    @property
    def is_dynamic(self) -> bool:
        """True when the pattern needs per-input indices (vertical_slash, grid_estimated)."""
        out = ctypes.c_int()
        _lib.check(_lib.lib().permjit_pattern_is_dynamic(self._json.encode(), ctypes.byref(out)))
        return bool(out.value)

    def validate(self, layout=None, seq_len: int = 0) -> None:
        """permjit::validate: the pattern against a layout and length (InvalidPatternError)."""
        _lib.check(_lib.lib().permjit_pattern_validate(
            self._json.encode(), as_layout(layout).to_json().encode(),
            _lib.require_int(seq_len, "seq_len")))

    def mask(self, layout=None, seq_len: int | None = None, *, vertical=None, slash=None,
             grid=None, later_atoms=None):
        """The seq_len x seq_len reference mask (numpy bool, [q, k]) of the C++ keptMask.

        layout: a Layout (None: every position `other`). seq_len defaults to the layout's end.
        Dynamic patterns need their indices: vertical / slash (vertical_slash's key columns and
        diagonal offsets; its first atom's when the pattern has one per q_boundary modality,
        the others' in later_atoms: a list of {"vertical", "slash"}, as estimated_indices
        returns them) and grid=(stride, phase_q, phase_k) for grid_estimated. Costs
        seq_len**2 bytes: meant for small S (checks, pictures, FlexAttention parity).
        """
        import numpy as np

        layout = as_layout(layout)
        if seq_len is None:
            seq_len = layout.end
        seq_len = _lib.require_int(seq_len, "seq_len")
        if seq_len < 1:
            raise InvalidArgumentError(f"seq_len: must be >= 1, got {seq_len}")
        indices = None
        keep = []
        def fill_sets(target, sets):
            for name, values in sets.items():
                if values is None:
                    continue
                array = np.ascontiguousarray(np.asarray(values, dtype=np.int64).reshape(-1))
                keep.append(array)
                setattr(target, name, array.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)))
                setattr(target, "num_" + name, array.size)

        if any(x is not None for x in (vertical, slash, grid, later_atoms)):
            indices = _lib.DynamicIndices()
            fill_sets(indices, {"vertical": vertical, "slash": slash})
            if later_atoms:
                atoms = (_lib.VerticalSlashSets * len(later_atoms))()
                for i, atom in enumerate(later_atoms):
                    if not isinstance(atom, dict):
                        raise InvalidArgumentError(
                            f"later_atoms[{i}]: expected a dict with 'vertical' and 'slash', got "
                            f"{type(atom).__name__}")
                    fill_sets(atoms[i], {"vertical": atom.get("vertical"),
                                         "slash": atom.get("slash")})
                keep.append(atoms)
                indices.later_atoms = atoms
                indices.num_later_atoms = len(later_atoms)
            if grid is not None:
                stride, phase_q, phase_k = (_lib.require_int(x, "grid") for x in grid)
                indices.has_grid = 1
                indices.grid_stride, indices.grid_phase_q, indices.grid_phase_k = (
                    stride, phase_q, phase_k)
        out = np.empty((seq_len, seq_len), dtype=np.uint8)
        _lib.check(_lib.lib().permjit_pattern_mask(
            self._json.encode(), layout.to_json().encode(), seq_len,
            ctypes.byref(indices) if indices is not None else None,
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), out.size))
        return out.view(np.bool_)

    def to_mask_mod(self, layout=None, seq_len: int | None = None, device=None, **indices):
        """A FlexAttention mask_mod (b, h, q_idx, kv_idx) -> bool over this pattern's reference
        mask (mask() on `device`), for parity checks against torch's flex_attention."""
        import torch

        table = torch.from_numpy(self.mask(layout, seq_len, **indices).copy())
        if device is not None:
            table = table.to(device)

        def mask_mod(b, h, q_idx, kv_idx):
            return table[q_idx, kv_idx]

        return mask_mod


def _pattern(value, field: str) -> Pattern:
    if not isinstance(value, Pattern):
        raise InvalidArgumentError(f"{field}: expected a Pattern, got {type(value).__name__}")
    return value


class PatternFile:
    """A pattern file: name, pattern and optional layout (docs/json-schema.md, top level)."""

    def __init__(self, pattern: Pattern, name: str = "", layout=None):
        self.pattern = _pattern(pattern, "pattern")
        self.name = name
        self.layout = None if layout is None else as_layout(layout)

    @staticmethod
    def from_json(text) -> "PatternFile":
        raw = text if isinstance(text, (str, bytes)) else json.dumps(text)
        raw = raw.decode() if isinstance(raw, bytes) else raw
        canonical = json.loads(_lib.call_text("permjit_pattern_file_canonical_json", raw.encode()))
        layout = canonical.get("layout")
        return PatternFile(Pattern(canonical["pattern"]), canonical.get("name", ""),
                           None if layout is None else Layout.from_json(layout))

    @staticmethod
    def load(path) -> "PatternFile":
        with open(path, encoding="utf-8") as f:
            return PatternFile.from_json(f.read())

    def to_json(self) -> str:
        """The file as permjit::dumpPatternFile writes it."""
        value = {"permjit": 1, "name": self.name, "pattern": self.pattern.to_dict()}
        if self.layout is not None:
            value["layout"] = self.layout.to_dict()
        return _lib.call_text("permjit_pattern_file_canonical_json", json.dumps(value).encode())

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())


# ---- atoms ------------------------------------------------------------------------------------


def causal() -> Pattern:
    """k <= q."""
    return Pattern({"kind": "causal"})


def sink(n: int) -> Pattern:
    """k < n (no causality of its own)."""
    return Pattern({"kind": "sink", "n": _lib.require_int(n, "sink.n")})


def local(window: int) -> Pattern:
    """0 <= q - k < window."""
    return Pattern({"kind": "local", "window": _lib.require_int(window, "local.window")})


def grid(stride: int, phase_q: int, phase_k: int, span: SpanRef | None = None) -> Pattern:
    """hlines(stride, phase_q, span) | vlines(stride, phase_k, span); span defaults to vision."""
    return Pattern({"kind": "grid", "stride": _lib.require_int(stride, "grid.stride"),
                    "phase_q": _lib.require_int(phase_q, "grid.phase_q"),
                    "phase_k": _lib.require_int(phase_k, "grid.phase_k"),
                    "span": _span(span, "grid.span")})


def vlines(stride: int, phase: int, span: SpanRef | None = None) -> Pattern:
    """k in span and residue(k) mod stride == phase (whole columns)."""
    return Pattern({"kind": "vlines", "stride": _lib.require_int(stride, "vlines.stride"),
                    "phase": _lib.require_int(phase, "vlines.phase"),
                    "span": _span(span, "vlines.span")})


def hlines(stride: int, phase: int, span: SpanRef | None = None) -> Pattern:
    """q in span and residue(q) mod stride == phase (whole rows)."""
    return Pattern({"kind": "hlines", "stride": _lib.require_int(stride, "hlines.stride"),
                    "phase": _lib.require_int(phase, "hlines.phase"),
                    "span": _span(span, "hlines.span")})


def rows(span: SpanRef) -> Pattern:
    """q in span (whole rows)."""
    return Pattern({"kind": "rows", "span": _span(span, "rows.span")})


def block(q_span: SpanRef, k_span: SpanRef) -> Pattern:
    """q in q_span and k in k_span."""
    return Pattern({"kind": "block", "q": _span(q_span, "block.q"), "k": _span(k_span, "block.k")})


def vertical_slash(vertical: int, slash: int, last_q: int = 64) -> Pattern:
    """Dynamic: `vertical` key columns and `slash` diagonals, estimated per input."""
    return Pattern({"kind": "vertical_slash",
                    "vertical": _lib.require_int(vertical, "vertical_slash.vertical"),
                    "slash": _lib.require_int(slash, "vertical_slash.slash"),
                    "last_q": _lib.require_int(last_q, "vertical_slash.last_q")})


def grid_estimated(strides: Iterable[int], last_q: int = 64,
                   span: SpanRef | None = None) -> Pattern:
    """Dynamic: grid(s, pq, pk, span) with s among `strides` and both phases chosen per input."""
    return Pattern({"kind": "grid_estimated",
                    "strides": [_lib.require_int(s, "grid_estimated.strides") for s in strides],
                    "last_q": _lib.require_int(last_q, "grid_estimated.last_q"),
                    "span": _span(span, "grid_estimated.span")})


# ---- combinators ------------------------------------------------------------------------------


def union_of(parts: Sequence[Pattern]) -> Pattern:
    """Any part keeps the pair (flattened; one part is that part)."""
    return Pattern({"kind": "union", "of": [_pattern(p, "union_of").to_dict() for p in parts]})


def intersect_of(parts: Sequence[Pattern]) -> Pattern:
    """Every part keeps the pair (flattened; one part is that part)."""
    return Pattern({"kind": "intersect",
                    "of": [_pattern(p, "intersect_of").to_dict() for p in parts]})


def q_boundary(by_query_modality: Mapping[str, Pattern]) -> Pattern:
    """Rows of modality m keep what by_query_modality[m] keeps (original coordinates)."""
    return Pattern({"kind": "q_boundary",
                    "by": {_modality(m, "q_boundary"): _pattern(p, f"q_boundary[{m!r}]").to_dict()
                           for m, p in by_query_modality.items()}})


def boundary_2d(by_modality_pair: Mapping[tuple[str, str], Pattern]) -> Pattern:
    """Pairs with q of modality mq and k of modality mk keep what the block's pattern keeps in
    modality-local coordinates."""
    blocks = []
    for (mq, mk), p in by_modality_pair.items():
        blocks.append({"q": _modality(mq, "boundary_2d"), "k": _modality(mk, "boundary_2d"),
                       "pattern": _pattern(p, f"boundary_2d[{(mq, mk)!r}]").to_dict()})
    return Pattern({"kind": "boundary_2d", "blocks": blocks})


class PermuteBy:
    """How permute() orders positions: by residue class, or gathered by modality."""

    def __init__(self, node: Mapping):
        self._node = dict(node)

    @staticmethod
    def residue(stride: int, span: SpanRef | None = None) -> "PermuteBy":
        return PermuteBy({"residue": {"stride": _lib.require_int(stride, "residue.stride"),
                                      "span": _span(span, "residue.span")}})

    @staticmethod
    def modality(order: Sequence[str] = ()) -> "PermuteBy":
        return PermuteBy({"modality": [_modality(m, "permute.by.modality") for m in order]})

    def to_dict(self) -> dict:
        return json.loads(json.dumps(self._node))


def permute(pattern: Pattern, axes: str, by: PermuteBy) -> Pattern:
    """The same kept set as `pattern`; a hint that fixes the permutation plan.
    axes: "rows", "cols" or "both"."""
    if not isinstance(by, PermuteBy):
        raise InvalidArgumentError(f"permute.by: expected a PermuteBy, got {type(by).__name__}")
    return Pattern({"kind": "permute", "axes": axes, "by": by.to_dict(),
                    "pattern": _pattern(pattern, "permute.pattern").to_dict()})


# ---- MMInference head types (patterns/.../HeadTypes.h, built by the C++ head builders) -------


def head_pattern(head: Mapping) -> Pattern:
    """The pattern of one head in the model-config head form (docs/model-config.md), e.g.
    {"type": "a_shape", "sink": 64, "local": 1024}."""
    return Pattern(_lib.call_text("permjit_head_pattern_json", json.dumps(head).encode()))


def _head_form(value, field: str) -> dict:
    """A block of a boundary head: a Pattern (as a "pattern" head) or a head-form dict."""
    if isinstance(value, Pattern):
        return {"type": "pattern", "pattern": value.to_dict()}
    if isinstance(value, Mapping):
        return dict(value)
    raise InvalidArgumentError(
        f"{field}: expected a Pattern or a head dict, got {type(value).__name__}")


def dense() -> Pattern:
    """The dense causal head: causal()."""
    return head_pattern({"type": "dense"})


def full() -> Pattern:
    """Every pair (meaningful as a boundary_2d block): rows(SpanRef.all()), as the C++
    patterns::full(). (The head form {"type": "full"} is refused outside a boundary_2d block, so
    this one is not built through head_pattern.)"""
    return rows(SpanRef.all())


def a_shape(sink: int, local: int) -> Pattern:
    """causal & (sink | local)."""
    return head_pattern({"type": "a_shape", "sink": sink, "local": local})


def tri_shape(sink: int, local: int, last_q_rows: int) -> Pattern:
    """causal & (sink | local | rows(last(last_q_rows)))."""
    return head_pattern({"type": "tri_shape", "sink": sink, "local": local,
                         "last_q_rows": last_q_rows})


def grid_head(stride: int | None = 14, phase_q: int | None = 0, phase_k: int | None = 0, *,
              span: SpanRef | None = None, sink: int = 0, local: int = 1,
              trailing_text_rows: int = 0, estimate_strides: Sequence[int] | None = None,
              estimate_last_q: int = 64) -> Pattern:
    """The MMInference grid head: causal & (sink | local | rows(last(trailing_text_rows)) |
    grid(stride, phase_q, phase_k, span)); with estimate_strides the grid is
    grid_estimated(estimate_strides, estimate_last_q, span) (stride and phases online)."""
    head = {"type": "grid", "sink": sink, "local": local, "trailing_text_rows": trailing_text_rows,
            "span": _span(span, "grid_head.span")}
    if estimate_strides is not None:
        head["estimate_strides"] = list(estimate_strides)
        head["estimate_last_q"] = estimate_last_q
    else:
        head.update(stride=stride, phase_q=phase_q, phase_k=phase_k)
    return head_pattern(head)


def vertical_slash_head(vertical: int, slash: int, last_q: int = 64) -> Pattern:
    """causal & vertical_slash(vertical, slash, last_q) (dynamic)."""
    return head_pattern({"type": "vertical_slash", "vertical": vertical, "slash": slash,
                         "last_q": last_q})


def q_boundary_head(by_query_modality: Mapping[str, object]) -> Pattern:
    """Rows of modality m keep what its head keeps; values are Patterns or head dicts."""
    return head_pattern({"type": "q_boundary", "by_modality": {
        m: _head_form(h, f"q_boundary_head[{m!r}]") for m, h in by_query_modality.items()}})


def boundary_2d_head(by_block: Mapping[tuple[str, str], object]) -> Pattern:
    """causal & boundary_2d(...): each block's head (a Pattern or head dict) reads
    modality-local coordinates."""
    return head_pattern({"type": "boundary_2d", "blocks": [
        {"q": mq, "k": mk, "head": _head_form(h, f"boundary_2d_head[{(mq, mk)!r}]")}
        for (mq, mk), h in by_block.items()]})
