"""The Python DSL builds the C++ DSL's values: same text, same canonical JSON, same errors."""

import pytest

import permjit
from permjit import (SpanRef, a_shape, block, boundary_2d, boundary_2d_head, causal, dense, full,
                     grid, grid_estimated, grid_head, hlines, intersect_of, local, permute,
                     q_boundary, q_boundary_head, rows, sink, tri_shape, union_of,
                     vertical_slash, vertical_slash_head, vlines)


def test_the_mminference_grid_head_reads_as_the_cpp_text():
    head = causal() & (sink(1024) | local(1024) | rows(SpanRef.last(60)) | grid(14, 0, 0))
    assert str(head) == ("causal() & (sink(1024) | local(1024) | rows(last(60)) | "
                         "grid(14, 0, 0, modality(vision)))")
    assert head.kind == "intersect"
    assert not head.is_dynamic


def test_unions_and_intersections_flatten_and_compare_by_value():
    a, b, c = sink(4), local(8), rows(SpanRef.last(2))
    assert (a | b) | c == a | (b | c) == union_of([a, b, c])
    assert len((a | b | c).to_dict()["of"]) == 3
    assert union_of([a]) == a
    assert intersect_of([causal(), a]) == causal() & a
    assert (a | b) != (b | a)  # order is part of the value, as in C++
    assert hash(a | b) == hash(union_of([a, b]))


def test_atoms_write_every_field():
    assert grid(7, 1, 2).to_dict() == {"kind": "grid", "stride": 7, "phase_q": 1, "phase_k": 2,
                                      "span": {"modality": "vision"}}
    assert vlines(7, 6, SpanRef.last(60)).to_dict()["span"] == {"last": 60}
    assert hlines(2, 1, SpanRef.range(3, 9)).to_dict()["span"] == {"range": [3, 9]}
    assert block(SpanRef.modality("text"), SpanRef.all()).to_dict() == {
        "kind": "block", "q": {"modality": "text"}, "k": {"all": True}}
    assert vertical_slash(1000, 6096).to_dict()["last_q"] == 64
    assert grid_estimated([8, 14]).is_dynamic
    assert vertical_slash(4, 4).is_dynamic


def test_head_types_are_the_cpp_builders():
    assert dense() == causal()
    assert a_shape(4, 64) == causal() & (sink(4) | local(64))
    assert tri_shape(4, 64, 8) == causal() & (sink(4) | local(64) | rows(SpanRef.last(8)))
    assert grid_head(14, 0, 3, sink=4, local=8, trailing_text_rows=2) == causal() & (
        sink(4) | local(8) | rows(SpanRef.last(2)) | grid(14, 0, 3))
    assert grid_head(estimate_strides=[8, 14]).is_dynamic
    assert vertical_slash_head(8, 8, 16) == causal() & vertical_slash(8, 8, 16)
    assert full() == rows(SpanRef.all())
    text_head = causal() & local(4)
    assert q_boundary_head({"text": text_head}) == q_boundary({"text": text_head})
    b2d = boundary_2d_head({("vision", "vision"): a_shape(1, 2), ("text", "vision"): {"type": "full"}})
    assert b2d == causal() & boundary_2d({("vision", "vision"): a_shape(1, 2),
                                          ("text", "vision"): full()})


def test_permute_hints():
    p = permute(grid(14, 0, 0), "both", permjit.PermuteBy.residue(14))
    assert p.to_dict()["by"] == {"residue": {"stride": 14, "span": {"modality": "vision"}}}
    # An empty modality order is the default one, written back in full (as in C++).
    q = permute(causal(), "rows", permjit.PermuteBy.modality([]))
    assert q.to_dict()["by"] == {"modality": ["vision", "text", "other"]}


@pytest.mark.parametrize("make, field", [
    (lambda: sink(-1), "sink.n"),
    (lambda: local(-3), "local.window"),
    (lambda: grid(14, 14, 0), "phase_q"),
    (lambda: grid(0, 0, 0), "stride"),
    (lambda: grid_estimated([1]), "strides"),
    (lambda: a_shape(4, 0), "local"),
    (lambda: grid_head(1, 0, 0), "stride"),
    (lambda: permute(causal(), "diagonal", permjit.PermuteBy.residue(2)), "axes"),
    (lambda: union_of([]), "of"),
])
def test_bad_arguments_are_invalid_pattern_errors_naming_the_field(make, field):
    with pytest.raises(permjit.InvalidPatternError) as error:
        make()
    assert field in str(error.value)
    assert error.value.category == "invalid pattern"
    assert isinstance(error.value, ValueError)


def test_python_type_errors_name_the_argument():
    with pytest.raises(permjit.InvalidArgumentError, match="sink.n: expected an integer"):
        sink(2.5)
    with pytest.raises(permjit.InvalidArgumentError, match="sink.n: expected an integer"):
        sink(True)
    with pytest.raises(permjit.InvalidArgumentError, match="unknown modality 'audio'"):
        SpanRef.modality("audio")
    with pytest.raises(permjit.InvalidArgumentError, match="expected a Pattern"):
        causal() | 3
    with pytest.raises(permjit.InvalidArgumentError, match="expected a SpanRef"):
        rows("last 60")


def test_nested_boundaries_are_refused_by_the_cpp_dsl():
    inner = q_boundary({"text": causal()})
    with pytest.raises(permjit.InvalidPatternError, match="boundar"):
        q_boundary({"vision": inner}).validate(permjit.Layout([("vision", 0, 4)]), 4)
