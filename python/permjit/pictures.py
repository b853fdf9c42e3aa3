"""Pictures of a pattern's kept pairs, as `permjit viz` draws them: the left panel in original
order, then one panel per pass of the plan in that pass's order (grid lines become dense bands),
modality bands along both axes (vision orange, text blue, other grey), long sequences
downsampled (grey level = fraction of a cell's pairs kept, black = all).

    picture = permjit.viz(head, layout, 4096)            # Viz(image, cell, passes)
    picture.image.shape                                   # (height, width, 3) uint8 RGB
    permjit.viz(head, layout, 4096, path="head.png")      # also written as a PNG

The rendering is libpermjit.so's (permjit_pattern_viz_rgb); the PNG is encoded here with zlib
(the library carries no libpng) and written atomically (a temporary file renamed over path).
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import tempfile
import zlib
from collections import namedtuple
from typing import Sequence

from . import _lib
from .dsl import Pattern
from .errors import InvalidArgumentError, IoError
from .layout import as_layout

Viz = namedtuple("Viz", "image cell passes")
Viz.__doc__ = """image: numpy uint8 [height, width, 3]; cell: positions per pixel side (1: exact);
passes: a description of each pass panel (the plan's row and column orders)."""


def viz(pattern: Pattern, layout=None, seq_len: int | None = None, *, path=None,
        head_dim: int = 128, dtype: str = "bf16", tile: Sequence[int] | None = None,
        pass_split: str = "auto", max_panel_pixels: int = 512) -> Viz:
    """The picture of `pattern` over `layout` at seq_len (default: the layout's end), for the
    plan permjit.Runtime.plan builds with the same head_dim / dtype / tile / pass_split.
    max_panel_pixels: each panel at most this many pixels a side (16..8192). path: also write
    it there as a PNG."""
    import numpy as np

    from .runtime import _plan_options  # runtime imports dsl: resolved at call time

    if not isinstance(pattern, Pattern):
        raise InvalidArgumentError(f"pattern: a {type(pattern).__name__}; allowed: a Pattern")
    layout = as_layout(layout)
    if seq_len is None:
        seq_len = layout.end
    seq_len = _lib.require_int(seq_len, "seq_len")
    options = _plan_options(head_dim, dtype, tile, pass_split)
    info_text = ctypes.c_char_p()
    rgb = ctypes.POINTER(ctypes.c_uint8)()
    _lib.check(_lib.lib().permjit_pattern_viz_rgb(
        pattern.to_json().encode(), layout.to_json().encode(), seq_len, ctypes.byref(options),
        _lib.require_int(max_panel_pixels, "max_panel_pixels", 32), ctypes.byref(info_text),
        ctypes.byref(rgb)))
    info = json.loads(info_text.value.decode())
    width, height = info["width"], info["height"]
    # Copied out at once: the library's buffer is reused by this thread's next call.
    image = np.ctypeslib.as_array(rgb, shape=(height * width * 3,)).copy()
    image = image.reshape(height, width, 3)
    if path is not None:
        write_png(path, image)
    return Viz(image, info["cell"], tuple(info["passes"]))


def png_bytes(image) -> bytes:
    """An 8-bit RGB PNG of image (uint8 [height, width, 3])."""
    import numpy as np

    image = np.ascontiguousarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidArgumentError(
            f"image: {image.dtype} {image.shape}; allowed: uint8 [height, width, 3]")
    height, width, _ = image.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, width * 3)],
                          axis=1)  # filter byte 0 (None) before each row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def write_png(path, image) -> None:
    """Writes image as a PNG at path through a temporary file in the same directory, renamed
    over path once complete: a failed write leaves no partial file. IoError names the path."""
    data = png_bytes(image)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, temp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp",
                                    dir=directory)
    except OSError as error:
        raise IoError(f"{path}: cannot write PNG: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except OSError as error:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise IoError(f"{path}: cannot write PNG: {error.strerror}") from None
