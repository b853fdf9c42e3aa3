"""Layouts: checked by the C++ Layout, built from spans, from the text-vision-text rule or from
token ids."""

import numpy as np
import pytest

import permjit
from permjit import Layout, Span


def test_spans_in_every_accepted_form():
    a = Layout([("text", 0, 4), {"kind": "vision", "begin": 4, "end": 10}, Span("text", 10, 12)])
    assert a.spans == (Span("text", 0, 4), Span("vision", 4, 10), Span("text", 10, 12))
    assert a.end == 12 and a.count("vision") == 6
    assert a.flat_spans == (1, 0, 4, 0, 4, 10, 1, 10, 12)
    assert Layout.from_json(a.to_json()) == a


def test_text_vision_text_is_the_cpp_rule():
    assert Layout.text_vision_text(12, 2, 3).spans == (
        Span("text", 0, 2), Span("vision", 2, 9), Span("text", 9, 12))
    assert Layout.text_vision_text(12, 0, 0).spans == (Span("vision", 0, 12),)
    with pytest.raises(permjit.InvalidPatternError, match="prefix"):
        Layout.text_vision_text(4, 3, 3)


def test_bad_spans_name_the_span():
    with pytest.raises(permjit.InvalidPatternError, match=r"layout.spans\[1\].begin"):
        Layout([("text", 0, 10), ("vision", 5, 12)])
    with pytest.raises(permjit.InvalidPatternError, match="kind"):
        Layout([("audio", 0, 4)])
    with pytest.raises(permjit.InvalidPatternError, match="frames"):
        Layout([("vision", 0, 10, (2, 2, 2))])
    with pytest.raises(permjit.InvalidArgumentError, match=r"layout.spans\[0\]"):
        Layout([42])


def test_from_token_ids_makes_vision_runs():
    image, video = 151655, 151656
    ids = np.array([1, 2, image, image, image, 3, video, video, 4], dtype=np.int64)
    assert Layout.from_token_ids(ids, {image, video}).spans == (
        Span("text", 0, 2), Span("vision", 2, 5), Span("text", 5, 6), Span("vision", 6, 8),
        Span("text", 8, 9))
    # other_ids (e.g. padding) are left uncovered, which means other.
    assert Layout.from_token_ids([0, 0, 7, 7], {7}, other_ids={0}).spans == (Span("vision", 2, 4),)
    assert Layout.from_token_ids([], {7}).spans == ()


def test_from_modalities():
    assert Layout.from_modalities(["text", "vision", "vision", "other", "text"]).spans == (
        Span("text", 0, 1), Span("vision", 1, 3), Span("text", 4, 5))
