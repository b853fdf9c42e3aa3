"""permjit for PyTorch: attention() over a torch.library custom op.

    import permjit, permjit.torch as pjt
    plan = pjt.plan_for(pattern, head_dim=128, dtype=torch.bfloat16)   # once per shape class
    out = pjt.attention(q, k, v, plan, layout=layout)                # q [b, h, s, d] like SDPA

- The op (torch.ops.permjit.attention) has a fake implementation, so torch.compile traces it
  with no graph break; planning happens outside it (plan_for, or attention() given a Pattern
  in eager mode).
- Outputs, lse and the workspace of dynamic plans come from torch's allocator (so from a CUDA
  graph's private pool under capture); the kernels run on torch's current stream. Nothing is
  synchronized, so the op can be captured in a CUDA graph and replayed with new inputs (the
  layout and shape are bound at capture, as every kernel argument is).
- Inference only: the op has no backward.

torch is imported here, never by `import permjit`.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from . import _tensors
from .dsl import Pattern
from .errors import InvalidArgumentError
from .layout import Layout, as_layout
from .runtime import Plan, default_runtime, plan_by_id

_DTYPES = {torch.bfloat16: "bf16", torch.float16: "fp16"}
_DTYPE_NAMES = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32",
                torch.float64: "fp64", torch.int8: "int8", torch.uint8: "uint8",
                torch.int32: "int32", torch.int64: "int64", torch.bool: "bool"}

_pattern_plans: dict[tuple, Plan] = {}


def dtype_name(dtype: torch.dtype) -> str:
    return _DTYPE_NAMES.get(dtype, str(dtype).replace("torch.", ""))


def plan_for(pattern, *, head_dim: int = 128, dtype: torch.dtype = torch.bfloat16,
             device=None, pass_split: str = "auto", tile=None) -> Plan:
    """The plan of `pattern` for this head dim, dtype and CUDA device (default: the current
    one), from the device's default Runtime; cached (and kept alive) per key, so calling it
    again is a dictionary look-up. Call it outside torch.compile'd code."""
    if not isinstance(pattern, Pattern):
        pattern = Pattern.from_json(pattern)
    if dtype not in _DTYPES:
        from .errors import UnsupportedError

        raise UnsupportedError(f"dtype: {dtype}; allowed: torch.bfloat16, torch.float16")
    index = _device_index(device)
    key = (pattern.to_json(), head_dim, dtype, index, pass_split,
           None if tile is None else tuple(tile))
    plan = _pattern_plans.get(key)
    if plan is None:
        plan = default_runtime(index).plan(pattern, head_dim=head_dim, dtype=_DTYPES[dtype],
                                           pass_split=pass_split, tile=tile)
        _pattern_plans[key] = plan
    return plan


def _device_index(device) -> int:
    if device is None:
        return torch.cuda.current_device()
    device = torch.device(device)
    if device.type != "cuda":
        raise InvalidArgumentError(f"device: {device}; allowed: a CUDA device")
    return torch.cuda.current_device() if device.index is None else device.index


def _info(t: torch.Tensor, name: str) -> _tensors.TensorInfo:
    return _tensors.TensorInfo(name, t.device.type == "cuda", str(t.device), dtype_name(t.dtype),
                               tuple(t.shape), tuple(t.stride()))


def check_inputs(q, k, v, dims: str) -> _tensors.Geometry:
    """The checks of Plan.run on torch tensors (out is allocated like q)."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise InvalidArgumentError(f"{name}: a {type(t).__name__}; allowed: a torch.Tensor")
    return _tensors.attention_geometry(_info(q, "q"), _info(k, "k"), _info(v, "v"),
                                       _info(q, "out"), dims)


@lru_cache(maxsize=4096)
def _layout_of(flat_spans: tuple[int, ...]) -> Layout:
    names = {0: "vision", 1: "text", 2: "other"}
    return Layout((names[flat_spans[i]], flat_spans[i + 1], flat_spans[i + 2])
                  for i in range(0, len(flat_spans), 3))


def _lse_shape(q: torch.Tensor, dims: str, need_lse: bool):
    b, s, h, _ = (q.shape[a] for a in _tensors.check_dims(dims))
    return (b, h, s) if need_lse else (0,)


@torch.library.custom_op("permjit::attention", mutates_args=())
def _attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, plan_id: int,
                  spans: list[int], dims: str, softmax_scale: float,
                  need_lse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """permjit attention with the Plan whose id is plan_id over the flat (modality, begin, end)
    spans; softmax_scale 0 means 1/sqrt(head_dim). Returns (out like q, lse fp32 [b, h, s], or
    an empty tensor when need_lse is false)."""
    plan = plan_by_id(plan_id)
    g = check_inputs(q, k, v, dims)
    out = torch.empty_like(q)
    lse = torch.empty(_lse_shape(q, dims, need_lse), dtype=torch.float32, device=q.device)
    workspace_bytes = plan.workspace_bytes(g.batch, g.heads, g.seq_len) if plan.is_dynamic else 0
    workspace = (torch.empty(workspace_bytes, dtype=torch.uint8, device=q.device)
                 if workspace_bytes else None)
    o_strides = tuple(out.stride()[a] for a in _tensors.check_dims(dims)[:3])
    with torch.cuda.device(q.device):
        stream = torch.cuda.current_stream(q.device).cuda_stream
        plan.run_pointers(q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(),
                          heads=g.heads, seq_len=g.seq_len, batch=g.batch, kv_heads=g.kv_heads,
                          head_dim=g.head_dim, dtype=g.dtype,
                          strides=(g.q_strides, g.k_strides, g.v_strides, o_strides),
                          layout=_layout_of(tuple(spans)),
                          lse=lse.data_ptr() if need_lse else 0,
                          workspace=workspace.data_ptr() if workspace is not None else 0,
                          workspace_bytes=workspace_bytes,
                          softmax_scale=softmax_scale or None, stream=stream)
    return out, lse


@_attention_op.register_fake
def _attention_fake(q, k, v, plan_id, spans, dims, softmax_scale, need_lse):
    out = torch.empty_like(q)
    lse = q.new_empty(_lse_shape(q, dims, need_lse), dtype=torch.float32)
    return out, lse


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, pattern_or_plan, *,
              layout=None, return_lse: bool = False, dims: str = "bhsd",
              softmax_scale: float | None = None):
    """Sparse attention of q, k, v with a permjit Plan (or a Pattern, planned on first use in
    eager mode).

    q: [batch, heads, seq, head_dim] (dims="bhsd", SDPA's order) or [batch, seq, heads,
    head_dim] ("bshd"); k, v: the same with kv heads (GQA: heads % kv_heads == 0). Any strides
    with head_dim contiguous; CUDA, bf16 or fp16. layout: the modality Layout of the sequence
    (None: every position `other`). Returns out (like q), or (out, lse) with return_lse (fp32
    [batch, heads, seq])."""
    if isinstance(pattern_or_plan, Plan):
        plan = pattern_or_plan
    elif isinstance(pattern_or_plan, Pattern):
        if torch.compiler.is_compiling():
            raise InvalidArgumentError(
                "pattern_or_plan: a Pattern under torch.compile; plan outside the compiled "
                "function (permjit.torch.plan_for(pattern, head_dim=..., dtype=...)) and pass "
                "the Plan")
        if not isinstance(q, torch.Tensor):
            raise InvalidArgumentError(f"q: a {type(q).__name__}; allowed: a torch.Tensor")
        plan = plan_for(pattern_or_plan, head_dim=q.shape[-1], dtype=q.dtype,
                        device=q.device if q.device.type == "cuda" else None)
    else:
        raise InvalidArgumentError(
            f"pattern_or_plan: a {type(pattern_or_plan).__name__}; allowed: permjit.Plan, "
            "permjit.Pattern")
    g = check_inputs(q, k, v, dims)
    if g.head_dim != plan.head_dim:
        raise InvalidArgumentError(
            f"q: head_dim {g.head_dim}; the plan is for head_dim {plan.head_dim}")
    if g.dtype != plan.dtype:
        raise InvalidArgumentError(f"q: dtype {g.dtype}; the plan is for {plan.dtype}")
    spans = list(as_layout(layout).flat_spans)
    need_lse = bool(return_lse) or plan.needs_lse
    out, lse = torch.ops.permjit.attention(q, k, v, plan.id, spans, dims,
                                           0.0 if softmax_scale is None else float(softmax_scale),
                                           need_lse)
    return (out, lse) if return_lse else out


class Attention(torch.nn.Module):
    """A layer call: one plan and (optionally) one layout, applied to q, k, v."""

    def __init__(self, plan: Plan, layout=None, dims: str = "bhsd",
                 softmax_scale: float | None = None):
        super().__init__()
        if not isinstance(plan, Plan):
            raise InvalidArgumentError(f"plan: a {type(plan).__name__}; allowed: permjit.Plan")
        self.plan = plan
        self.layout = None if layout is None else as_layout(layout)
        _tensors.check_dims(dims)
        self.dims = dims
        self.softmax_scale = softmax_scale

    def forward(self, q, k, v, layout=None):
        return attention(q, k, v, self.plan, layout=self.layout if layout is None else layout,
                         dims=self.dims, softmax_scale=self.softmax_scale)
