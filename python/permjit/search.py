"""The offline per-head pattern search (patterns/.../Search.h, MMInference's Algorithm 4) on
captured arrays: q [heads, S, D] and k [kv_heads, S, D] float32 per calibration input.

    result = permjit.search_heads([(q, k, layout)], recall_budget=0.95, model="m", layer=3)
    result.config            # a ModelConfig of that layer's chosen heads
    result.heads[0]["scores"]  # every candidate's recall and density for head 0
"""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass
from typing import Sequence

from . import _lib
from .config import ModelConfig
from .errors import InvalidArgumentError
from .layout import as_layout


@dataclass
class SearchResult:
    config: ModelConfig
    heads: list[dict]  # per head: {"head", "chosen", "scores": [{"head", "recall", ...}]}


def _array(value, name: str, index: int):
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor: to the host as float32
        value = value.detach().float().cpu().numpy()
    array = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
    if array.ndim != 3:
        raise InvalidArgumentError(
            f"inputs[{index}].{name}: shape {list(array.shape)}; allowed: [heads, seq_len, "
            "head_dim]")
    return array


def search_heads(inputs: Sequence, *, recall_budget: float | None = None,
                 min_gain: float | None = None, scale: float | None = None,
                 candidates: Sequence[dict] | None = None, model: str = "model", layer: int = 0,
                 layout_rules: dict | None = None, device: str = "cpu",
                 dtype: str | None = None) -> SearchResult:
    """Searches each head's type on the calibration inputs: (q, k, layout) triples, q
    [heads, S, D], k [kv_heads, S, D] (numpy or torch, converted to float32 on the host).
    candidates: heads in the model-config head form (a grid head without phases has them
    searched); default: the C++ defaultCandidates (defaultGpuCandidates on the GPU).
    layout_rules: the config's rules (default {"kind": "request"}). device: "cpu" (float64) or
    "gpu" (permjit's kernels on device 0, S up to 1M); dtype: what the GPU search rounds the
    inputs to ("fp16", the default, or "bf16")."""
    entries = []
    keep = []
    for i, item in enumerate(inputs):
        try:
            q, k, layout = item
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"inputs[{i}]: expected (q, k, layout)") from None
        q, k = _array(q, "q", i), _array(k, "k", i)
        layout_json = as_layout(layout).to_json().encode()
        keep += [q, k, layout_json]
        entry = _lib.CalibrationInput()
        entry.q = q.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        entry.k = k.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        entry.heads, entry.seq_len, entry.head_dim = q.shape
        entry.kv_heads = k.shape[0]
        if k.shape[1:] != q.shape[1:]:
            raise InvalidArgumentError(
                f"inputs[{i}].k: shape {list(k.shape)}, q {list(q.shape)}; allowed: the seq_len "
                "and head_dim of q")
        entry.layout_json = layout_json
        entries.append(entry)
    if not entries:
        raise InvalidArgumentError("inputs: none; allowed: at least one (q, k, layout)")
    options = {"model": model, "layer": layer, "device": device}
    for key, value in (("recall_budget", recall_budget), ("min_gain", min_gain),
                       ("scale", scale), ("candidates", candidates),
                       ("layout_rules", layout_rules), ("dtype", dtype)):
        if value is not None:
            options[key] = list(value) if key == "candidates" else value
    array = (_lib.CalibrationInput * len(entries))(*entries)
    text = _lib.call_text("permjit_search_heads_json", array, len(entries),
                          json.dumps(options).encode())
    del keep
    out = json.loads(text)
    return SearchResult(ModelConfig(out["config"]), out["heads"])
