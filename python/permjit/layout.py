"""Modality layouts: ordered, non-overlapping spans of vision / text / other positions.

    Layout([("text", 0, 812), ("vision", 812, 32708), ("text", 32708, 32768)])
    Layout.text_vision_text(32768, prefix=812, suffix=60)
    Layout.from_token_ids(input_ids, vision_ids={image_token_id, video_token_id})

Spans are checked by the C++ Layout (order, overlap, emptiness: InvalidPatternError naming
layout.spans[i]); positions no span covers are `other`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from . import _lib
from .errors import InvalidArgumentError


@dataclass(frozen=True)
class Span:
    kind: str  # "vision" | "text" | "other"
    begin: int
    end: int  # [begin, end)
    frames: tuple[int, int, int] | None = None  # (frames, height, width) of a vision span

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "begin": self.begin, "end": self.end}
        if self.frames is not None:
            f, h, w = self.frames
            out["frames"] = {"frames": f, "height": h, "width": w}
        return out

    @staticmethod
    def from_dict(value: dict) -> "Span":
        frames = value.get("frames")
        return Span(value["kind"], value["begin"], value["end"],
                    None if frames is None else (frames["frames"], frames["height"],
                                                 frames["width"]))


def _as_span(value, index: int) -> Span:
    if isinstance(value, Span):
        return value
    if isinstance(value, dict):
        return Span.from_dict(value)
    try:
        kind, begin, end, *rest = value
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"layout.spans[{index}]: expected a Span, a dict or (kind, begin, end[, frames]), "
            f"got {value!r}") from None
    return Span(kind, _lib.require_int(begin, f"layout.spans[{index}].begin"),
                _lib.require_int(end, f"layout.spans[{index}].end"),
                tuple(rest[0]) if rest else None)


class Layout:
    """An immutable modality layout (the C++ permjit::Layout)."""

    __slots__ = ("_json", "spans", "flat_spans")

    def __init__(self, spans: Iterable = ()):
        raw = {"spans": [_as_span(s, i).to_dict() for i, s in enumerate(spans)]}
        self._json = _lib.call_text("permjit_layout_canonical_json", json.dumps(raw).encode())
        self.spans: tuple[Span, ...] = tuple(
            Span.from_dict(s) for s in json.loads(self._json)["spans"])
        # (modality code, begin, end) per span, flat: what the C run arguments and the torch
        # custom op take (plain ints, so torch.compile can guard on them).
        self.flat_spans: tuple[int, ...] = tuple(
            x for s in self.spans for x in (_lib.MODALITIES[s.kind], s.begin, s.end))

    @staticmethod
    def text_vision_text(seq_len: int, prefix: int, suffix: int) -> "Layout":
        """[0, prefix) text, [prefix, seq_len - suffix) vision, [seq_len - suffix, seq_len) text."""
        text = _lib.call_text("permjit_layout_text_vision_text",
                              _lib.require_int(seq_len, "seq_len"),
                              _lib.require_int(prefix, "prefix"),
                              _lib.require_int(suffix, "suffix"))
        return Layout.from_json(text)

    @staticmethod
    def from_modalities(modalities) -> "Layout":
        """One modality name per position ("vision", "text" or "other"); runs become spans
        ("other" positions are left uncovered, which means other)."""
        spans = []
        start = 0
        previous = None
        names = list(modalities)
        for position, name in enumerate(names + [None]):
            if name != previous:
                if previous is not None and previous != "other":
                    spans.append(Span(previous, start, position))
                start, previous = position, name
        return Layout(spans)

    @staticmethod
    def from_token_ids(token_ids, vision_ids: Iterable[int], *, other_ids: Iterable[int] = (),
                       rest: str = "text") -> "Layout":
        """The layout of a token sequence: runs of tokens in vision_ids are vision spans, of
        other_ids other, everything else `rest` (default text). token_ids: a 1-D sequence of
        ints (list, numpy array, CPU torch tensor)."""
        import numpy as np

        ids = np.asarray(token_ids).reshape(-1)
        if ids.size == 0:
            return Layout()
        kind = np.full(ids.shape, _lib.MODALITIES[rest], dtype=np.int8)
        kind[np.isin(ids, np.fromiter(vision_ids, dtype=np.int64))] = _lib.MODALITIES["vision"]
        other = list(other_ids)
        if other:
            kind[np.isin(ids, np.asarray(other, dtype=np.int64))] = _lib.MODALITIES["other"]
        edges = np.flatnonzero(np.diff(kind)) + 1
        begins = np.concatenate([[0], edges])
        ends = np.concatenate([edges, [ids.size]])
        names = {code: name for name, code in _lib.MODALITIES.items()}
        return Layout(Span(names[int(kind[b])], int(b), int(e))
                      for b, e in zip(begins, ends) if names[int(kind[b])] != "other")

    @staticmethod
    def from_json(text) -> "Layout":
        value = json.loads(text) if isinstance(text, (str, bytes)) else text
        if not isinstance(value, dict) or "spans" not in value:
            raise InvalidArgumentError('layout: expected {"spans": [...]}')
        return Layout(value["spans"])

    def to_json(self) -> str:
        return self._json

    def to_dict(self) -> dict:
        return json.loads(self._json)

    @property
    def end(self) -> int:
        """The end of the last span (0 for none)."""
        return self.spans[-1].end if self.spans else 0

    def count(self, kind: str) -> int:
        """Positions of a span of this kind (uncovered positions, which are other, not counted)."""
        return sum(s.end - s.begin for s in self.spans if s.kind == kind)

    def c_spans(self):
        """The spans as a ctypes permjit_span_t array (None for none) and its length."""
        if not self.spans:
            return None, 0
        array = (_lib.CSpan * len(self.spans))()
        for i, s in enumerate(self.spans):
            array[i].modality = _lib.MODALITIES[s.kind]
            array[i].begin = s.begin
            array[i].end = s.end
        return array, len(self.spans)

    def __eq__(self, other) -> bool:
        return isinstance(other, Layout) and self._json == other._json

    def __hash__(self) -> int:
        return hash(self._json)

    def __repr__(self) -> str:
        return "Layout([" + ", ".join(f"{s.kind}[{s.begin},{s.end})" for s in self.spans) + "])"


def as_layout(value) -> Layout:
    """None (no spans), a Layout, or anything Layout() takes."""
    if value is None:
        return Layout()
    if isinstance(value, Layout):
        return value
    return Layout(value)
