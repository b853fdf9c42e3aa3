"""The tensor checks every entry point shares (Plan.run, LayerPlan.run, permjit.torch): a CPU
tensor, a wrong dtype or shape, or a non-contiguous head dim is a clear error naming the tensor."""

import pytest

import permjit
from permjit._tensors import TensorInfo, attention_geometry, check_lse


def info(name, shape=(2, 100, 8, 64), strides=None, dtype="bf16", device="cuda:0"):
    if strides is None:
        strides, step = [], 1
        for extent in reversed(shape):
            strides.insert(0, step)
            step *= extent
    return TensorInfo(name, device.startswith("cuda"), device, dtype, tuple(shape), tuple(strides))


def qkvo(**changes):
    tensors = {"q": info("q"), "k": info("k", (2, 100, 2, 64)), "v": info("v", (2, 100, 2, 64)),
               "out": info("out")}
    tensors.update(changes)
    return [tensors[n] for n in ("q", "k", "v", "out")]


def test_geometry_of_bshd_and_bhsd():
    g = attention_geometry(*qkvo(), "bshd")
    assert (g.batch, g.seq_len, g.heads, g.kv_heads, g.head_dim) == (2, 100, 8, 2, 64)
    assert g.q_strides == (100 * 8 * 64, 8 * 64, 64)
    t = [info(n, (2, h, 100, 64)) for n, h in (("q", 8), ("k", 2), ("v", 2), ("out", 8))]
    g = attention_geometry(*t, "bhsd")
    assert (g.heads, g.seq_len, g.kv_heads) == (8, 100, 2)
    assert g.q_strides == (8 * 100 * 64, 64, 100 * 64)  # (batch, seq, head)


@pytest.mark.parametrize("changes, cls, message", [
    (dict(q=info("q", device="cpu")), permjit.InvalidArgumentError, "q: a cpu tensor"),
    (dict(v=info("v", (2, 100, 2, 64), device="cuda:1")), permjit.InvalidArgumentError,
     "v: on cuda:1, q on cuda:0"),
    (dict(q=info("q", dtype="fp32")), permjit.UnsupportedError, "q: dtype fp32; allowed: bf16"),
    (dict(k=info("k", (2, 100, 2, 64), dtype="fp16"), v=info("v", (2, 100, 2, 64), dtype="fp16")),
     permjit.InvalidArgumentError, "k: dtype fp16, q bf16"),
    (dict(q=info("q", (200, 8, 64))), permjit.InvalidArgumentError, "q: 3-d tensor"),
    (dict(q=info("q", (2, 100, 8, 64), (51200, 512, 1, 8))), permjit.InvalidArgumentError,
     "q: head dim not contiguous"),
    (dict(v=info("v", (2, 100, 4, 64))), permjit.InvalidArgumentError, "v: shape"),
    (dict(out=info("out", (2, 100, 8, 32))), permjit.InvalidArgumentError, "out: shape"),
    (dict(k=info("k", (2, 99, 2, 64)), v=info("v", (2, 99, 2, 64))),
     permjit.InvalidArgumentError, "k: shape"),
])
def test_bad_tensors(changes, cls, message):
    with pytest.raises(cls) as error:
        attention_geometry(*qkvo(**changes), "bshd")
    assert message in str(error.value)


def test_strided_views_with_a_contiguous_head_dim_are_fine():
    # q sliced out of a packed qkv tensor [b, s, 3, h, d]: strides (s*3*h*d, 3*h*d, d, 1).
    q = info("q", (2, 100, 8, 64), (100 * 3 * 8 * 64, 3 * 8 * 64, 64, 1))
    g = attention_geometry(*qkvo(q=q), "bshd")
    assert g.q_strides == (100 * 3 * 8 * 64, 3 * 8 * 64, 64)


def test_bad_dims():
    with pytest.raises(permjit.InvalidArgumentError, match="dims: 'sbhd'"):
        attention_geometry(*qkvo(), "sbhd")


def test_lse():
    g = attention_geometry(*qkvo(), "bshd")
    check_lse(info("lse", (2, 8, 100), dtype="fp32"), g, "cuda:0")
    with pytest.raises(permjit.InvalidArgumentError, match="lse: dtype bf16"):
        check_lse(info("lse", (2, 8, 100)), g, "cuda:0")
    with pytest.raises(permjit.InvalidArgumentError, match="lse: shape"):
        check_lse(info("lse", (2, 100, 8), dtype="fp32"), g, "cuda:0")
