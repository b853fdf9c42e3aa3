"""permjit.viz: the pictures of `permjit viz` as arrays (libpermjit.so renders them) and PNGs
encoded in Python; checked against the reference mask and a decode of the PNG."""

import struct
import zlib

import numpy as np
import pytest

import permjit
from permjit import Layout, SpanRef, causal, grid, local, rows, sink

LAYOUT = Layout([("text", 0, 8), ("vision", 8, 56), ("text", 56, 64)])
GRID_HEAD = causal() & (sink(4) | local(8) | rows(SpanRef.last(4)) | grid(7, 0, 0))


def decode_png(data: bytes) -> np.ndarray:
    """The RGB pixels of an 8-bit RGB PNG whose rows all use filter 0 (what write_png makes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", None, None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 2)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * 3)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(height, width, 3)


def test_the_first_panel_is_the_reference_mask():
    picture = permjit.viz(causal() & local(5), None, 16, max_panel_pixels=64)
    zoom, band = 64 // 16, 6  # short sequences are zoomed; bands are 6 pixels (VizOptions)
    assert picture.cell == 1 and picture.image.dtype == np.uint8
    assert picture.image.shape == (band + 16 * zoom, 2 * (band + 16 * zoom) + 16, 3)
    panel = picture.image[band::zoom, band:band + 16 * zoom:zoom, 0]
    mask = (causal() & local(5)).mask(None, 16)
    assert ((panel == 0) == mask).all() and ((panel == 255) == ~mask).all()


def test_a_grid_head_draws_one_panel_per_pass():
    picture = permjit.viz(GRID_HEAD, LAYOUT, 64, max_panel_pixels=128, pass_split="lines")
    assert len(picture.passes) == 2 and "residue" in picture.passes[1]
    single = permjit.viz(GRID_HEAD, LAYOUT, max_panel_pixels=128, pass_split="single")
    assert len(single.passes) == 1
    assert single.image.shape[1] < picture.image.shape[1]


def test_long_sequences_are_downsampled():
    picture = permjit.viz(causal(), None, 4096, max_panel_pixels=64)
    assert picture.cell == 64
    panel = picture.image[6:, 6:6 + 64, 0].astype(int)
    assert panel[-1, 0] == 0 and panel[0, -1] == 255  # below the diagonal all, above none
    assert 0 < panel[10, 10] < 255  # a diagonal cell is partly kept


def test_write_png_round_trips(tmp_path):
    path = tmp_path / "head.png"
    picture = permjit.viz(GRID_HEAD, LAYOUT, 64, path=path)
    assert (decode_png(path.read_bytes()) == picture.image).all()
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(permjit.InvalidArgumentError, match="max_panel_pixels"):
        permjit.viz(causal(), None, 64, max_panel_pixels=8)
    with pytest.raises(permjit.InvalidArgumentError, match="seq_len"):
        permjit.viz(causal(), None, 0)
    with pytest.raises(permjit.InvalidArgumentError, match="seq_len"):
        permjit.viz(causal(), None, (1 << 24) + 1)
    with pytest.raises(permjit.UnsupportedError, match="vertical_slash"):
        permjit.viz(causal() & permjit.vertical_slash(8, 8, 4), None, 64)
    with pytest.raises(permjit.InvalidArgumentError, match="pattern: a str"):
        permjit.viz("causal", None, 64)
    with pytest.raises(permjit.IoError, match="cannot write PNG"):
        permjit.viz(causal(), None, 16, path=tmp_path / "missing" / "x.png")
    with pytest.raises(permjit.InvalidArgumentError, match="image"):
        permjit.write_png(tmp_path / "y.png", np.zeros((4, 4), np.uint8))
