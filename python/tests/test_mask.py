"""Pattern.mask is the C++ reference keptMask: checked here on small cases worked out by hand."""

import numpy as np
import pytest

import permjit
from permjit import (Layout, SpanRef, block, boundary_2d, causal, grid, grid_estimated, local,
                     q_boundary, rows, sink, vertical_slash)


def m(rows_text):
    """A mask from lines of 0/1, row q first."""
    return np.array([[c == "1" for c in line] for line in rows_text.split()], dtype=bool)


def test_causal():
    assert (causal().mask(None, 4) == m("1000 1100 1110 1111")).all()


def test_sink_has_no_causality_of_its_own():
    assert (sink(2).mask(None, 4) == m("1100 1100 1100 1100")).all()


def test_local_window_and_its_union_with_a_sink():
    assert (local(2).mask(None, 5) == m("10000 11000 01100 00110 00011")).all()
    assert ((causal() & (sink(1) | local(2))).mask(None, 5) ==
            m("10000 11000 11100 10110 10011")).all()


def test_rows_of_the_last_positions():
    assert ((causal() & (local(1) | rows(SpanRef.last(1)))).mask(None, 4) ==
            m("1000 0100 0010 1111")).all()


def test_grid_lines_count_residues_from_the_vision_span():
    # text [0, 2), vision [2, 8): residue = position - 2. grid(3, 0, 1): rows q in {2, 5} and
    # columns k in {3, 6}, inside the vision span only.
    layout = Layout([("text", 0, 2), ("vision", 2, 8)])
    got = grid(3, 0, 1).mask(layout, 8)
    expected = np.zeros((8, 8), dtype=bool)
    expected[[2, 5], :] = True
    expected[:, [3, 6]] = True
    assert (got == expected).all()


def test_block_and_q_boundary():
    layout = Layout([("text", 0, 2), ("vision", 2, 4)])
    assert (block(SpanRef.modality("vision"), SpanRef.modality("text")).mask(layout, 4) ==
            m("0000 0000 1100 1100")).all()
    # Text rows keep local(1) (the diagonal), vision rows keep causal.
    assert (q_boundary({"text": local(1), "vision": causal()}).mask(layout, 4) ==
            m("1000 0100 1110 1111")).all()


def test_boundary_2d_reads_modality_local_coordinates():
    # vision at 0, 2; text at 1, 3. The vision-vision block keeps causal() in vision-local
    # coordinates: (v0, v0), (v1, v0), (v1, v1) -> (0,0), (2,0), (2,2). Nothing else.
    layout = Layout([("vision", 0, 1), ("text", 1, 2), ("vision", 2, 3), ("text", 3, 4)])
    got = boundary_2d({("vision", "vision"): causal()}).mask(layout, 4)
    assert (got == m("1000 0000 1010 0000")).all()


def test_vertical_slash_takes_its_indices():
    got = (causal() & vertical_slash(1, 1)).mask(None, 4, vertical=[0], slash=[0])
    assert (got == m("1000 1100 1010 1001")).all()
    with pytest.raises(permjit.InvalidArgumentError, match="vertical_slash"):
        vertical_slash(1, 1).mask(None, 4)


def test_vertical_slash_per_query_modality_takes_each_atoms_indices():
    # vision at 0..2 and 5..7, text at 3..4; vision's atom keeps column 1 and the main diagonal,
    # text's (later_atoms[0]) column 2 and offset 1.
    layout = Layout([("vision", 0, 3), ("text", 3, 5), ("vision", 5, 8)])
    p = q_boundary({"vision": vertical_slash(1, 1, 4), "text": vertical_slash(1, 1, 4)})
    got = p.mask(layout, 8, vertical=[1], slash=[0],
                 later_atoms=[{"vertical": [2], "slash": [1]}])
    assert (got == m("10000000 01000000 01100000 00100000 00110000 01000100 01000010 "
                     "01000001")).all()
    with pytest.raises(permjit.InvalidArgumentError, match="later_atoms"):
        p.mask(layout, 8, vertical=[1], slash=[0])
    with pytest.raises(permjit.InvalidArgumentError, match=r"later_atoms\[0\]"):
        p.mask(layout, 8, vertical=[1], slash=[0], later_atoms=[[2]])


def test_grid_estimated_takes_its_choice():
    layout = Layout([("vision", 0, 6)])
    got = grid_estimated([2, 3]).mask(layout, 6, grid=(3, 0, 1))
    assert (got == grid(3, 0, 1).mask(layout, 6)).all()


def test_seq_len_defaults_to_the_layout_end():
    layout = Layout.text_vision_text(12, 2, 2)
    assert causal().mask(layout).shape == (12, 12)


def test_layout_that_does_not_fit_the_length_is_refused():
    with pytest.raises(permjit.InvalidPatternError, match="layout"):
        causal().mask(Layout([("vision", 0, 10)]), 8)
    with pytest.raises(permjit.InvalidArgumentError, match="seq_len"):
        causal().mask(None, 0)


def test_a_boundary_naming_a_missing_modality_is_refused():
    with pytest.raises(permjit.InvalidPatternError, match="vision"):
        q_boundary({"vision": causal()}).mask(Layout([("text", 0, 4)]), 4)
