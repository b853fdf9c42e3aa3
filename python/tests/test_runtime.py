"""Host-only plans (NVRTC compiles, nothing runs): plan properties, cache counting, and every
bad argument a clear exception with permjit's message and category."""

import numpy as np
import pytest

import permjit
from permjit import Layout, SpanRef, causal, grid, grid_head, local, rows, sink

GRID_HEAD = causal() & (sink(64) | local(64) | rows(SpanRef.last(20)) | grid(14, 0, 0))
LAYOUT = Layout([("text", 0, 50), ("vision", 50, 980), ("text", 980, 1000)])
Q, K, V, O, LSE = 0x10000, 0x20000, 0x30000, 0x40000, 0x50000


@pytest.fixture(scope="module")
def plan(host_runtime):
    return host_runtime.plan(GRID_HEAD, head_dim=128, dtype="bf16")


def run(plan, **overrides):
    args = dict(heads=8, kv_heads=2, seq_len=1000, layout=LAYOUT, lse=LSE)
    args.update(overrides)
    plan.run_pointers(args.pop("q", Q), args.pop("k", K), args.pop("v", V), args.pop("o", O),
                      **args)


def test_runtime_properties(host_runtime):
    assert host_runtime.arch == "sm_80"
    assert host_runtime.kernel_family == "sm80"
    assert not host_runtime.has_device and host_runtime.device_name == ""
    assert "host only" in repr(host_runtime)


def test_plan_properties(plan, host_runtime):
    assert plan.num_passes >= 1 and plan.needs_lse == (plan.num_passes > 1)
    assert not plan.is_dynamic and not plan.can_run
    assert plan.arch == "sm_80" and plan.head_dim == 128 and plan.dtype == "bf16"
    assert "__global__" in plan.source(0)
    assert plan.kernel_name(0).startswith("permjit_sm80")
    assert plan.workspace_bytes(1, 8, 1000) == 0
    assert plan.key_split_workspace_bytes() == 0  # the key split is off by default
    with pytest.raises(permjit.InvalidArgumentError, match="pass"):
        plan.source(plan.num_passes)


def test_key_split_workspace_when_the_split_is_on(monkeypatch):
    monkeypatch.setenv("PERMJIT_KEY_SPLIT", "256")
    on = permjit.Runtime(host_only=True, arch="sm_80")
    static = on.plan(causal() & (sink(64) | local(256)))
    # Header, candidates, tiles and work, then 128 chunk states of 128 x (128 + 8) floats.
    assert static.key_split_workspace_bytes() == 19712 + 128 * 128 * 136 * 4


def test_a_second_plan_of_the_same_class_compiles_nothing(plan, host_runtime):
    before = host_runtime.cache_stats()
    # Other values (stride, phases, windows) of the same structure: the same kernels.
    other = host_runtime.plan(causal() & (sink(8) | local(32) | rows(SpanRef.last(4)) |
                                          grid(7, 3, 1)))
    after = host_runtime.cache_stats()
    assert other.structure_key == plan.structure_key
    assert after.compiles == before.compiles


def test_a_valid_run_without_a_gpu_is_a_driver_error(plan):
    with pytest.raises(permjit.DriverError, match="no CUDA driver/GPU") as error:
        run(plan)
    assert error.value.category == "driver error"


@pytest.mark.parametrize("overrides, cls, field", [
    (dict(v=0), permjit.InvalidArgumentError, "v: null"),
    (dict(q=Q + 4), permjit.InvalidArgumentError, "q: pointer is not 16-byte aligned"),
    (dict(head_dim=64), permjit.InvalidArgumentError, "head_dim"),
    (dict(dtype="fp16"), permjit.InvalidArgumentError, "dtype"),
    (dict(dtype="fp32"), permjit.UnsupportedError, "dtype"),
    (dict(kv_heads=5), permjit.InvalidArgumentError, "kv_heads"),
    (dict(seq_len=900), permjit.InvalidArgumentError, "layout"),
    (dict(tensor_layout="sbhd"), permjit.InvalidArgumentError, "tensor_layout"),
    (dict(strides=((1, 2, 3),)), permjit.InvalidArgumentError, "strides: 1 entries"),
    (dict(strides=((8, 8, 8), (8, 8), (8, 8, 8), (8, 8, 8))), permjit.InvalidArgumentError,
     "k_strides"),
    (dict(heads=2.5), permjit.InvalidArgumentError, "heads: expected an integer"),
])
def test_bad_run_arguments_name_the_field(plan, overrides, cls, field):
    with pytest.raises(cls) as error:
        run(plan, **overrides)
    assert field in str(error.value)


def test_bad_plans(host_runtime):
    with pytest.raises(permjit.UnsupportedError, match="head_dim"):
        host_runtime.plan(causal(), head_dim=96)
    with pytest.raises(permjit.UnsupportedError, match="dtype"):
        host_runtime.plan(causal(), dtype="fp8")
    with pytest.raises(permjit.InvalidArgumentError, match="pass_split"):
        host_runtime.plan(causal(), pass_split="many")
    with pytest.raises(permjit.InvalidArgumentError, match="tile"):
        host_runtime.plan(causal(), tile=(64, 64))
    with pytest.raises(permjit.PermjitError, match="block_m"):
        host_runtime.plan(causal(), tile=(48, 64, 4, 2))


def test_plans_from_json_text(host_runtime):
    plan = host_runtime.plan('{"kind": "causal"}', head_dim=64, dtype="fp16")
    assert plan.pattern == causal()
    assert plan.head_dim == 64


def test_a_device_runtime_without_a_gpu_says_why():
    reason = permjit.device_unavailable_reason()
    assert reason  # this machine has no GPU
    with pytest.raises(permjit.DriverError):
        permjit.Runtime(device=0)


def test_host_only_needs_an_arch():
    with pytest.raises(permjit.PermjitError, match="arch"):
        permjit.Runtime(host_only=True)


def test_dynamic_plans(host_runtime):
    plan = host_runtime.plan(grid_head(estimate_strides=[8, 14]), head_dim=128)
    assert plan.is_dynamic
    assert plan.workspace_bytes(1, 8, 4096) > 0
    static = host_runtime.plan(causal())
    with pytest.raises(permjit.InvalidArgumentError, match="static"):
        static.estimated_indices_pointers(Q, K, V, O, heads=8, seq_len=128, workspace=0x60000,
                                          workspace_bytes=1 << 20)


def test_tensors_must_be_cuda_tensors(plan):
    q = np.zeros((1, 1000, 8, 128), dtype=np.float32)
    with pytest.raises(permjit.InvalidArgumentError, match="q: a cpu tensor"):
        plan.run(q, q, q, q, layout=LAYOUT)
    with pytest.raises(permjit.InvalidArgumentError, match="q: a list is no tensor"):
        plan.run([1], q, q, q)


def test_layer_plans(host_runtime, repo_root):
    text = (repo_root / "docs" / "model-config.md").read_text()
    config = permjit.ModelConfig(text.split("```json", 1)[1].split("```", 1)[0])
    layer = host_runtime.plan_layer(config, 0, head_dim=128)
    assert layer.num_heads == config.num_heads == 4
    workspace_bytes = layer.workspace_bytes(1, 4096)
    assert workspace_bytes > 0  # the grid head's passes merge through a workspace lse
    with pytest.raises(permjit.InvalidArgumentError, match="workspace"):
        layer.run_pointers(Q, K, V, O, seq_len=4096)
    with pytest.raises(permjit.DriverError):
        layer.run_pointers(Q, K, V, O, seq_len=4096, workspace=0x100000,
                           workspace_bytes=workspace_bytes)
    with pytest.raises(permjit.InvalidArgumentError, match="layer"):
        host_runtime.plan_layer(config, 7)


def test_pointers_are_ints_in_range(plan):
    for name in ("q", "k", "v", "o"):
        for bad, why in ((1.5, "expected a device pointer"), ("0x10", "expected a device pointer"),
                         (True, "expected a device pointer"), (-1, "allowed: a device pointer"),
                         (1 << 64, "allowed: a device pointer")):
            label = "out" if name == "o" else name
            with pytest.raises(permjit.InvalidArgumentError, match=f"{label}: .*{why}"):
                run(plan, **{name: bad})
    with pytest.raises(permjit.InvalidArgumentError, match="lse: .*expected a device pointer"):
        run(plan, lse=object())
    with pytest.raises(permjit.InvalidArgumentError, match="workspace: .*allowed"):
        run(plan, workspace=-8)
    with pytest.raises(permjit.DriverError):  # numpy integers are pointers too
        run(plan, q=np.uint64(Q))


def test_a_closed_plan_says_so(host_runtime, repo_root):
    plan = host_runtime.plan(causal(), head_dim=64)
    plan.close()
    plan.close()  # twice is fine
    for call in (lambda: plan.source(0), lambda: plan.kernel_name(0),
                 lambda: plan.workspace_bytes(1, 1, 64), lambda: run(plan, lse=0)):
        with pytest.raises(permjit.InvalidArgumentError, match=r"plan: closed \(close\(\)"):
            call()
    text = (repo_root / "docs" / "model-config.md").read_text()
    config = permjit.ModelConfig(text.split("```json", 1)[1].split("```", 1)[0])
    layer = host_runtime.plan_layer(config, 0, head_dim=128)
    layer.close()
    with pytest.raises(permjit.InvalidArgumentError, match=r"layer plan: closed"):
        layer.workspace_bytes(1, 4096)
