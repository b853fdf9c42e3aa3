"""permjit.torch without a GPU: the wrapper's checks, the custom op's fake implementation, and a
strict (graph-break-free) torch.export trace over fake CUDA tensors. Needs torch (skipped where
it is not installed, e.g. CI; gpu_check.py runs the op for real on the GPU machine)."""

import pytest

torch = pytest.importorskip("torch")

import permjit  # noqa: E402
import permjit.torch as pjt  # noqa: E402
from permjit import Layout, SpanRef, causal, grid, local, rows, sink  # noqa: E402
from torch._subclasses.fake_tensor import FakeTensorMode  # noqa: E402

GRID_HEAD = causal() & (sink(4) | local(64) | rows(SpanRef.last(16)) | grid(14, 0, 0))
LAYOUT = Layout.text_vision_text(256, 16, 16)


@pytest.fixture(scope="module")
def plans(host_runtime):
    return {"grid": host_runtime.plan(GRID_HEAD, head_dim=128),
            "causal": host_runtime.plan(causal(), head_dim=128)}


def fake_cuda(*shape, dtype=torch.bfloat16):
    return torch.empty(*shape, dtype=dtype, device="cuda")


def test_cpu_tensors_are_refused_before_the_op(plans):
    q = torch.zeros(1, 4, 256, 128, dtype=torch.bfloat16)
    with pytest.raises(permjit.InvalidArgumentError, match="q: a cpu tensor"):
        pjt.attention(q, q, q, plans["grid"], layout=LAYOUT)


def test_bad_tensors_are_clear_errors(plans):
    with FakeTensorMode():
        good = fake_cuda(1, 4, 256, 128)
        kv = fake_cuda(1, 2, 256, 128)
        cases = [
            (dict(q=fake_cuda(1, 4, 256, 128, dtype=torch.float32)), permjit.UnsupportedError,
             "q: dtype fp32; allowed: bf16, fp16"),
            (dict(q=fake_cuda(4, 256, 128)), permjit.InvalidArgumentError, "q: 3-d tensor"),
            (dict(q=fake_cuda(1, 4, 128, 256).transpose(-1, -2)), permjit.InvalidArgumentError,
             "q: head dim not contiguous"),
            (dict(v=fake_cuda(1, 2, 255, 128)), permjit.InvalidArgumentError, "v: shape"),
            (dict(k=fake_cuda(1, 2, 256, 128, dtype=torch.float16),
                  v=fake_cuda(1, 2, 256, 128, dtype=torch.float16)),
             permjit.InvalidArgumentError, "k: dtype fp16, q bf16"),
            (dict(q=fake_cuda(1, 4, 256, 64), k=fake_cuda(1, 2, 256, 64),
                  v=fake_cuda(1, 2, 256, 64)),
             permjit.InvalidArgumentError, "the plan is for head_dim 128"),
            (dict(q=fake_cuda(1, 4, 256, 128, dtype=torch.float16),
                  k=fake_cuda(1, 2, 256, 128, dtype=torch.float16),
                  v=fake_cuda(1, 2, 256, 128, dtype=torch.float16)),
             permjit.InvalidArgumentError, "the plan is for bf16"),
        ]
        for changes, cls, message in cases:
            args = {"q": good, "k": kv, "v": kv}
            args.update(changes)
            with pytest.raises(cls) as error:
                pjt.attention(args["q"], args["k"], args["v"], plans["grid"], layout=LAYOUT)
            assert message in str(error.value), (changes, str(error.value))
        with pytest.raises(permjit.InvalidArgumentError, match="pattern_or_plan"):
            pjt.attention(good, kv, kv, "causal")


def test_the_fake_implementation_gives_the_output_shapes(plans):
    with FakeTensorMode():
        q, kv = fake_cuda(2, 4, 256, 128), fake_cuda(2, 2, 256, 128)
        out, lse = pjt.attention(q, kv, kv, plans["grid"], layout=LAYOUT, return_lse=True)
        assert out.shape == q.shape and out.dtype == q.dtype and out.device == q.device
        assert lse.shape == (2, 4, 256) and lse.dtype == torch.float32
        # bshd: q [b, s, h, d]; lse is still [b, h, s].
        q, kv = fake_cuda(2, 256, 4, 128), fake_cuda(2, 256, 2, 128)
        out, lse = pjt.attention(q, kv, kv, plans["causal"], dims="bshd", return_lse=True)
        assert out.shape == q.shape and lse.shape == (2, 4, 256)


def test_strict_export_traces_one_graph_with_the_op(plans):
    plan = plans["grid"]

    class Block(torch.nn.Module):
        def forward(self, q, k, v):
            return pjt.attention(q, k, v, plan, layout=LAYOUT).float().sum(dim=-1)

    with FakeTensorMode(allow_non_fake_inputs=True):
        q, k, v = fake_cuda(1, 4, 256, 128), fake_cuda(1, 2, 256, 128), fake_cuda(1, 2, 256, 128)
        # strict=True traces with Dynamo: a graph break would be an error here.
        program = torch.export.export(Block(), (q, k, v), strict=True)
    calls = [n for n in program.graph.nodes if n.op == "call_function"
             and n.target is torch.ops.permjit.attention.default]
    assert len(calls) == 1
    assert calls[0].args[3] == plan.id
    assert calls[0].args[4] == list(LAYOUT.flat_spans)


def test_a_pattern_is_planned_outside_compiled_code(plans):
    pattern = causal()

    class Block(torch.nn.Module):
        def forward(self, q, k, v):
            return pjt.attention(q, k, v, pattern)

    with FakeTensorMode(allow_non_fake_inputs=True):
        q = fake_cuda(1, 4, 256, 128)
        with pytest.raises(Exception, match="plan outside the compiled function"):
            torch.export.export(Block(), (q, q, q), strict=True)


def test_a_freed_plan_is_a_clear_error(host_runtime):
    plan = host_runtime.plan(causal(), head_dim=64)
    plan_id = plan.id
    del plan
    import gc

    gc.collect()
    with pytest.raises(permjit.InvalidArgumentError, match=f"plan_id: {plan_id}"):
        permjit.runtime.plan_by_id(plan_id)
