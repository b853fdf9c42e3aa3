"""Runtime and plans: compile a pattern once per shape class, run it per call on a stream.

    rt = permjit.Runtime()                       # device 0; Runtime(host_only=True, arch="sm_90a")
    plan = rt.plan(pattern, head_dim=128, dtype="bf16")
    plan.run(q, k, v, out, layout=layout)        # DLPack tensors [batch, seq, heads, head_dim]
    plan.run_pointers(q_ptr, k_ptr, v_ptr, o_ptr, heads=8, seq_len=s, ...)   # raw device memory

A plan is per shape class (pattern structure, head dim, dtype, tile, target): sequence length,
layout and the pattern's values are bound per run and never compile anything. run enqueues on
the caller's stream and neither allocates, copies nor synchronizes (CUDA-graph capturable).
"""

from __future__ import annotations

import ctypes
import itertools
import json
import math
import weakref
from collections import namedtuple
from typing import Sequence

from . import _dlpack, _lib, _tensors
from .config import ModelConfig
from .dsl import Pattern
from .errors import InvalidArgumentError
from .layout import as_layout

CacheStats = namedtuple("CacheStats", "memory_hits disk_hits compiles corrupt_files")


def version() -> str:
    """libpermjit.so's version (part of every kernel-cache key)."""
    return _lib.lib().permjit_version().decode()


def device_unavailable_reason() -> str:
    """Why a device Runtime cannot be made in this process ("" when it can)."""
    return _lib.call_text("permjit_device_unavailable_reason")


def environment_variables() -> dict[str, str]:
    """Every PERMJIT_* variable permjit reads, with its one line of help."""
    return {v["name"]: v["help"] for v in json.loads(_lib.call_text("permjit_env_variables_json"))}


def stream_handle(stream) -> int:
    """A CUstream as an int: None/0 (the legacy default stream), an int handle, or a stream
    object with .cuda_stream (torch) or .ptr (CuPy)."""
    if stream is None:
        return 0
    for attribute in ("cuda_stream", "ptr"):
        if hasattr(stream, attribute):
            return int(getattr(stream, attribute))
    return _lib.require_int(stream, "stream")


def _dtype_code(dtype: str | None, field: str = "dtype") -> int:
    if dtype is None:
        return _lib.DTYPE_PLAN
    if dtype not in _tensors.DTYPES:
        from .errors import UnsupportedError

        raise UnsupportedError(f"{field}: {dtype!r}; allowed: 'bf16', 'fp16'")
    return _tensors.DTYPES[dtype]


def _plan_options(head_dim: int, dtype: str, tile: Sequence[int] | None,
                  pass_split: str) -> _lib.PlanOptions:
    options = _lib.PlanOptions()
    _lib.lib().permjit_plan_options_init(ctypes.byref(options))
    options.head_dim = _lib.require_int(head_dim, "head_dim", 32)
    options.dtype = _dtype_code(dtype)
    if tile is not None:
        if len(tile) != 4:
            raise InvalidArgumentError(
                f"tile: {tile!r}; allowed: (block_m, block_n, warps, stages)")
        options.block_m, options.block_n, options.warps, options.stages = (
            _lib.require_int(x, "tile", 32) for x in tile)
    if pass_split not in _lib.PASS_SPLITS:
        raise InvalidArgumentError(f"pass_split: {pass_split!r}; allowed: auto, single, lines")
    options.pass_split = _lib.PASS_SPLITS[pass_split]
    return options


class Runtime:
    """The kernel compiler and cache for one device (or, host_only, for one target arch)."""

    def __init__(self, device: int = 0, *, arch: str | None = None, host_only: bool = False,
                 cache_dir: str | None = None, disable_cache: bool | None = None):
        options = _lib.RuntimeOptions()
        _lib.lib().permjit_runtime_options_init(ctypes.byref(options))
        options.device_ordinal = _lib.require_int(device, "device", 32)
        # The C struct borrows these strings only during create; keep them referenced here.
        self._arch_arg = _lib.encode(arch)
        self._cache_dir_arg = _lib.encode(None if cache_dir is None else str(cache_dir))
        options.arch = self._arch_arg
        options.cache_dir = self._cache_dir_arg
        options.host_only = 1 if host_only else 0
        if disable_cache is not None:
            options.disable_cache = 1 if disable_cache else 0
        handle = ctypes.c_void_p()
        _lib.check(_lib.lib().permjit_runtime_create(ctypes.byref(options), ctypes.byref(handle)))
        self._handle = handle
        self.device = options.device_ordinal
        self.host_only = bool(host_only)
        self.arch = _lib.call_text("permjit_runtime_arch", handle)
        self.kernel_family = _lib.call_text("permjit_runtime_kernel_family", handle)
        has_device = ctypes.c_int()
        _lib.check(_lib.lib().permjit_runtime_has_device(handle, ctypes.byref(has_device)))
        self.has_device = bool(has_device.value)
        self.device_name = _lib.call_text("permjit_runtime_device_name", handle)

    def _h(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise InvalidArgumentError("runtime: closed")
        return self._handle

    @property
    def cache_dir(self) -> str:
        """"" when the disk cache is disabled."""
        return _lib.call_text("permjit_runtime_cache_dir", self._h())

    def cache_stats(self) -> CacheStats:
        stats = _lib.CacheStats()
        _lib.check(_lib.lib().permjit_runtime_cache_stats(self._h(), ctypes.byref(stats)))
        return CacheStats(stats.memory_hits, stats.disk_hits, stats.compiles, stats.corrupt_files)

    def clear_cache(self) -> None:
        """Empties the memory and disk kernel caches."""
        _lib.check(_lib.lib().permjit_runtime_cache_clear(self._h()))

    def plan(self, pattern, *, head_dim: int = 128, dtype: str = "bf16",
             tile: Sequence[int] | None = None, pass_split: str = "auto",
             name: str | None = None) -> "Plan":
        """Compiles (or finds in the cache) the kernels of `pattern` for one shape class.

        pattern: a Pattern, or pattern JSON (node or file, text or dict). tile: (block_m,
        block_n, warps, stages), default the compiler's. pass_split: "auto", "single" (one fused
        pass) or "lines" (line-free terms + grid lines, merged through lse)."""
        if not isinstance(pattern, Pattern):
            pattern = Pattern.from_json(pattern)
        options = _plan_options(head_dim, dtype, tile, pass_split)
        text = pattern.to_json()
        if name:
            text = json.dumps({"permjit": 1, "name": name, "pattern": pattern.to_dict()})
        handle = ctypes.c_void_p()
        _lib.check(_lib.lib().permjit_plan_create(self._h(), text.encode(), ctypes.byref(options),
                                                  ctypes.byref(handle)))
        return Plan(self, handle, pattern, options.head_dim, dtype)

    def plan_layer(self, config, layer: int, *, head_dim: int = 128, dtype: str = "bf16",
                   tile: Sequence[int] | None = None, pass_split: str = "auto") -> "LayerPlan":
        """Every head of one layer of a model config (ModelConfig, JSON text/dict or a path)."""
        config = ModelConfig.coerce(config)
        options = _plan_options(head_dim, dtype, tile, pass_split)
        handle = ctypes.c_void_p()
        _lib.check(_lib.lib().permjit_layer_plan_create_from_json(
            self._h(), config.to_json().encode(), _lib.require_int(layer, "layer", 32),
            ctypes.byref(options), ctypes.byref(handle)))
        return LayerPlan(self, handle, config, layer, options.head_dim, dtype)

    def close(self) -> None:
        """Destroys the runtime (plans made from it keep what they need)."""
        if getattr(self, "_handle", None) is not None:
            _lib.lib().permjit_runtime_destroy(self._handle)
            self._handle = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.device_name or "host only"
        return f"Runtime({where}, arch={self.arch}, family={self.kernel_family})"


def _views(named: dict, stream: int):
    """DLPack views of the named tensors (None entries stay None)."""
    return {n: (None if t is None else _dlpack.view(t, n, stream)) for n, t in named.items()}


def _info(view: _dlpack.TensorView, name: str) -> _tensors.TensorInfo:
    return _tensors.TensorInfo(name, view.device_type in (_dlpack.KDL_CUDA,
                                                           _dlpack.KDL_CUDA_MANAGED),
                               view.device, view.dtype, view.shape, view.strides)


def _workspace_of(workspace, stream: int) -> tuple[int, int, object]:
    """(pointer, bytes, owner) of a workspace tensor (any dtype; its bytes count)."""
    if workspace is None:
        return 0, 0, None
    w = _dlpack.view(workspace, "workspace", stream)
    return w.data, math.prod(w.shape) * w.bits // 8, w


def _pointer(value, name: str):
    """A device pointer argument: an int in [0, 2**64) (0 is null), as ctypes takes it."""
    return _lib.require_int_in(value, name, 0, 1 << 64, "a device pointer in [0, 2**64)",
                               kind="a device pointer (an int)") or None


class _PlanBase:
    _kind = "plan"

    def _live(self):
        """The C handle, or InvalidArgumentError once close() has freed it."""
        handle = getattr(self, "_handle", None)
        if handle is None:
            raise InvalidArgumentError(
                f"{self._kind}: closed (close() was called); make a new one to run again")
        return handle

    def _tensor_args(self, q, k, v, out, dims, lse, workspace, stream):
        """The geometry, pointers and owners of a run on DLPack tensors (Plan.run,
        LayerPlan.run): the owners keep the exported views alive during the call."""
        named = _views({"q": q, "k": k, "v": v, "out": out, "lse": lse}, stream)
        g = _tensors.attention_geometry(*(_info(named[n], n) for n in ("q", "k", "v", "out")),
                                        dims)
        if named["lse"] is not None:
            _tensors.check_lse(_info(named["lse"], "lse"), g, named["q"].device)
        ws_ptr, ws_bytes, ws_owner = _workspace_of(workspace, stream)
        pointers = tuple(named[n].data for n in ("q", "k", "v", "out"))
        owners = (named, ws_owner)
        return g, pointers, (named["lse"].data if named["lse"] is not None else 0), ws_ptr, \
            ws_bytes, owners

    def _fill_common(self, args, q, k, v, out, lse, batch, heads, kv_heads, seq_len, dtype,
                     tensor_layout, strides, layout, softmax_scale, workspace, workspace_bytes):
        args.q, args.k = _pointer(q, "q"), _pointer(k, "k")
        args.v, args.o = _pointer(v, "v"), _pointer(out, "out")
        args.lse = _pointer(lse, "lse")
        args.batch = _lib.require_int(batch, "batch")
        args.heads = _lib.require_int(heads, "heads")
        args.kv_heads = _lib.require_int(kv_heads, "kv_heads")
        args.seq_len = _lib.require_int(seq_len, "seq_len")
        args.dtype = _dtype_code(dtype)
        if strides is not None:
            args.tensor_layout = _lib.LAYOUT_STRIDED
            if len(strides) != 4:
                raise InvalidArgumentError(
                    f"strides: {len(strides)} entries; allowed: 4, (q, k, v, out) strides")
            for field, value in zip(("q_strides", "k_strides", "v_strides", "o_strides"), strides):
                if value is None or len(value) != 3:
                    raise InvalidArgumentError(
                        f"{field}: {value!r}; allowed: (batch, seq, head) element strides")
                setattr(args, field, _lib.Strides3(*(_lib.require_int(x, field) for x in value)))
        else:
            layouts = {"bshd": _lib.LAYOUT_BSHD, "bhsd": _lib.LAYOUT_BHSD}
            if tensor_layout not in layouts:
                raise InvalidArgumentError(
                    f"tensor_layout: {tensor_layout!r}; allowed: 'bshd', 'bhsd' (or strides)")
            args.tensor_layout = layouts[tensor_layout]
        spans, count = as_layout(layout).c_spans()
        args.spans, args.num_spans = spans, count
        args.softmax_scale = 0.0 if softmax_scale is None else float(softmax_scale)
        args.workspace = _pointer(workspace, "workspace")
        args.workspace_bytes = _lib.require_int(workspace_bytes, "workspace_bytes")
        return spans  # the caller keeps the array alive during the call


# Every live Plan by its id: what torch.ops.permjit.attention receives instead of the object
# (custom ops take plain values), looked up when the op runs.
_plans_by_id: "weakref.WeakValueDictionary[int, Plan]" = weakref.WeakValueDictionary()
_plan_ids = itertools.count()


def plan_by_id(plan_id: int) -> "Plan":
    """The live Plan whose id is plan_id; InvalidArgumentError once it has been freed."""
    plan = _plans_by_id.get(plan_id)
    if plan is None:
        raise InvalidArgumentError(
            f"plan_id: {plan_id}; no live plan has it (keep the Plan referenced while code "
            "compiled or captured with it runs)")
    return plan


class Plan(_PlanBase):
    """The compiled kernels of one pattern for one shape class. Its metadata are plain
    attributes (id, num_passes, is_dynamic, needs_lse, head_dim, dtype, arch, can_run), so
    torch.compile reads them without calling into the library."""

    def __init__(self, runtime: Runtime, handle, pattern: Pattern, head_dim: int, dtype: str):
        self.id = next(_plan_ids)
        _plans_by_id[self.id] = self
        self.runtime = runtime
        self._handle = handle
        self.pattern = pattern
        self.head_dim = head_dim
        self.dtype = dtype
        passes, dynamic, can_run = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        lib = _lib.lib()
        _lib.check(lib.permjit_plan_num_passes(handle, ctypes.byref(passes)))
        _lib.check(lib.permjit_plan_is_dynamic(handle, ctypes.byref(dynamic)))
        _lib.check(lib.permjit_plan_can_run(handle, ctypes.byref(can_run)))
        self.num_passes = passes.value
        self.is_dynamic = bool(dynamic.value)
        self.can_run = bool(can_run.value)
        self.arch = _lib.call_text("permjit_plan_arch", handle)
        self.structure_key = _lib.call_text("permjit_plan_structure_key", handle)
        # Plans of several passes merge through the log-sum-exp: run then needs lse.
        self.needs_lse = self.num_passes > 1

    def source(self, pass_index: int = 0) -> str:
        """The generated CUDA source of one pass."""
        return _lib.call_text("permjit_plan_source", self._live(),
                              _lib.require_int(pass_index, "pass", 32))

    def kernel_name(self, pass_index: int = 0) -> str:
        return _lib.call_text("permjit_plan_kernel_name", self._live(),
                              _lib.require_int(pass_index, "pass", 32))

    def workspace_bytes(self, batch: int, heads: int, seq_len: int) -> int:
        """Device scratch run needs for this shape (0 for static plans)."""
        out = ctypes.c_size_t()
        _lib.check(_lib.lib().permjit_plan_workspace_bytes(
            self._live(), _lib.require_int(batch, "batch"), _lib.require_int(heads, "heads"),
            _lib.require_int(seq_len, "seq_len"), ctypes.byref(out)))
        return out.value

    def key_split_workspace_bytes(self) -> int:
        """Device scratch a static plan's runs can use to split heavy row tiles over several CTAs
        (the same for every shape; 0 for dynamic plans and with PERMJIT_KEY_SPLIT=0). Pass it
        as run(..., workspace=...); without one the run does not split."""
        out = ctypes.c_size_t()
        _lib.check(_lib.lib().permjit_plan_key_split_workspace_bytes(self._live(),
                                                                       ctypes.byref(out)))
        return out.value

    def _args(self, q, k, v, out, *, batch, heads, seq_len, head_dim, kv_heads, dtype,
              tensor_layout, strides, layout, lse, workspace, workspace_bytes, softmax_scale,
              reuse_estimate):
        args = _lib.RunArgs()
        _lib.lib().permjit_run_args_init(ctypes.byref(args))
        keep = self._fill_common(args, q, k, v, out, lse, batch, heads, kv_heads, seq_len, dtype,
                                 tensor_layout, strides, layout, softmax_scale, workspace,
                                 workspace_bytes)
        args.head_dim = _lib.require_int(self.head_dim if head_dim is None else head_dim,
                                         "head_dim")
        args.reuse_estimate = 1 if reuse_estimate else 0
        return args, keep

    def run_pointers(self, q: int, k: int, v: int, out: int, *, heads: int, seq_len: int,
                     batch: int = 1, kv_heads: int = 0, head_dim: int | None = None,
                     dtype: str | None = None, tensor_layout: str = "bshd",
                     strides: Sequence[Sequence[int]] | None = None, layout=None, lse: int = 0,
                     workspace: int = 0, workspace_bytes: int = 0,
                     softmax_scale: float | None = None, reuse_estimate: bool = False,
                     stream=None) -> None:
        """Runs on raw device pointers (ints). tensor_layout "bshd"/"bhsd" (contiguous), or
        strides = (q, k, v, out) each (batch, seq, head) in elements (head_dim contiguous).
        dtype None: the plan's. Every check of the C++ Plan::run applies (its message names the
        field)."""
        args, keep = self._args(q, k, v, out, batch=batch, heads=heads, seq_len=seq_len,
                                head_dim=head_dim, kv_heads=kv_heads, dtype=dtype,
                                tensor_layout=tensor_layout, strides=strides, layout=layout,
                                lse=lse, workspace=workspace, workspace_bytes=workspace_bytes,
                                softmax_scale=softmax_scale, reuse_estimate=reuse_estimate)
        _lib.check(_lib.lib().permjit_plan_run(self._live(), ctypes.byref(args),
                                               stream_handle(stream) or None))
        del keep

    def run(self, q, k, v, out, *, layout=None, lse=None, workspace=None, stream=None,
            dims: str = "bshd", softmax_scale: float | None = None,
            reuse_estimate: bool = False) -> None:
        """Runs on DLPack tensors (torch, CuPy, JAX ...) in CUDA memory.

        q, out: [batch, seq, heads, head_dim] (dims="bshd") or [batch, heads, seq, head_dim]
        ("bhsd"), any strides with head_dim contiguous; k, v: the same with kv heads. lse: fp32
        [batch, heads, seq_len] (required when the plan has several passes). workspace: device
        scratch of workspace_bytes() (dynamic plans), or optionally of
        key_split_workspace_bytes() (static plans: heavy row tiles split over CTAs). stream:
        where to enqueue (None: the legacy default stream); the tensors are exported for it."""
        handle = stream_handle(stream)
        g, (qp, kp, vp, op), lse_ptr, ws_ptr, ws_bytes, owners = self._tensor_args(
            q, k, v, out, dims, lse, workspace, handle)
        self.run_pointers(qp, kp, vp, op, heads=g.heads, seq_len=g.seq_len, batch=g.batch,
                          kv_heads=g.kv_heads, head_dim=g.head_dim, dtype=g.dtype,
                          strides=(g.q_strides, g.k_strides, g.v_strides, g.o_strides),
                          layout=layout, lse=lse_ptr, workspace=ws_ptr, workspace_bytes=ws_bytes,
                          softmax_scale=softmax_scale, reuse_estimate=reuse_estimate,
                          stream=handle)
        del owners

    def estimated_indices(self, q, k, v, out, *, layout=None, workspace=None, stream=None,
                          dims: str = "bshd") -> list[dict]:
        """What the estimator chose in the last run on `workspace` (dynamic plans), per (batch,
        head) in batch-major order: {"vertical", "slash", "later_atoms", "grid", "grid_scores"}
        ("later_atoms": the sets of the second and later vertical_slash atoms, one per
        q_boundary modality, ordered vision, text, other). Synchronizes the stream. For checking
        and inspection, not the hot path."""
        handle = stream_handle(stream)
        g, (qp, kp, vp, op), _, ws_ptr, ws_bytes, owners = self._tensor_args(
            q, k, v, out, dims, None, workspace, handle)
        return self.estimated_indices_pointers(
            qp, kp, vp, op, heads=g.heads, seq_len=g.seq_len, batch=g.batch,
            kv_heads=g.kv_heads, dtype=g.dtype,
            strides=(g.q_strides, g.k_strides, g.v_strides, g.o_strides), layout=layout,
            workspace=ws_ptr, workspace_bytes=ws_bytes, stream=handle)

    def estimated_indices_pointers(self, q: int, k: int, v: int, out: int, *, heads: int,
                                   seq_len: int, batch: int = 1, kv_heads: int = 0,
                                   dtype: str | None = None, tensor_layout: str = "bshd",
                                   strides=None, layout=None, workspace: int = 0,
                                   workspace_bytes: int = 0, stream=None) -> list[dict]:
        """estimated_indices on raw pointers (the arguments of run_pointers)."""
        args, keep = self._args(q, k, v, out, batch=batch, heads=heads, seq_len=seq_len,
                                head_dim=None, kv_heads=kv_heads, dtype=dtype,
                                tensor_layout=tensor_layout, strides=strides, layout=layout,
                                lse=0, workspace=workspace, workspace_bytes=workspace_bytes,
                                softmax_scale=None, reuse_estimate=False)
        text = _lib.call_text("permjit_plan_estimated_indices_json", self._live(),
                              ctypes.byref(args), stream_handle(stream) or None)
        del keep
        return json.loads(text)

    def close(self) -> None:
        if getattr(self, "_handle", None) is not None:
            _lib.lib().permjit_plan_destroy(self._handle)
            self._handle = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def __repr__(self) -> str:
        return (f"Plan({self.pattern}, head_dim={self.head_dim}, dtype={self.dtype}, "
                f"passes={self.num_passes}, arch={self.arch})")


class LayerPlan(_PlanBase):
    """Every head of one model layer (permjit_layer_c.h): heads with equal patterns share a plan."""

    _kind = "layer plan"

    def __init__(self, runtime: Runtime, handle, config: ModelConfig, layer: int, head_dim: int,
                 dtype: str):
        self.runtime = runtime
        self._handle = handle
        self.config = config
        self.layer = layer
        self.head_dim = head_dim
        self.dtype = dtype
        heads = ctypes.c_int64()
        _lib.check(_lib.lib().permjit_layer_plan_num_heads(handle, ctypes.byref(heads)))
        self.num_heads = heads.value

    def workspace_bytes(self, batch: int, seq_len: int) -> int:
        out = ctypes.c_size_t()
        _lib.check(_lib.lib().permjit_layer_plan_workspace_bytes(
            self._live(), _lib.require_int(batch, "batch"), _lib.require_int(seq_len, "seq_len"),
            ctypes.byref(out)))
        return out.value

    def run_pointers(self, q: int, k: int, v: int, out: int, *, seq_len: int, batch: int = 1,
                     heads: int | None = None, kv_heads: int = 0, dtype: str | None = None,
                     tensor_layout: str = "bshd", strides=None, layout=None, lse: int = 0,
                     workspace: int = 0, workspace_bytes: int = 0,
                     softmax_scale: float | None = None, stream=None) -> None:
        """Runs every head (the arguments of Plan.run_pointers; heads defaults to the config's).
        layout is the request's (required for "request" layout rules, else ignored)."""
        args = _lib.LayerRunArgs()
        _lib.lib().permjit_layer_run_args_init(ctypes.byref(args))
        keep = self._fill_common(args, q, k, v, out, lse, batch,
                                 self.num_heads if heads is None else heads, kv_heads, seq_len,
                                 dtype, tensor_layout, strides, layout, softmax_scale, workspace,
                                 workspace_bytes)
        _lib.check(_lib.lib().permjit_layer_plan_run(self._live(), ctypes.byref(args),
                                                     stream_handle(stream) or None))
        del keep

    def run(self, q, k, v, out, *, layout=None, lse=None, workspace=None, stream=None,
            dims: str = "bshd", softmax_scale: float | None = None) -> None:
        """Runs every head on DLPack tensors (as Plan.run)."""
        handle = stream_handle(stream)
        g, (qp, kp, vp, op), lse_ptr, ws_ptr, ws_bytes, owners = self._tensor_args(
            q, k, v, out, dims, lse, workspace, handle)
        self.run_pointers(qp, kp, vp, op, seq_len=g.seq_len, batch=g.batch, heads=g.heads,
                          kv_heads=g.kv_heads, dtype=g.dtype,
                          strides=(g.q_strides, g.k_strides, g.v_strides, g.o_strides),
                          layout=layout, lse=lse_ptr, workspace=ws_ptr, workspace_bytes=ws_bytes,
                          softmax_scale=softmax_scale, stream=handle)
        del owners

    def close(self) -> None:
        if getattr(self, "_handle", None) is not None:
            _lib.lib().permjit_layer_plan_destroy(self._handle)
            self._handle = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def __repr__(self) -> str:
        return (f"LayerPlan({self.config.model} layer {self.layer}, heads={self.num_heads}, "
                f"head_dim={self.head_dim}, dtype={self.dtype})")


_DEFAULT_RUNTIMES: dict[int, Runtime] = {}


def default_runtime(device: int = 0) -> Runtime:
    """One Runtime per device for the process (what permjit.torch plans with)."""
    runtime = _DEFAULT_RUNTIMES.get(device)
    if runtime is None:
        runtime = _DEFAULT_RUNTIMES[device] = Runtime(device)
    return runtime
