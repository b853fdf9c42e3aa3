"""The checks and geometry of attention tensors, shared by Plan.run (DLPack) and permjit.torch.

Each tensor arrives as a TensorInfo (device, dtype, shape, element strides), whatever produced
it (NamedTuples, which torch.compile traces through), so a CPU tensor, a wrong dtype or shape, or a head dim that is not contiguous gives the same
clear error from every entry point, before anything reaches the library.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _lib
from .errors import InvalidArgumentError, UnsupportedError

# Axis positions of (batch, seq, heads, head_dim) in the tensors, per dims string.
DIMS = {"bshd": (0, 1, 2, 3), "bhsd": (0, 2, 1, 3)}
DIM_NAMES = {"bshd": "[batch, seq, heads, head_dim]", "bhsd": "[batch, heads, seq, head_dim]"}
DTYPES = {"bf16": _lib.DTYPE_BF16, "fp16": _lib.DTYPE_FP16}  # permjit_dtype_t


class TensorInfo(NamedTuple):
    name: str
    is_cuda: bool
    device: str  # for messages and the same-device check, e.g. "cuda:0"
    dtype: str  # "bf16", "fp16", "fp32", ...
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in elements


class Geometry(NamedTuple):
    batch: int
    seq_len: int
    heads: int
    kv_heads: int
    head_dim: int
    dtype: str
    # (batch, seq, head) element strides of q, k, v, out
    q_strides: tuple[int, int, int]
    k_strides: tuple[int, int, int]
    v_strides: tuple[int, int, int]
    o_strides: tuple[int, int, int]


def check_dims(dims: str) -> tuple[int, int, int, int]:
    if dims not in DIMS:
        raise InvalidArgumentError(f"dims: {dims!r}; allowed: 'bshd', 'bhsd'")
    return DIMS[dims]


def _check_one(t: TensorInfo, dims: str, axes) -> tuple[int, int, int, int]:
    if not t.is_cuda:
        raise InvalidArgumentError(
            f"{t.name}: a {t.device} tensor; allowed: a CUDA tensor (move it to the GPU first)")
    if t.dtype not in DTYPES:
        raise UnsupportedError(f"{t.name}: dtype {t.dtype}; allowed: bf16, fp16")
    if len(t.shape) != 4:
        raise InvalidArgumentError(
            f"{t.name}: {len(t.shape)}-d tensor of shape {list(t.shape)}; allowed: 4-d "
            f"{DIM_NAMES[dims]} (dims={dims!r})")
    b, s, h, d = (t.shape[a] for a in axes)
    if t.strides[axes[3]] != 1 and d > 1:
        raise InvalidArgumentError(
            f"{t.name}: head dim not contiguous (its stride is {t.strides[axes[3]]}, shape "
            f"{list(t.shape)}, strides {list(t.strides)}); allowed: stride 1 along head_dim "
            "(e.g. .contiguous())")
    return b, s, h, d


def attention_geometry(q: TensorInfo, k: TensorInfo, v: TensorInfo, out: TensorInfo,
                       dims: str) -> Geometry:
    """Checks q, k, v, out and returns the run's shape and strides."""
    axes = check_dims(dims)
    qb, qs, qh, qd = _check_one(q, dims, axes)
    for t in (k, v, out):
        _check_one(t, dims, axes)
    for t in (k, v, out):
        if t.device != q.device:
            raise InvalidArgumentError(f"{t.name}: on {t.device}, q on {q.device}; allowed: one device")
        if t.dtype != q.dtype:
            raise InvalidArgumentError(f"{t.name}: dtype {t.dtype}, q {q.dtype}; allowed: one dtype")
    kb, ks, kh, kd = (k.shape[a] for a in axes)
    for t in (v,):
        if tuple(t.shape) != tuple(k.shape):
            raise InvalidArgumentError(
                f"{t.name}: shape {list(t.shape)}, k {list(k.shape)}; allowed: v shaped like k")
    if tuple(out.shape) != tuple(q.shape):
        raise InvalidArgumentError(
            f"{out.name}: shape {list(out.shape)}, q {list(q.shape)}; allowed: out shaped like q")
    if (kb, ks, kd) != (qb, qs, qd):
        raise InvalidArgumentError(
            f"k: shape {list(k.shape)}, q {list(q.shape)}; allowed: the batch, seq and head_dim "
            f"of q with any kv head count dividing q's (dims={dims!r})")

    def strides(t: TensorInfo) -> tuple[int, int, int]:
        return (t.strides[axes[0]], t.strides[axes[1]], t.strides[axes[2]])

    return Geometry(qb, qs, qh, kh, qd, q.dtype, strides(q), strides(k), strides(v),
                    strides(out))


def check_lse(lse: TensorInfo, geometry: Geometry, q_device: str) -> None:
    """lse: fp32 [batch, heads, seq_len], contiguous, on q's device."""
    shape = (geometry.batch, geometry.heads, geometry.seq_len)
    if not lse.is_cuda or lse.device != q_device:
        raise InvalidArgumentError(f"lse: on {lse.device}; allowed: q's device {q_device}")
    if lse.dtype != "fp32":
        raise InvalidArgumentError(f"lse: dtype {lse.dtype}; allowed: fp32")
    if tuple(lse.shape) != shape:
        raise InvalidArgumentError(
            f"lse: shape {list(lse.shape)}; allowed: [batch, heads, seq_len] = {list(shape)}")
    expected = (shape[1] * shape[2], shape[2], 1)
    if tuple(lse.strides) != expected and geometry.batch * geometry.heads * geometry.seq_len > 1:
        raise InvalidArgumentError(
            f"lse: strides {list(lse.strides)}; allowed: contiguous {list(expected)}")
