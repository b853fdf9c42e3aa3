"""The Python package on a GPU: run on the GPU machine (torch with CUDA, no package index) as

    PYTHONPATH=python PERMJIT_LIBRARY=<libpermjit.so> python3 python/tests/gpu_check.py

Prints one PASS/FAIL/SKIP line per check and exits nonzero when any check fails:
- the torch op's outputs equal, bit for bit, the C API's (Plan.run_pointers: permjit_plan_run)
  on the same inputs, for static and dynamic patterns, GQA, several tensor layouts and lse;
- they agree with the float64 reference of the pattern's own mask (Pattern.mask) within bf16
  tolerance (so "equal" is not equal-and-wrong);
- torch.compile(fullgraph=True) of a function calling the op has no graph break and gives the
  eager result;
- a captured CUDA graph replays with new inputs and equals eager on them;
- bad inputs (CPU tensors, wrong dtype or shape, non-contiguous head dim) raise clear errors;
- permjit.transformers (SKIP without transformers): a small random-weight Qwen2.5-VL
  (python/examples/qwen2_vl_video.py) on a video-plus-text input gives SDPA's logits with every
  head dense, and its reference-mask logits with an MMInference config; decode falls back.
"""

from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path

import torch

import permjit
import permjit.torch as pjt
from permjit import (Layout, SpanRef, a_shape, causal, grid, grid_head, local, q_boundary, rows,
                     sink, vertical_slash)

results: list[tuple[str, str, str]] = []


def report(status: str, name: str, detail: str = "") -> None:
    results.append((status, name, detail))
    print(f"{status} {name}" + (f": {detail}" if detail else ""), flush=True)


def check(name):
    """Runs the decorated check at once, turning assertions and exceptions into FAIL lines."""

    def run(fn):
        try:
            detail = fn()
            report("PASS", name, detail or "")
        except Skip as skip:
            report("SKIP", name, str(skip))
        except Exception as error:  # noqa: BLE001 - every failure is a FAIL line
            report("FAIL", name, f"{type(error).__name__}: {error}")
            traceback.print_exc()
        return fn

    return run


class Skip(Exception):
    pass


if not torch.cuda.is_available():
    print("FAIL setup: torch sees no CUDA device")
    sys.exit(1)

DEVICE = torch.device("cuda", torch.cuda.current_device())
torch.manual_seed(0)
S, H, HKV, D = 1000, 8, 2, 128  # a length that is no tile multiple; GQA 4:1
LAYOUT = Layout([("text", 0, 50), ("vision", 50, 980), ("text", 980, 1000)])
GRID_HEAD = causal() & (sink(64) | local(64) | rows(SpanRef.last(20)) | grid(14, 0, 3))
PATTERNS = {
    "dense": causal(),
    "a_shape": a_shape(16, 128),
    "grid_head": GRID_HEAD,  # several passes (merged through the lse) under the default split
    "grid_estimated": grid_head(estimate_strides=[7, 14], sink=16, local=32,
                                trailing_text_rows=20),  # dynamic: a workspace, the estimator
    # The paper's Q-Boundary with a vertical_slash per modality, each from its own last queries.
    "q_boundary_vertical_slash": q_boundary({
        "vision": causal() & vertical_slash(64, 128, 64),
        "text": causal() & (sink(8) | vertical_slash(32, 64, 32))}),
}
runtime = permjit.default_runtime(DEVICE.index)
print(f"# {runtime!r}, permjit {permjit.version()}, torch {torch.__version__}", flush=True)


def inputs(batch=1, heads=H, kv_heads=HKV, seq=S, dtype=torch.bfloat16, seed=0):
    g = torch.Generator(device=DEVICE).manual_seed(seed)
    q = torch.randn(batch, heads, seq, D, device=DEVICE, dtype=dtype, generator=g)
    k = torch.randn(batch, kv_heads, seq, D, device=DEVICE, dtype=dtype, generator=g)
    v = torch.randn(batch, kv_heads, seq, D, device=DEVICE, dtype=dtype, generator=g)
    return q, k, v


def c_api_run(plan, q, k, v, layout, need_lse):
    """The same run through the C API directly: Plan.run_pointers -> permjit_plan_run, output
    and workspace allocated here, on the current stream."""
    b, h, s, d = q.shape
    out = torch.full_like(q, float("nan"))
    lse = torch.empty(b, h, s, device=q.device, dtype=torch.float32) if need_lse else None
    # Dynamic plans need their workspace; static ones take the key split's.
    ws_bytes = (plan.workspace_bytes(b, h, s) if plan.is_dynamic
                else plan.key_split_workspace_bytes())
    ws = torch.empty(max(ws_bytes, 1), device=q.device, dtype=torch.uint8)

    def bsh(t):
        return (t.stride(0), t.stride(2), t.stride(1))

    plan.run_pointers(q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(), heads=h,
                      seq_len=s, batch=b, kv_heads=k.shape[1], dtype=plan.dtype,
                      strides=(bsh(q), bsh(k), bsh(v), bsh(out)), layout=layout,
                      lse=lse.data_ptr() if lse is not None else 0, workspace=ws.data_ptr(),
                      workspace_bytes=ws_bytes, stream=torch.cuda.current_stream())
    return out, lse


def reference(pattern, q, k, v, layout, estimated=None):
    """float64 attention over the pattern's reference mask (GQA by repeating kv heads)."""
    s = q.shape[2]
    rep = q.shape[1] // k.shape[1]
    qd, kd, vd = (t.double() for t in (q, k, v))
    kd, vd = kd.repeat_interleave(rep, dim=1), vd.repeat_interleave(rep, dim=1)
    if estimated is None:
        mask = torch.from_numpy(pattern.mask(layout, s)).to(q.device)
        mask = mask.expand(q.shape[0], q.shape[1], s, s)
    else:  # per (batch, head): the estimator's choice
        masks = []
        for choice in estimated:
            g = choice["grid"]
            masks.append(torch.from_numpy(pattern.mask(layout, s, grid=(
                g["stride"], g["phase_q"], g["phase_k"])) if g else pattern.mask(
                layout, s, vertical=choice["vertical"], slash=choice["slash"],
                later_atoms=choice["later_atoms"])))
        mask = torch.stack(masks).to(q.device).view(q.shape[0], q.shape[1], s, s)
    scores = (qd @ kd.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    probs = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return probs @ vd, lse


def rel_l2(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()


def bitwise(a, b) -> bool:
    return a.shape == b.shape and torch.equal(a.view(torch.int16) if a.dtype != torch.float32
                                              else a.view(torch.int32),
                                              b.view(torch.int16) if b.dtype != torch.float32
                                              else b.view(torch.int32))


plans = {name: pjt.plan_for(p, head_dim=D, dtype=torch.bfloat16) for name, p in PATTERNS.items()}

# ---- the op equals the C API bitwise, and the reference within bf16 tolerance ---------------
for name, plan in plans.items():

    @check(f"op == C API bitwise, and == float64 reference [{name}, {plan.num_passes} pass(es)]")
    def _(name=name, plan=plan):
        q, k, v = inputs(seed=1)
        out, lse = pjt.attention(q, k, v, plan, layout=LAYOUT, return_lse=True)
        c_out, c_lse = c_api_run(plan, q, k, v, LAYOUT, need_lse=True)
        torch.cuda.synchronize()
        assert bitwise(out, c_out), f"out differs from the C API's in {(out != c_out).sum()} places"
        assert bitwise(lse, c_lse), "lse differs from the C API's"
        estimated = None
        if plan.is_dynamic:
            ws = torch.empty(plan.workspace_bytes(1, H, S), device=DEVICE, dtype=torch.uint8)
            probe = torch.empty_like(q)
            plan.run(q, k, v, probe, layout=LAYOUT, workspace=ws, dims="bhsd",
                     lse=torch.empty(1, H, S, device=DEVICE, dtype=torch.float32),
                     stream=torch.cuda.current_stream())
            estimated = plan.estimated_indices(q, k, v, probe, layout=LAYOUT, workspace=ws,
                                               dims="bhsd", stream=torch.cuda.current_stream())
            assert bitwise(probe, out), "Plan.run (DLPack) differs from the op"
        ref, ref_lse = reference(plan.pattern, q, k, v, LAYOUT, estimated)
        err = rel_l2(out, ref)
        finite = torch.isfinite(ref_lse)
        lse_err = (lse.double()[finite] - ref_lse[finite]).abs().max().item()
        assert err < 2e-2, f"relative L2 error {err:.2e} against the float64 reference"
        assert lse_err < 5e-2, f"lse max abs error {lse_err:.2e}"
        return f"rel L2 {err:.1e}, lse max err {lse_err:.1e}"


@check("DLPack Plan.run == op bitwise for bshd, bhsd and a packed-qkv strided view")
def _():
    plan = plans["grid_head"]
    q, k, v = inputs(seed=2)
    expected = pjt.attention(q, k, v, plan, layout=LAYOUT)
    # bshd copies
    qs, ks, vs = (t.transpose(1, 2).contiguous() for t in (q, k, v))
    out_bshd = pjt.attention(qs, ks, vs, plan, layout=LAYOUT, dims="bshd")
    assert bitwise(out_bshd.transpose(1, 2), expected), "bshd differs"
    # one packed buffer [b, s, h + 2 hkv, d] sliced into q, k, v (strided views)
    packed = torch.cat([qs, ks, vs], dim=2)
    qv, kv_, vv = packed[:, :, :H], packed[:, :, H:H + HKV], packed[:, :, H + HKV:]
    out_view = pjt.attention(qv, kv_, vv, plan, layout=LAYOUT, dims="bshd")
    assert bitwise(out_view.transpose(1, 2), expected), "strided views differ"
    out_dl = torch.empty_like(qs)
    plan.run(qv, kv_, vv, out_dl, layout=LAYOUT, dims="bshd",
             lse=torch.empty(1, H, S, device=DEVICE, dtype=torch.float32),
             stream=torch.cuda.current_stream())
    torch.cuda.synchronize()
    assert bitwise(out_dl.transpose(1, 2), expected), "Plan.run (DLPack) differs"


@check("fp16, batch 2, head dim 64, softmax_scale")
def _():
    plan = pjt.plan_for(GRID_HEAD, head_dim=64, dtype=torch.float16)
    g = torch.Generator(device=DEVICE).manual_seed(3)
    q = torch.randn(2, H, S, 64, device=DEVICE, dtype=torch.float16, generator=g)
    k = torch.randn(2, HKV, S, 64, device=DEVICE, dtype=torch.float16, generator=g)
    v = torch.randn(2, HKV, S, 64, device=DEVICE, dtype=torch.float16, generator=g)
    out = pjt.attention(q, k, v, plan, layout=LAYOUT, softmax_scale=0.1)
    ref_q = q.double() * (0.1 * math.sqrt(64))  # the reference scales by 1/sqrt(d): fold 0.1 in
    ref, _ = reference(GRID_HEAD, ref_q, k, v, LAYOUT)
    err = rel_l2(out, ref)
    assert err < 2e-2, f"relative L2 error {err:.2e}"
    return f"rel L2 {err:.1e}"


# ---- torch.compile ----------------------------------------------------------------------------
@check("torch.compile(fullgraph=True): no graph break, equals eager")
def _():
    plan = plans["grid_head"]

    def block(q, k, v):
        out = pjt.attention(q, k, v, plan, layout=LAYOUT)
        return out.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1) * 2.0

    q, k, v = inputs(seed=4)
    explanation = torch._dynamo.explain(block)(q, k, v)
    assert explanation.graph_break_count == 0, f"{explanation.graph_break_count} graph breaks"
    assert explanation.graph_count == 1, f"{explanation.graph_count} graphs"
    torch._dynamo.reset()
    compiled = torch.compile(block, fullgraph=True)
    got = compiled(q, k, v)
    want = block(q, k, v)
    torch.cuda.synchronize()
    assert bitwise(got, want), "compiled differs from eager"
    q2, k2, v2 = inputs(seed=5)  # same shapes: no recompile, new values
    assert bitwise(compiled(q2, k2, v2), block(q2, k2, v2)), "second call differs"
    return "1 graph, 0 breaks"


@check("torch.compile(fullgraph=True) with a dynamic (workspace) plan")
def _():
    plan = plans["grid_estimated"]

    def f(q, k, v):
        return pjt.attention(q, k, v, plan, layout=LAYOUT) + 0

    q, k, v = inputs(seed=6)
    got = torch.compile(f, fullgraph=True)(q, k, v)
    assert bitwise(got, f(q, k, v)), "compiled differs from eager"


# ---- CUDA graphs ------------------------------------------------------------------------------
for name in ("grid_head", "grid_estimated"):

    @check(f"CUDA graph capture + replay with new inputs == eager [{name}]")
    def _(name=name):
        plan = plans[name]
        static_q, static_k, static_v = inputs(seed=7)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up off the capture (as torch's docs ask)
            for _ in range(2):
                pjt.attention(static_q, static_k, static_v, plan, layout=LAYOUT)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = pjt.attention(static_q, static_k, static_v, plan, layout=LAYOUT)
        for seed in (8, 9):
            q, k, v = inputs(seed=seed)
            static_q.copy_(q)
            static_k.copy_(k)
            static_v.copy_(v)
            graph.replay()
            eager = pjt.attention(q, k, v, plan, layout=LAYOUT)
            torch.cuda.synchronize()
            assert bitwise(static_out, eager), f"replay with seed {seed} differs from eager"
        return "2 replays"


@check("torch.compile(mode='reduce-overhead') (CUDA graphs through inductor) == eager")
def _():
    plan = plans["a_shape"]

    def f(q, k, v):
        return pjt.attention(q, k, v, plan, layout=LAYOUT) * 1.0

    compiled = torch.compile(f, mode="reduce-overhead", fullgraph=True)
    for seed in (10, 11, 12):
        q, k, v = inputs(seed=seed)
        got = compiled(q, k, v).clone()
        assert bitwise(got, f(q, k, v)), f"seed {seed} differs"


# ---- FlexAttention parity through Pattern.to_mask_mod -----------------------------------------
@check("Pattern.to_mask_mod: FlexAttention on the same mask agrees within bf16 tolerance")
def _():
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    except ImportError as error:
        raise Skip(f"no FlexAttention in this torch: {error}")
    seq = 1024
    layout = Layout.text_vision_text(seq, 50, 20)
    plan = plans["grid_head"]
    q, k, v = inputs(seq=seq, kv_heads=H, seed=13)
    mask_mod = GRID_HEAD.to_mask_mod(layout, seq, device=DEVICE)
    block_mask = create_block_mask(mask_mod, None, None, seq, seq, device=DEVICE)
    flex = torch.compile(flex_attention)(q, k, v, block_mask=block_mask)
    ours = pjt.attention(q, k, v, plan, layout=layout)
    err = rel_l2(ours, flex)
    assert err < 2e-2, f"relative L2 {err:.2e} against FlexAttention"
    return f"rel L2 {err:.1e}"


# ---- bad inputs -------------------------------------------------------------------------------
def expect_error(cls, text, fn):
    try:
        fn()
    except cls as error:
        assert text in str(error), f"message {str(error)!r} lacks {text!r}"
        return
    raise AssertionError(f"no {cls.__name__} ({text!r})")


@check("bad inputs raise clear errors")
def _():
    plan = plans["grid_head"]
    q, k, v = inputs(seed=14)
    expect_error(permjit.InvalidArgumentError, "q: a cpu tensor",
                 lambda: pjt.attention(q.cpu(), k, v, plan, layout=LAYOUT))
    expect_error(permjit.UnsupportedError, "q: dtype fp32",
                 lambda: pjt.attention(q.float(), k.float(), v.float(), plan, layout=LAYOUT))
    expect_error(permjit.InvalidArgumentError, "q: 3-d tensor",
                 lambda: pjt.attention(q[0], k, v, plan, layout=LAYOUT))
    transposed = q.transpose(-1, -2).contiguous().transpose(-1, -2)  # head dim stride = S
    expect_error(permjit.InvalidArgumentError, "q: head dim not contiguous",
                 lambda: pjt.attention(transposed, k, v, plan, layout=LAYOUT))
    expect_error(permjit.InvalidArgumentError, "k: shape",
                 lambda: pjt.attention(q, k[:, :, :-1], v[:, :, :-1], plan, layout=LAYOUT))
    k3, v3 = (torch.randn(1, 3, S, D, device=DEVICE, dtype=torch.bfloat16) for _ in range(2))
    expect_error(permjit.InvalidArgumentError, "kv_heads",
                 lambda: pjt.attention(q, k3, v3, plan, layout=LAYOUT))
    expect_error(permjit.InvalidArgumentError, "layout",
                 lambda: pjt.attention(q[:, :, :900], k[:, :, :900], v[:, :, :900], plan,
                                       layout=LAYOUT))
    expect_error(permjit.InvalidArgumentError, "the plan is for head_dim 128",
                 lambda: pjt.attention(q[..., :64], k[..., :64], v[..., :64], plan,
                                       layout=LAYOUT))


# ---- permjit.transformers on a small Qwen2.5-VL (python/examples/qwen2_vl_video.py) -----------
def transformers_example():
    try:
        import transformers
    except ImportError as error:
        raise Skip(f"transformers is not importable: {error}")
    import permjit.transformers  # noqa: F401 - raises UnsupportedError before 4.53

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import qwen2_vl_video

    return transformers, qwen2_vl_video


TRANSFORMERS_SHAPE = dict(layers=2, heads=8, kv_heads=2, head_dim=128)


@check("transformers: Qwen2.5-VL video, every head dense == SDPA logits within bf16 tolerance")
def _():
    transformers, example = transformers_example()
    model = example.build_model(**TRANSFORMERS_SHAPE, dtype=torch.bfloat16, device=DEVICE)
    inputs, _, _ = example.video_inputs(model, frames=4)
    sdpa, _ = example.logits(model, inputs)
    ours, stats = example.logits(model, inputs, permjit.transformers.config_for_model(model))
    assert stats.get("permjit") == TRANSFORMERS_SHAPE["layers"], f"calls: {stats}"
    err = example.rel_l2(ours, sdpa)
    assert err < 2e-2, f"logits relative L2 {err:.2e} against SDPA"
    return (f"transformers {transformers.__version__}, {inputs['input_ids'].shape[1]} tokens, "
            f"rel L2 {err:.1e}")


@check("transformers: MMInference config == its reference masks, same bits on 1 or 4 "
       "streams; decode falls back to SDPA")
def _():
    _, example = transformers_example()
    import permjit.transformers as pjtf

    model = example.build_model(**TRANSFORMERS_SHAPE, dtype=torch.bfloat16, device=DEVICE)
    inputs, per_frame, _ = example.video_inputs(model, frames=4)
    config = example.mminference_config(model, per_frame)
    ours, stats = example.logits(model, inputs, config)
    reference, _ = example.logits(model, inputs, config, backend="reference")
    sdpa, _ = example.logits(model, inputs)
    assert stats.get("permjit") == TRANSFORMERS_SHAPE["layers"], f"calls: {stats}"
    err = example.rel_l2(ours, reference)
    assert err < 2e-2, f"logits relative L2 {err:.2e} against the reference masks"
    sparse_vs_dense = example.rel_l2(reference, sdpa)
    assert sparse_vs_dense > 5 * err, (
        f"the sparse masks barely change the logits ({sparse_vs_dense:.1e}): not a check")
    # Head groups on one stream, one after another: the same bits as on concurrent streams.
    serial, _ = example.logits(model, inputs, config, group_streams=1)
    assert torch.equal(serial, ours), (
        f"group_streams=1 vs 4: rel L2 {example.rel_l2(serial, ours):.1e}, not the same bits")
    handle = pjtf.enable(model, config)
    try:
        with torch.no_grad():
            model.generate(**inputs, max_new_tokens=3, do_sample=False)
    finally:
        handle.remove()
    layers = TRANSFORMERS_SHAPE["layers"]
    assert handle.stats == {"permjit": layers, "sdpa: decode (one query row)": 2 * layers}, \
        f"calls: {dict(handle.stats)}"
    return f"rel L2 {err:.1e} (sparse vs dense {sparse_vs_dense:.1e})"


failed = [r for r in results if r[0] == "FAIL"]
passed = [r for r in results if r[0] == "PASS"]
skipped = [r for r in results if r[0] == "SKIP"]
print(f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
sys.exit(1 if failed else 0)
