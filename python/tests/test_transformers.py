"""permjit.transformers without a GPU: layouts from input_ids, registration, the SDPA fallback
decisions, the head groups the op is called with (fake CUDA tensors), a whole small Qwen2.5-VL
through the reference backend, and the q/k capture read by `permjit search`. Needs torch and
transformers (skipped where they are not installed, e.g. CI); gpu_check.py runs the kernels."""

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import permjit  # noqa: E402
import permjit.transformers as pjtf  # noqa: E402
from permjit import Layout  # noqa: E402
from torch._subclasses.fake_tensor import FakeTensorMode  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import qwen2_vl_video as example  # noqa: E402

LAYERS, HEADS, KV_HEADS, HEAD_DIM = 2, 4, 2, 64


@pytest.fixture(scope="module")
def model():
    return example.build_model(layers=LAYERS, heads=HEADS, kv_heads=KV_HEADS, head_dim=HEAD_DIM)


@pytest.fixture(scope="module")
def video(model):
    inputs, per_frame, video_begin = example.video_inputs(model, frames=2, prefix=20, suffix=12)
    return inputs, per_frame, video_begin


def logits(model, inputs):
    with torch.no_grad():
        return model(**inputs).logits


def test_vision_token_ids_come_from_the_model_config(model):
    assert pjtf.vision_token_ids(model.config) == (example.IMAGE_TOKEN, example.VIDEO_TOKEN)
    llava_video = SimpleNamespace(image_token_index=32000, video_token_index=32001,
                                  image_token_id=None)
    assert pjtf.vision_token_ids(llava_video) == (32000, 32001)
    assert pjtf.vision_token_ids(SimpleNamespace(image_token_id=7, image_token_index=7)) == (7,)


def test_layouts_from_qwen2_vl_input_ids():
    start, end, image, video = (example.VISION_START, example.VISION_END, example.IMAGE_TOKEN,
                                example.VIDEO_TOKEN)
    # text, <|vision_start|>, 4 image pads, <|vision_end|>, text, a second block of 6 video pads
    row0 = [11, 12, start] + [image] * 4 + [end, 13] + [start] + [video] * 6 + [end, 14]
    row1 = [11] * 5 + [start] + [video] * 8 + [end] + [15] * 3
    layouts = pjtf.layouts_from_input_ids(torch.tensor([row0, row1]), (image, video))
    assert layouts[0] == Layout([("text", 0, 3), ("vision", 3, 7), ("text", 7, 10),
                                 ("vision", 10, 16), ("text", 16, 18)])
    assert layouts[1] == Layout([("text", 0, 6), ("vision", 6, 14), ("text", 14, 18)])
    assert pjtf.layouts_from_input_ids(torch.tensor(row1), (video,)) == [layouts[1]]
    with pytest.raises(permjit.InvalidArgumentError, match="vision_ids: none"):
        pjtf.layouts_from_input_ids(torch.tensor([row1]), ())


def test_enable_registers_and_attaches_to_the_decoder_layers_only(model):
    from transformers.masking_utils import AttentionMaskInterface
    from transformers.modeling_utils import AttentionInterface

    model.set_attn_implementation("sdpa")
    handle = pjtf.enable(model, pjtf.config_for_model(model))
    try:
        assert AttentionInterface()["permjit"] is pjtf.attention_function
        assert AttentionMaskInterface()["permjit"] is AttentionMaskInterface()["sdpa"]
        assert model.config._attn_implementation == "permjit"
        assert model.config.text_config._attn_implementation == "permjit"
        with_handler = [m for m in model.modules() if "_permjit_attention_handler" in vars(m)]
        assert sorted(m.layer_idx for m in with_handler) == list(range(LAYERS))
        assert all(type(m).__name__ == "Qwen2_5_VLAttention" for m in with_handler)
        assert set(handle.modules) == set(range(LAYERS))
    finally:
        handle.remove()
    assert model.config._attn_implementation == "sdpa"
    assert not [m for m in model.modules() if "_permjit_attention_handler" in vars(m)]


def test_enable_refuses_a_bad_group_stream_count(model):
    for bad in (0, 33, 2.0, True, "4"):
        with pytest.raises(permjit.InvalidArgumentError, match="group_streams"):
            pjtf.enable(model, pjtf.config_for_model(model), group_streams=bad)


def test_enable_refuses_a_config_for_another_model(model):
    wrong_heads = pjtf.config_for_model(model).to_dict()
    wrong_heads["num_heads"] = 2
    for layer in wrong_heads["layers"]:
        layer["heads"] = layer["heads"][:2]
    with pytest.raises(permjit.InvalidArgumentError, match="num_heads 2"):
        pjtf.enable(model, wrong_heads)
    with pytest.raises(permjit.InvalidArgumentError, match=r"layers \[5\]"):
        pjtf.enable(model, pjtf.config_for_model(model, layers=[0, 5]))


def fake_cuda(*shape, dtype=torch.bfloat16, requires_grad=False):
    return torch.empty(*shape, dtype=dtype, device="cuda", requires_grad=requires_grad)


def test_the_fallback_decisions(model, host_runtime):
    config = pjtf.config_for_model(model, layers=[0])
    handle = pjtf.enable(model, config, runtime=host_runtime)
    attention = handle.attention
    layer0, layer1 = handle.modules[0], handle.modules[1]
    vision = SimpleNamespace(is_causal=False, training=False)
    video = Layout.text_vision_text(64, 8, 8)
    text_only = Layout([("text", 0, 64)])
    try:
        with FakeTensorMode():
            q, kv = fake_cuda(1, HEADS, 64, HEAD_DIM), fake_cuda(1, KV_HEADS, 64, HEAD_DIM)
            mask = torch.ones(1, 1, 64, 64, dtype=torch.bool, device="cuda")

            def reason(module=layer0, query=q, key=kv, attention_mask=None, layout=video,
                       **kwargs):
                if layout is None:
                    return attention.decide(module, query, key, attention_mask, **kwargs).reason
                with handle.layout(layout):
                    return attention.decide(module, query, key, attention_mask, **kwargs).reason

            assert reason() is None
            assert reason(query=q[:, :, :1]) == "decode (one query row)"
            assert reason(query=q[:, :, :16]) == "q_len != kv_len (a cached prefix)"
            assert reason(module=vision) == "not causal"
            assert reason(attention_mask=mask) == "an attention mask (padding or a custom mask)"
            assert reason(sliding_window=4096).startswith("sliding_window")
            assert reason(softcap=30.0).startswith("softcap")
            assert reason(query=q.float(), key=kv.float()).startswith("dtype fp32")
            assert reason(layout=None).startswith("no request layout")
            assert reason(layout=text_only) == "no vision tokens in the input"
            assert reason(module=layer1) == "layer 1 not in the model config"
            grad_q = fake_cuda(1, HEADS, 64, HEAD_DIM, requires_grad=True)
            assert reason(query=grad_q) == "autograd (permjit has no backward)"
            with torch.no_grad():
                assert reason(query=grad_q) is None
        q_cpu, kv_cpu = torch.zeros(1, HEADS, 64, HEAD_DIM), torch.zeros(1, KV_HEADS, 64, HEAD_DIM)
        with handle.layout(video):
            assert attention.decide(layer0, q_cpu, kv_cpu).reason == "cpu tensors"
    finally:
        handle.remove()


def test_fixed_layout_rules_that_do_not_fit_fall_back(model, host_runtime):
    rules = {"kind": "text_vision_text", "prefix": 40, "suffix": 40}
    handle = pjtf.enable(model, pjtf.config_for_model(model, layout_rules=rules),
                         runtime=host_runtime)
    try:
        with FakeTensorMode():
            q, kv = fake_cuda(1, HEADS, 64, HEAD_DIM), fake_cuda(1, KV_HEADS, 64, HEAD_DIM)
            # No input_ids: the rules apply; 40 + 40 > 64 is the C++ layoutFor's error.
            reason = handle.attention.decide(handle.modules[0], q, kv).reason
            assert reason.startswith("layout rules: ") and "64" in reason
            q, kv = fake_cuda(1, HEADS, 128, HEAD_DIM), fake_cuda(1, KV_HEADS, 128, HEAD_DIM)
            decision = handle.attention.decide(handle.modules[0], q, kv)
            assert decision.reason is None
            assert decision.layouts == (Layout.text_vision_text(128, 40, 40),)
    finally:
        handle.remove()


@pytest.mark.parametrize("grid_heads, calls", [
    # heads 0, 1 share kv head 0: one call on views, GQA kept (2 q heads on 1 kv head)
    ((0, 1), [((1, 2, 64, 64), (1, 1, 64, 64)), ((1, 2, 64, 64), (1, 1, 64, 64))]),
    # heads 0, 2 are in different GQA groups: gathered, one kv head per q head
    ((0, 2), [((1, 2, 64, 64), (1, 2, 64, 64)), ((1, 2, 64, 64), (1, 2, 64, 64))]),
])
def test_heads_with_one_pattern_run_as_one_op_call(model, host_runtime, monkeypatch,
                                                   grid_heads, calls):
    grid = {"type": "grid", "stride": 7, "phase_q": 0, "phase_k": 0, "sink": 4, "local": 8}
    config = pjtf.config_for_model(
        model, lambda layer, h: grid if h in grid_heads else {"type": "dense"})
    handle = pjtf.enable(model, config, runtime=host_runtime)
    seen = []
    real_attention = pjtf.pjt.attention

    def spy(q, k, v, plan, **kwargs):
        seen.append((tuple(q.shape), tuple(k.shape), str(plan.pattern)))
        return real_attention(q, k, v, plan, **kwargs)

    monkeypatch.setattr(pjtf.pjt, "attention", spy)
    layout = Layout.text_vision_text(64, 8, 8)
    try:
        with FakeTensorMode(), handle.layout(layout):
            q = fake_cuda(1, 64, HEADS, HEAD_DIM).transpose(1, 2)  # transformers' [b, h, s, d]
            kv = fake_cuda(1, KV_HEADS, 64, HEAD_DIM)
            out, weights = pjtf.attention_function(handle.modules[0], q, kv, kv, None,
                                                   scaling=0.125)
            assert weights is None
            assert out.shape == (1, 64, HEADS, HEAD_DIM) and out.dtype == torch.bfloat16
    finally:
        handle.remove()
    assert [(qs, ks) for qs, ks, _ in seen] == calls
    assert "grid(7, 0, 0" in seen[0][2] and seen[1][2] == "causal()"
    assert handle.stats == {"permjit": 1}


def test_the_reference_backend_matches_per_head_masks(model, video):
    inputs, per_frame, _ = video
    config = example.mminference_config(model, per_frame, suffix=12)
    model.set_attn_implementation("sdpa")
    sdpa = logits(model, inputs)
    handle = pjtf.enable(model, config, backend="reference")
    try:
        got = logits(model, inputs)
        stats = dict(handle.stats)
    finally:
        handle.remove()
    want = example.per_head_reference(model, config, inputs)
    assert stats == {"reference": LAYERS}
    assert example.rel_l2(got, want) < 1e-5
    # The sparse masks change the logits: the comparison above is not dense against dense.
    assert example.rel_l2(got, sdpa) > 1e-3


def test_the_dense_config_equals_sdpa_and_decode_falls_back(model, video):
    inputs, _, _ = video
    model.set_attn_implementation("sdpa")
    sdpa = logits(model, inputs)
    handle = pjtf.enable(model, pjtf.config_for_model(model), backend="reference")
    try:
        got = logits(model, inputs)
        assert torch.allclose(got, sdpa, atol=1e-5, rtol=1e-4)
        handle.stats.clear()
        with torch.no_grad():
            model.generate(**inputs, max_new_tokens=3, do_sample=False)
        assert handle.stats == {"reference": LAYERS,
                                "sdpa: decode (one query row)": 2 * LAYERS}
    finally:
        handle.remove()


def test_padding_falls_back_to_sdpa_with_the_mask(model, video):
    inputs, _, _ = video
    padded = dict(inputs)
    padded["attention_mask"] = inputs["attention_mask"].clone()
    padded["attention_mask"][:, :3] = 0  # left padding
    model.set_attn_implementation("sdpa")
    sdpa = logits(model, padded)
    handle = pjtf.enable(model, pjtf.config_for_model(model), backend="reference")
    try:
        got = logits(model, padded)
    finally:
        handle.remove()
    assert handle.stats == {"sdpa: an attention mask (padding or a custom mask)": LAYERS}
    assert torch.allclose(got, sdpa, atol=1e-5, rtol=1e-4)


def test_capture_writes_what_permjit_search_reads(model, tmp_path, permjit_cli):
    if permjit_cli is None:
        pytest.fail("--permjit-cli: not given (ctest passes build/bin/permjit)")
    inputs, per_frame, video_begin = example.video_inputs(model, frames=1, prefix=16, suffix=8)
    seq = inputs["input_ids"].shape[1]
    pre_rope = {}

    def record(layer):
        def hook(module, args, output):
            pre_rope[layer] = output[0].view(seq, HEADS, HEAD_DIM).transpose(0, 1)
        return hook

    attention = pjtf.decoder_attention_modules(model)
    projections = [attention[i].q_proj.register_forward_hook(record(i)) for i in range(LAYERS)]
    model.set_attn_implementation("sdpa")
    sdpa = logits(model, inputs)
    try:
        with pjtf.capture_qk(model, tmp_path) as capture:
            captured = logits(model, inputs)
    finally:
        for p in projections:
            p.remove()
    assert torch.equal(captured, sdpa)  # capturing does not change the model's output
    manifest = json.loads((tmp_path / "capture.json").read_text())
    assert manifest["inputs"] == [{"seq_len": seq, "layout": "layout_0000.json"}]
    layout = Layout.from_json((tmp_path / "layout_0000.json").read_text())
    assert layout == Layout([("text", 0, video_begin),
                             ("vision", video_begin, video_begin + per_frame),
                             ("text", video_begin + per_frame, seq)])
    for layer in range(LAYERS):
        q = np.load(tmp_path / f"layer_{layer}/q_0000.npy")
        k = np.load(tmp_path / f"layer_{layer}/k_0000.npy")
        assert q.dtype == np.float32 and q.shape == (HEADS, seq, HEAD_DIM)
        assert k.dtype == np.float32 and k.shape == (KV_HEADS, seq, HEAD_DIM)
        # Post-RoPE: rotary embedding keeps each row's norm and changes its values.
        before = pre_rope[layer].detach().numpy()
        np.testing.assert_allclose(np.linalg.norm(q, axis=-1), np.linalg.norm(before, axis=-1),
                                   rtol=1e-4)
        assert not np.allclose(q[:, 1:], before[:, 1:], atol=1e-3)
    command = capture.search_command(0, "config.json", model="qwen2.5-vl-tiny")
    assert command[:2] == ["permjit", "search"]
    result = subprocess.run([permjit_cli] + command[1:], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    config = permjit.ModelConfig.load(tmp_path / "config.json")
    assert config.layers == [0] and config.num_heads == HEADS
    assert config.layout_rules["kind"] == "spans"
    # The searched config runs the model (layer 0 through its heads, layer 1 unconfigured).
    handle = pjtf.enable(model, config, backend="reference")
    try:
        logits(model, inputs)
    finally:
        handle.remove()
    assert handle.stats == {"reference": 1, "sdpa: layer 1 not in the model config": 1}
