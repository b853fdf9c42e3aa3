#!/usr/bin/env python3
"""Peer baselines for the permjit benchmark table, measured on the GPU in the same run.

For each (pattern, S, heads, head_dim, dtype) this times:
  sdpa_flash   torch SDPA, FLASH_ATTENTION backend, dense causal
  sdpa_cudnn   torch SDPA, CUDNN_ATTENTION backend, dense causal
  flex         FlexAttention (torch.compile) with a block mask built from a mask function of
               the same semantics as the permjit pattern (MMINFERENCE.md reference semantics)
Medians of triton.testing.do_bench (CUDA events, L2 flushed between runs). Prints one JSON
object per line; bench/gpu_check.sh collects them.

Runs only on the GPU machine (torch + triton); the CPU machine never imports it.
"""
import argparse
import json
import sys


def grid_head_mask(S, stride, phase_q, phase_k, sink, local, vs, ve, trailing):
    """The MMInference grid head of ANCHORS.md as a FlexAttention mask_mod."""

    def mask_mod(b, h, q, k):
        causal = q >= k
        in_vq = (q >= vs) & (q < ve)
        in_vk = (k >= vs) & (k < ve)
        hline = in_vq & (((q - vs) % stride) == phase_q)
        vline = in_vk & (((k - vs) % stride) == phase_k)
        keep = (k < sink) | ((q - k) < local) | (q >= S - trailing) | hline | vline
        return causal & keep

    return mask_mod


def a_shape_mask(sink, local):
    def mask_mod(b, h, q, k):
        return (q >= k) & ((k < sink) | ((q - k) < local))

    return mask_mod


def causal_mask(b, h, q, k):
    return q >= k


def kept_pairs(mask_mod, S, device):
    """Exact kept-pair count, evaluated in row chunks on the GPU."""
    import torch

    total = 0
    k = torch.arange(S, device=device)
    chunk = max(1, (1 << 26) // S)
    for q0 in range(0, S, chunk):
        q = torch.arange(q0, min(S, q0 + chunk), device=device)[:, None]
        total += int(mask_mod(0, 0, q, k[None, :]).sum().item())
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pattern", choices=["dense", "grid", "ashape"], required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--dtype", choices=["bf16", "fp16"], default="bf16")
    ap.add_argument("--stride", type=int, default=14)
    ap.add_argument("--phase-q", type=int, default=0)
    ap.add_argument("--phase-k", type=int, default=0)
    ap.add_argument("--sink", type=int, default=None)
    ap.add_argument("--local", type=int, default=None)
    ap.add_argument("--vision-begin", type=int, default=812)
    ap.add_argument("--trailing", type=int, default=60)
    ap.add_argument("--skip", default="", help="comma list of baselines to skip")
    args = ap.parse_args()

    import torch
    import triton
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    # Defaults of ANCHORS.md: grid head sink/local 1024; A-shape sink 128, local 4096.
    if args.sink is None:
        args.sink = 128 if args.pattern == "ashape" else 1024
    if args.local is None:
        args.local = 4096 if args.pattern == "ashape" else 1024
    S, H, D = args.seq_len, args.heads, args.head_dim
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    dev = "cuda"
    torch.manual_seed(0)
    q = torch.randn(1, H, S, D, device=dev, dtype=dtype)
    k = torch.randn(1, H, S, D, device=dev, dtype=dtype)
    v = torch.randn(1, H, S, D, device=dev, dtype=dtype)
    skip = set(filter(None, args.skip.split(",")))
    card = torch.cuda.get_device_name()

    if args.pattern == "dense":
        mask_mod = causal_mask
    elif args.pattern == "grid":
        mask_mod = grid_head_mask(S, args.stride, args.phase_q, args.phase_k, args.sink, args.local,
                                  args.vision_begin, S - args.trailing, args.trailing)
    else:
        mask_mod = a_shape_mask(args.sink, args.local)
    kept = kept_pairs(mask_mod, S, dev)
    dense_pairs = S * (S + 1) // 2

    def emit(name, ms, pairs):
        tflops = 4.0 * H * D * pairs / (ms * 1e-3) / 1e12
        print(json.dumps({"baseline": name, "pattern": args.pattern, "seq_len": S, "heads": H,
                          "head_dim": D, "dtype": args.dtype, "ms": ms, "eff_tflops": tflops,
                          "kept_pairs": pairs, "card": card}), flush=True)

    def bench(fn):
        fn()
        torch.cuda.synchronize()
        return triton.testing.do_bench(fn, warmup=50, rep=300, return_mode="median")

    for name, backend in (("sdpa_flash", SDPBackend.FLASH_ATTENTION),
                          ("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION)):
        if name in skip:
            continue
        try:
            with sdpa_kernel(backend):
                ms = bench(lambda: torch.nn.functional.scaled_dot_product_attention(
                    q, k, v, is_causal=True))
            # Dense baselines compute the whole causal triangle; report their rate on it.
            emit(name, ms, dense_pairs)
        except Exception as e:  # a backend missing on this card/build is reported, not fatal
            print(json.dumps({"baseline": name, "error": str(e)[:200]}), flush=True)

    if "flex" not in skip:
        try:
            # _compile=True builds the block mask without materializing S x S on the GPU.
            block_mask = create_block_mask(mask_mod, B=None, H=None, Q_LEN=S, KV_LEN=S,
                                           device=dev, _compile=True)
            flex = torch.compile(flex_attention)
            ms = bench(lambda: flex(q, k, v, block_mask=block_mask))
            emit("flex", ms, kept)
        except Exception as e:
            print(json.dumps({"baseline": "flex", "pattern": args.pattern, "seq_len": S,
                              "error": f"{type(e).__name__}: {str(e)[:300]}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
