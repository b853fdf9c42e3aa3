"""Reading DLPack tensors (the legacy, unversioned DLManagedTensor) through ctypes.

Only what a launch needs: data pointer, device, dtype, shape and strides. The capsule is kept
alive by the caller for as long as the pointer is used; dropping it runs the producer's deleter
(the capsule's destructor does, since permjit never renames it "used_dltensor").
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from .errors import InvalidArgumentError, UnsupportedError

KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 13
_DEVICE_NAMES = {1: "cpu", 2: "cuda", 3: "cuda_host", 4: "opencl", 7: "vulkan", 8: "metal",
                 10: "rocm", 13: "cuda_managed", 14: "oneapi"}
# (type code, bits) -> name; kDLInt 0, kDLUInt 1, kDLFloat 2, kDLBfloat 4
_DTYPE_NAMES = {(2, 16): "fp16", (4, 16): "bf16", (2, 32): "fp32", (2, 64): "fp64",
                (0, 8): "int8", (0, 32): "int32", (0, 64): "int64", (1, 8): "uint8", (1, 1): "bool"}


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


@dataclass
class TensorView:
    """A borrowed view of a DLPack tensor. `owner` (the capsule) keeps the memory alive."""

    data: int
    device_type: int
    device_id: int
    dtype: str
    shape: tuple[int, ...]
    strides: tuple[int, ...]  # in elements
    owner: object
    bits: int = 0  # per element

    @property
    def device(self) -> str:
        return f"{_DEVICE_NAMES.get(self.device_type, str(self.device_type))}:{self.device_id}"


def device_of(tensor, name: str) -> tuple[int, int]:
    """(DLPack device type, id) of a tensor, before exporting it."""
    if not hasattr(tensor, "__dlpack_device__"):
        raise InvalidArgumentError(
            f"{name}: a {type(tensor).__name__} is no tensor; allowed: an object with "
            "__dlpack__ (a torch, CuPy, JAX ... array), or raw pointers through run_pointers")
    device_type, device_id = tensor.__dlpack_device__()
    return int(device_type), int(device_id)


def view(tensor, name: str, stream: int | None) -> TensorView:
    """Exports `tensor` through DLPack for use on `stream` (a CUDA stream handle; the producer
    orders its pending work before it). Refuses tensors outside CUDA memory."""
    device_type, device_id = device_of(tensor, name)
    if device_type not in (KDL_CUDA, KDL_CUDA_MANAGED):
        where = _DEVICE_NAMES.get(device_type, f"DLPack device type {device_type}")
        raise InvalidArgumentError(
            f"{name}: a {where} tensor; allowed: CUDA device memory (move it to the GPU first)")
    # DLPack's stream argument for CUDA: 1 is the legacy default stream, others a cudaStream_t.
    capsule = tensor.__dlpack__(stream=1 if not stream else stream)
    address = _get_pointer(capsule, b"dltensor")
    managed = _DLManagedTensor.from_address(address)
    t = managed.dl_tensor
    if t.dtype.lanes != 1:
        raise UnsupportedError(f"{name}: vector dtype with {t.dtype.lanes} lanes; allowed: bf16, fp16")
    dtype = _DTYPE_NAMES.get((t.dtype.code, t.dtype.bits), f"code{t.dtype.code}/{t.dtype.bits}bit")
    shape = tuple(t.shape[i] for i in range(t.ndim))
    if t.strides:
        strides = tuple(t.strides[i] for i in range(t.ndim))
    else:  # compact row-major
        strides, step = [], 1
        for extent in reversed(shape):
            strides.append(step)
            step *= extent
        strides = tuple(reversed(strides))
    data = (t.data or 0) + t.byte_offset
    return TensorView(data, device_type, device_id, dtype, shape, strides, capsule, t.dtype.bits)
