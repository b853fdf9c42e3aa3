"""The offline head search on arrays: a head whose attention is planted on a local window is
found to be a sparse head, and bad arrays are refused."""

import numpy as np
import pytest

import permjit
from permjit import Layout


def planted_inputs(seq_len=128, head_dim=16):
    rng = np.random.default_rng(0)
    # Head 0: q_i = k_i (scaled) so each query attends mostly to itself and neighbours (local).
    # Head 1: random (attention spread out).
    k = rng.standard_normal((2, seq_len, head_dim)).astype(np.float32)
    q = rng.standard_normal((2, seq_len, head_dim)).astype(np.float32)
    q[0] = 8.0 * k[0]
    return q, k


def test_search_finds_a_sparse_head_for_the_planted_one():
    q, k = planted_inputs()
    layout = Layout.text_vision_text(128, 8, 8)
    result = permjit.search_heads([(q, k, layout)], model="planted", layer=2)
    assert result.config.model == "planted" and result.config.layers == [2]
    assert result.config.num_heads == 2
    assert [h["head"] for h in result.heads] == [0, 1]
    for head in result.heads:
        scores = head["scores"]
        assert 0 <= head["chosen"] < len(scores)
        assert all(0.0 <= s["recall"] <= 1.0 + 1e-9 for s in scores)
    chosen = result.heads[0]["scores"][result.heads[0]["chosen"]]
    assert not chosen["dense"] and chosen["density"] < 0.6
    assert result.config.pattern(2, 0) != permjit.causal()


def test_search_refuses_bad_arrays():
    q, k = planted_inputs()
    with pytest.raises(permjit.InvalidArgumentError, match=r"inputs\[0\].q"):
        permjit.search_heads([(q[0], k, None)])
    with pytest.raises(permjit.InvalidArgumentError, match="inputs: none"):
        permjit.search_heads([])
    with pytest.raises(permjit.InvalidArgumentError, match="options_json.recall_budget"):
        permjit.search_heads([(q, k, None)], recall_budget="high")


def test_search_on_the_gpu_or_a_clear_error():
    q, k = planted_inputs(seq_len=200, head_dim=16)
    layout = Layout.text_vision_text(200, 8, 8)
    with pytest.raises(permjit.InvalidArgumentError, match="options_json.device"):
        permjit.search_heads([(q, k, layout)], device="tpu")
    with pytest.raises(permjit.InvalidArgumentError, match="options_json.dtype"):
        permjit.search_heads([(q, k, layout)], device="gpu", dtype="fp8")
    try:
        result = permjit.search_heads([(q, k, layout)], device="gpu", model="planted")
    except permjit.DriverError as error:  # no GPU here: the search says so
        assert "CUDA driver" in str(error) or "GPU" in str(error)
        return
    cpu = permjit.search_heads([(q, k, layout)], model="planted")
    # The GPU default list adds vertical-slash candidates; the head the CPU finds sparse stays
    # sparse, and the GPU's choices are among its scores.
    chosen = result.heads[0]["scores"][result.heads[0]["chosen"]]
    assert not chosen["dense"]
    assert len(result.heads[0]["scores"]) == len(cpu.heads[0]["scores"]) + 2
