"""ctypes over libpermjit.so's C ABI (include/permjit/permjit*_c.h).

The library is the one in the package (a wheel installs it beside this file), or the one
PERMJIT_LIBRARY names (a source tree: ``PYTHONPATH=python PERMJIT_LIBRARY=build/lib/libpermjit.so``).
The struct layouts below mirror the C headers field for field; python/tests/test_abi.py compares
them with the C compiler's sizeof/offsetof, so a header change that is not mirrored here fails
there instead of corrupting arguments.
"""

from __future__ import annotations

import ctypes
import operator
import os
import threading
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_float,
    c_int,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint64,
    c_void_p,
)
from pathlib import Path

from .errors import InvalidArgumentError, PermjitError, error_for_status

LIBRARY_ENV = "PERMJIT_LIBRARY"

# ---- structs (permjit_c.h) -------------------------------------------------------------------


class RuntimeOptions(Structure):
    _fields_ = [
        ("cache_dir", c_char_p),
        ("disable_cache", c_int),
        ("device_ordinal", c_int),
        ("arch", c_char_p),
        ("host_only", c_int),
    ]


class PlanOptions(Structure):
    _fields_ = [
        ("head_dim", c_int),
        ("dtype", c_int),
        ("block_m", c_int),
        ("block_n", c_int),
        ("warps", c_int),
        ("stages", c_int),
        ("pass_split", c_int),
    ]


class CSpan(Structure):
    _fields_ = [("modality", c_int), ("begin", c_int64), ("end", c_int64)]


Strides3 = c_int64 * 3


class RunArgs(Structure):
    _fields_ = [
        ("q", c_void_p),
        ("k", c_void_p),
        ("v", c_void_p),
        ("o", c_void_p),
        ("lse", c_void_p),
        ("batch", c_int64),
        ("heads", c_int64),
        ("kv_heads", c_int64),
        ("seq_len", c_int64),
        ("head_dim", c_int64),
        ("dtype", c_int),
        ("tensor_layout", c_int),
        ("q_strides", Strides3),
        ("k_strides", Strides3),
        ("v_strides", Strides3),
        ("o_strides", Strides3),
        ("spans", POINTER(CSpan)),
        ("num_spans", c_size_t),
        ("softmax_scale", c_float),
        ("workspace", c_void_p),
        ("workspace_bytes", c_size_t),
        ("reuse_estimate", c_int),
    ]


class CacheStats(Structure):
    _fields_ = [
        ("memory_hits", c_uint64),
        ("disk_hits", c_uint64),
        ("compiles", c_uint64),
        ("corrupt_files", c_uint64),
    ]


# ---- structs (permjit_layer_c.h) -------------------------------------------------------------


class LayerRunArgs(Structure):
    _fields_ = [
        ("q", c_void_p),
        ("k", c_void_p),
        ("v", c_void_p),
        ("o", c_void_p),
        ("lse", c_void_p),
        ("batch", c_int64),
        ("heads", c_int64),
        ("kv_heads", c_int64),
        ("seq_len", c_int64),
        ("dtype", c_int),
        ("tensor_layout", c_int),
        ("q_strides", Strides3),
        ("k_strides", Strides3),
        ("v_strides", Strides3),
        ("o_strides", Strides3),
        ("spans", POINTER(CSpan)),
        ("num_spans", c_size_t),
        ("softmax_scale", c_float),
        ("workspace", c_void_p),
        ("workspace_bytes", c_size_t),
    ]


# ---- structs (permjit_dsl_c.h) ---------------------------------------------------------------


class VerticalSlashSets(Structure):
    _fields_ = [
        ("vertical", POINTER(c_int64)),
        ("num_vertical", c_size_t),
        ("slash", POINTER(c_int64)),
        ("num_slash", c_size_t),
    ]


class DynamicIndices(Structure):
    _fields_ = [
        ("vertical", POINTER(c_int64)),
        ("num_vertical", c_size_t),
        ("slash", POINTER(c_int64)),
        ("num_slash", c_size_t),
        ("has_grid", c_int),
        ("grid_stride", c_int64),
        ("grid_phase_q", c_int64),
        ("grid_phase_k", c_int64),
        ("later_atoms", POINTER(VerticalSlashSets)),
        ("num_later_atoms", c_size_t),
    ]


class CalibrationInput(Structure):
    _fields_ = [
        ("q", POINTER(c_float)),
        ("k", POINTER(c_float)),
        ("heads", c_int64),
        ("kv_heads", c_int64),
        ("seq_len", c_int64),
        ("head_dim", c_int64),
        ("layout_json", c_char_p),
    ]


# The C structs this module mirrors, by their C names (for the ABI test).
STRUCTS = {
    "permjit_runtime_options_t": RuntimeOptions,
    "permjit_plan_options_t": PlanOptions,
    "permjit_span_t": CSpan,
    "permjit_run_args_t": RunArgs,
    "permjit_cache_stats_t": CacheStats,
    "permjit_layer_run_args_t": LayerRunArgs,
    "permjit_dynamic_indices_t": DynamicIndices,
    "permjit_vertical_slash_sets_t": VerticalSlashSets,
    "permjit_calibration_input_t": CalibrationInput,
}

# permjit_dtype_t, permjit_tensor_layout_t, permjit_modality_t, permjit_pass_split_t
DTYPE_PLAN, DTYPE_BF16, DTYPE_FP16 = 0, 1, 2
LAYOUT_BSHD, LAYOUT_BHSD, LAYOUT_STRIDED = 0, 1, 2
MODALITIES = {"vision": 0, "text": 1, "other": 2}
PASS_SPLITS = {"auto": 0, "single": 1, "lines": 2}

_text = POINTER(c_char_p)
_PROTOTYPES = {
    # permjit_c.h
    "permjit_runtime_options_init": (None, [POINTER(RuntimeOptions)]),
    "permjit_plan_options_init": (None, [POINTER(PlanOptions)]),
    "permjit_run_args_init": (None, [POINTER(RunArgs)]),
    "permjit_runtime_create": (c_int, [POINTER(RuntimeOptions), POINTER(c_void_p)]),
    "permjit_runtime_destroy": (None, [c_void_p]),
    "permjit_plan_create": (c_int, [c_void_p, c_char_p, POINTER(PlanOptions), POINTER(c_void_p)]),
    "permjit_plan_destroy": (None, [c_void_p]),
    "permjit_plan_run": (c_int, [c_void_p, POINTER(RunArgs), c_void_p]),
    "permjit_plan_num_passes": (c_int, [c_void_p, POINTER(c_int)]),
    "permjit_plan_is_dynamic": (c_int, [c_void_p, POINTER(c_int)]),
    "permjit_plan_workspace_bytes": (
        c_int,
        [c_void_p, c_int64, c_int64, c_int64, POINTER(c_size_t)],
    ),
    "permjit_plan_key_split_workspace_bytes": (c_int, [c_void_p, POINTER(c_size_t)]),
    "permjit_runtime_cache_stats": (c_int, [c_void_p, POINTER(CacheStats)]),
    "permjit_runtime_cache_clear": (c_int, [c_void_p]),
    "permjit_last_error": (c_char_p, []),
    "permjit_status_name": (c_char_p, [c_int]),
    # permjit_layer_c.h
    "permjit_layer_run_args_init": (None, [POINTER(LayerRunArgs)]),
    "permjit_layer_plan_create_from_json": (
        c_int,
        [c_void_p, c_char_p, c_int, POINTER(PlanOptions), POINTER(c_void_p)],
    ),
    "permjit_layer_plan_destroy": (None, [c_void_p]),
    "permjit_layer_plan_num_heads": (c_int, [c_void_p, POINTER(c_int64)]),
    "permjit_layer_plan_workspace_bytes": (c_int, [c_void_p, c_int64, c_int64, POINTER(c_size_t)]),
    "permjit_layer_plan_run": (c_int, [c_void_p, POINTER(LayerRunArgs), c_void_p]),
    # permjit_dsl_c.h
    "permjit_pattern_canonical_json": (c_int, [c_char_p, _text]),
    "permjit_pattern_text": (c_int, [c_char_p, _text]),
    "permjit_pattern_is_dynamic": (c_int, [c_char_p, POINTER(c_int)]),
    "permjit_pattern_validate": (c_int, [c_char_p, c_char_p, c_int64]),
    "permjit_pattern_mask": (
        c_int,
        [c_char_p, c_char_p, c_int64, POINTER(DynamicIndices), POINTER(c_uint8), c_size_t],
    ),
    "permjit_pattern_file_canonical_json": (c_int, [c_char_p, _text]),
    "permjit_layout_canonical_json": (c_int, [c_char_p, _text]),
    "permjit_layout_text_vision_text": (c_int, [c_int64, c_int64, c_int64, _text]),
    "permjit_head_pattern_json": (c_int, [c_char_p, _text]),
    "permjit_model_config_canonical_json": (c_int, [c_char_p, _text]),
    "permjit_model_config_pattern_json": (c_int, [c_char_p, c_int, c_int, _text]),
    "permjit_model_config_layout_json": (c_int, [c_char_p, c_int64, c_char_p, _text]),
    "permjit_search_heads_json": (c_int, [POINTER(CalibrationInput), c_size_t, c_char_p, _text]),
    "permjit_pattern_viz_rgb": (
        c_int,
        [c_char_p, c_char_p, c_int64, POINTER(PlanOptions), c_int, _text,
         POINTER(POINTER(c_uint8))],
    ),
    # permjit_query_c.h
    "permjit_version": (c_char_p, []),
    "permjit_device_unavailable_reason": (c_int, [_text]),
    "permjit_env_variables_json": (c_int, [_text]),
    "permjit_runtime_arch": (c_int, [c_void_p, _text]),
    "permjit_runtime_has_device": (c_int, [c_void_p, POINTER(c_int)]),
    "permjit_runtime_device_name": (c_int, [c_void_p, _text]),
    "permjit_runtime_kernel_family": (c_int, [c_void_p, _text]),
    "permjit_runtime_cache_dir": (c_int, [c_void_p, _text]),
    "permjit_plan_arch": (c_int, [c_void_p, _text]),
    "permjit_plan_can_run": (c_int, [c_void_p, POINTER(c_int)]),
    "permjit_plan_structure_key": (c_int, [c_void_p, _text]),
    "permjit_plan_source": (c_int, [c_void_p, c_int, _text]),
    "permjit_plan_kernel_name": (c_int, [c_void_p, c_int, _text]),
    "permjit_plan_estimated_indices_json": (c_int, [c_void_p, POINTER(RunArgs), c_void_p, _text]),
}

_lock = threading.Lock()
_library = None


def library_path() -> Path:
    """The libpermjit.so this process loads: $PERMJIT_LIBRARY, else the package's own."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / "libpermjit.so"


def lib() -> ctypes.CDLL:
    """The loaded library, opened on first use with every prototype declared."""
    global _library
    if _library is not None:
        return _library
    with _lock:
        if _library is None:
            path = library_path()
            if not path.is_file():
                how = (
                    f"{LIBRARY_ENV}={path} names no file"
                    if os.environ.get(LIBRARY_ENV)
                    else f"no {path.name} in the package ({path.parent}) and {LIBRARY_ENV} is unset"
                )
                raise PermjitError(
                    f"libpermjit.so: {how}; build it (ninja -C build permjit_shared gives "
                    f"build/lib/libpermjit.so) and set {LIBRARY_ENV}, or pip install ./python"
                )
            # RTLD_LOCAL: the library's symbols never resolve anyone else's (it exports only
            # permjit_* anyway).
            handle = ctypes.CDLL(str(path), mode=os.RTLD_LOCAL)
            for name, (restype, argtypes) in _PROTOTYPES.items():
                function = getattr(handle, name)
                function.restype = restype
                function.argtypes = argtypes
            _library = handle
    return _library


def last_error() -> str:
    return lib().permjit_last_error().decode()


def check(status: int) -> None:
    """Raises the PermjitError of a failed call with this thread's permjit_last_error()."""
    if status != 0:
        raise error_for_status(status, last_error())


def call_text(function_name: str, *args) -> str:
    """Calls a C function whose last parameter is `const char** out` and returns the text."""
    out = c_char_p()
    check(getattr(lib(), function_name)(*args, ctypes.byref(out)))
    return out.value.decode() if out.value is not None else ""


def encode(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def require_int_in(value, name: str, lo: int, hi: int, allowed: str,
                   kind: str = "an integer") -> int:
    """`value` as an int (numpy integers too, not bool) in [lo, hi), or InvalidArgumentError
    naming `name`: not `kind`, or out of range (saying what is `allowed`). ctypes would wrap
    2**32 + 3 to 3 without a word."""
    if not isinstance(value, bool):
        try:
            number = operator.index(value)
        except TypeError:
            pass
        else:
            if lo <= number < hi:
                return number
            raise InvalidArgumentError(f"{name}: {number} is out of range; allowed: {allowed}")
    raise InvalidArgumentError(f"{name}: expected {kind}, got {type(value).__name__} {value!r}")


def require_int(value, name: str, bits: int = 64) -> int:
    """`value` as an int that fits a signed C integer of `bits` bits (require_int_in)."""
    return require_int_in(value, name, -(1 << (bits - 1)), 1 << (bits - 1),
                          f"a {bits}-bit signed integer")
