"""Qwen2.5-VL video pre-fill through permjit, on a small model with random weights (no download).

    PYTHONPATH=python PERMJIT_LIBRARY=build/lib/libpermjit.so \
        python3 python/examples/qwen2_vl_video.py [--frames 4] [--long-frames 256]

1. Builds a small Qwen2.5-VL from a config made in code (Qwen2_5_VLConfig: a 1-block vision
   tower, a few decoder layers of head dim 128) and a video-plus-text input: a text prefix,
   <|vision_start|>, the video's tokens (frames x 14 x 14 after the 2x2 merge), <|vision_end|>,
   a text suffix. permjit.transformers reads the video span from input_ids.
2. CPU (always): the layout, the model configs, and a float32 run of the MMInference config
   through the "reference" backend (SDPA with each head pattern's mask) against a per-head
   computation done here from the same masks: the plumbing (head groups, GQA, layouts) without
   a GPU.
3. GPU (CUDA only; without one the script says so and exits 0): bf16 logits with every head
   dense (permjit's causal pattern) against transformers' SDPA; the MMInference config
   (grid heads on the video tokens, A-shape heads) against the reference backend; then the
   pre-fill time of SDPA and permjit at --long-frames.

The functions (build_model, video_inputs, mminference_config) are what python/tests/
gpu_check.py runs too.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch

import permjit
import permjit.transformers as pjtf

IMAGE_TOKEN, VIDEO_TOKEN, VISION_START, VISION_END = 500, 501, 502, 503
PATCHES_PER_SIDE = 28  # per frame: 28 x 28 patches of 14 px, 14 x 14 tokens after the merge
MERGE = 2


def build_model(*, layers: int = 2, heads: int = 16, kv_heads: int = 4, head_dim: int = 128,
                dtype=torch.float32, device="cpu", seed: int = 0):
    """A Qwen2.5-VL with random weights: `layers` decoder layers of `heads` heads (GQA
    `kv_heads`), a one-block vision tower, a 512-token vocabulary."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=512, hidden_size=heads * head_dim, intermediate_size=1024,
                         num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=kv_heads, max_position_embeddings=1 << 20,
                         bos_token_id=0, eos_token_id=1, pad_token_id=2,
                         # rope_scaling / rope_theta: the 4.x spelling, which 5.x still reads
                         rope_theta=1e6,
                         rope_scaling={"type": "mrope", "mrope_section": _mrope_sections(head_dim)}),
        vision_config=dict(depth=1, hidden_size=128, intermediate_size=256, num_heads=2,
                           out_hidden_size=heads * head_dim, patch_size=14,
                           spatial_merge_size=MERGE, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[0]),
        image_token_id=IMAGE_TOKEN, video_token_id=VIDEO_TOKEN,
        vision_start_token_id=VISION_START, vision_end_token_id=VISION_END,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    return model.to(device=device, dtype=dtype)


def _mrope_sections(head_dim: int) -> list[int]:
    """Qwen2.5-VL's split of head_dim / 2 rotary frequencies (16, 24, 24 at head dim 128)."""
    half = head_dim // 2
    return [half // 4, half * 3 // 8, half * 3 // 8]


def video_inputs(model, frames: int, *, prefix: int = 40, suffix: int = 24, seed: int = 0):
    """One request: `prefix` text tokens, a video of `frames` temporal patches (each 14 x 14
    tokens), `suffix` text tokens. Returns (inputs for model(**inputs), tokens per frame,
    the index of the first video token)."""
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    g = torch.Generator().manual_seed(seed)
    side = PATCHES_PER_SIDE
    per_frame = (side // MERGE) ** 2
    text = lambda n: torch.randint(10, 400, (n,), generator=g)  # noqa: E731 - ids below 500
    ids = torch.cat([text(prefix), torch.tensor([VISION_START]),
                     torch.full((frames * per_frame,), VIDEO_TOKEN), torch.tensor([VISION_END]),
                     text(suffix)]).unsqueeze(0)
    patch_values = 3 * 2 * 14 * 14  # channels x temporal patch x patch x patch
    pixels = torch.randn(frames * side * side, patch_values, generator=g)
    inputs = {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids).to(device),
              "pixel_values_videos": pixels.to(device=device, dtype=dtype),
              "video_grid_thw": torch.tensor([[frames, side, side]], device=device)}
    return inputs, per_frame, prefix + 1


def mminference_config(model, tokens_per_frame: int, *, suffix: int = 24):
    """An MMInference-style config: per layer, heads cycle through a grid head along frames
    (stride = tokens per frame), a grid head along patch rows (stride = tokens per row), and an
    A-shape head, with sink / local windows and the trailing text rows dense."""
    row = int(round(tokens_per_frame ** 0.5))

    def head(layer: int, index: int) -> dict:
        kind = (index + layer) % 3
        if kind == 0:
            return {"type": "grid", "stride": tokens_per_frame, "phase_q": 0,
                    "phase_k": index % tokens_per_frame, "sink": 64, "local": 256,
                    "trailing_text_rows": suffix + 1}
        if kind == 1:
            return {"type": "grid", "stride": row, "phase_q": 0, "phase_k": index % row,
                    "sink": 64, "local": 256, "trailing_text_rows": suffix + 1}
        return {"type": "a_shape", "sink": 64, "local": 1024}

    return pjtf.config_for_model(model, head, name="qwen2.5-vl-tiny-mminference")


def rel_l2(a, b) -> float:
    return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()


def per_head_reference(model, config: permjit.ModelConfig, inputs):
    """Logits with each head computed on its own from its pattern's mask: an attention function
    independent of permjit.transformers' head groups (one SDPA per head, kv head h // groups)."""
    from transformers import AttentionInterface

    layout = pjtf.layouts_from_input_ids(inputs["input_ids"],
                                         pjtf.vision_token_ids(model.config))[0]
    masks = {}

    def per_head(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                 **kwargs):
        layer = getattr(module, "layer_idx", None)
        if layer is None or query.shape[2] != key.shape[2] or layer not in config.layers:
            return pjtf.sdpa_attention(module, query, key, value, attention_mask,
                                       scaling=scaling, dropout=dropout, **kwargs)
        seq, per_kv = query.shape[2], query.shape[1] // key.shape[1]
        outs = []
        for h in range(query.shape[1]):
            if (layer, h) not in masks:
                masks[(layer, h)] = torch.from_numpy(
                    config.pattern(layer, h).mask(layout, seq).copy()).to(query.device)
            outs.append(torch.nn.functional.scaled_dot_product_attention(
                query[:, h:h + 1], key[:, h // per_kv:h // per_kv + 1],
                value[:, h // per_kv:h // per_kv + 1], attn_mask=masks[(layer, h)],
                scale=scaling).nan_to_num(0.0))
        return torch.cat(outs, dim=1).transpose(1, 2), None

    AttentionInterface.register("permjit_example_per_head", per_head)
    previous = model.config._attn_implementation
    model.set_attn_implementation("permjit_example_per_head")
    try:
        with torch.no_grad():
            return model(**inputs).logits
    finally:
        model.set_attn_implementation(previous)


def logits(model, inputs, config=None, **enable_options):
    """(logits, stats): SDPA when config is None, else through permjit.transformers."""
    with torch.no_grad():
        if config is None:
            model.set_attn_implementation("sdpa")
            return model(**inputs).logits, None
        handle = pjtf.enable(model, config, **enable_options)
        try:
            return model(**inputs).logits, dict(handle.stats)
        finally:
            handle.remove()


def prefill_ms(model, inputs, config=None, repeats: int = 3, **enable_options) -> float:
    """Median wall time of one pre-fill forward (CUDA events), after one warm-up (compiles)."""
    handle = pjtf.enable(model, config, **enable_options) if config is not None else None
    if handle is None:
        model.set_attn_implementation("sdpa")
    times = []
    try:
        with torch.no_grad():
            model(**inputs)
            for _ in range(repeats):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(
                    enable_timing=True)
                start.record()
                model(**inputs)
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
    finally:
        if handle is not None:
            handle.remove()
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=4,
                        help="temporal patches of the checked video (196 tokens each)")
    parser.add_argument("--long-frames", type=int, default=256,
                        help="temporal patches of the timed video (0: no timing)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--kv-heads", type=int, default=4)
    args = parser.parse_args(argv)
    shape = dict(layers=args.layers, heads=args.heads, kv_heads=args.kv_heads)

    # ---- CPU: layouts, configs, the reference backend against per-head masks ------------------
    model = build_model(**shape)
    inputs, per_frame, video_begin = video_inputs(model, frames=2)
    layout = pjtf.layouts_from_input_ids(inputs["input_ids"],
                                         pjtf.vision_token_ids(model.config))[0]
    print(f"layout of a {inputs['input_ids'].shape[1]}-token request: {layout}")
    config = mminference_config(model, per_frame)
    print(f"MMInference config: {config}; layer 0 head 0: {config.pattern(0, 0)}")
    got, stats = logits(model, inputs, config, backend="reference")
    want = per_head_reference(model, config, inputs)
    err = rel_l2(got, want)
    print(f"CPU float32, reference backend vs per-head masks: rel L2 {err:.1e}, calls {stats}")
    if err > 1e-5 or stats.get("reference") != args.layers:
        print("FAIL: the reference backend disagrees with the per-head computation")
        return 1
    if not torch.cuda.is_available():
        print("no CUDA GPU: the GPU parts (permjit kernels, timing) are skipped")
        return 0

    # ---- GPU: dense pattern vs SDPA, MMInference vs its reference, timing --------------------
    device = torch.device("cuda")
    model = build_model(**shape, dtype=torch.bfloat16, device=device)
    inputs, per_frame, _ = video_inputs(model, frames=args.frames)
    dense = pjtf.config_for_model(model, name="qwen2.5-vl-tiny-dense")
    sdpa, _ = logits(model, inputs)
    ours, stats = logits(model, inputs, dense)
    err = rel_l2(ours, sdpa)
    print(f"GPU bf16, {inputs['input_ids'].shape[1]} tokens, dense pattern vs SDPA: rel L2 "
          f"{err:.1e}, calls {stats}")
    failed = err > 2e-2 or stats.get("permjit") != args.layers
    config = mminference_config(model, per_frame)
    ours, stats = logits(model, inputs, config)
    reference, _ = logits(model, inputs, config, backend="reference")
    err = rel_l2(ours, reference)
    print(f"GPU bf16, MMInference config vs its reference masks: rel L2 {err:.1e}, calls {stats}")
    failed |= err > 2e-2 or stats.get("permjit") != args.layers
    if args.long_frames:
        inputs, per_frame, _ = video_inputs(model, frames=args.long_frames)
        config = mminference_config(model, per_frame)
        tokens = inputs["input_ids"].shape[1]
        sdpa_ms = prefill_ms(model, inputs)
        ours_ms = prefill_ms(model, inputs, config)
        serial_ms = prefill_ms(model, inputs, config, group_streams=1)
        print(f"pre-fill of {tokens} tokens ({args.long_frames} frames x {per_frame}), "
              f"{args.layers} layers x {args.heads} heads: SDPA {sdpa_ms:.1f} ms, permjit "
              f"MMInference {ours_ms:.1f} ms ({sdpa_ms / ours_ms:.2f}x; head groups one after "
              f"another: {serial_ms:.1f} ms)")
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
