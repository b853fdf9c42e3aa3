#!/usr/bin/env python3
"""Peer baselines for the permjit benchmark table, measured on the GPU in the same run.

For the cases of a case file (bench/suite.py; the same file permjit_bench reads) this times:
  sdpa_flash   torch SDPA, FLASH_ATTENTION backend, dense causal
  sdpa_cudnn   torch SDPA, CUDNN_ATTENTION backend, dense causal
               (both once per (S, heads, head_dim, dtype), reported for every pattern there)
  flex         FlexAttention (torch.compile) with a block mask built from a mask function of
               the same semantics as the permjit pattern (bench/BenchPatterns.h; the parameters
               below must equal its PatternParams). Cases with flex=0 are reported as skipped
               with the reason (vertical_slash: per-input indices; long sequences: time budget).
Timing: one warm-up call (compiles), one timed call estimates the time, then as many calls as
fit --time-cap-s (at least 3, at most 20), each bracketed by CUDA events; the median. Inputs
are larger than L2 at every bench shape. Cases after --deadline (unix seconds) are skipped.
For S <= 32K the exact kept-pair count of the flex mask is computed on the GPU
("kept_pairs_gpu") so bench/table.py can check it against permjit's closed form.
Prints one JSON object per line. Runs only on the GPU machine (torch + triton).

Usage: baselines.py --cases FILE [--deadline T] [--time-cap-s 2]
Exit status 1 when a FlexAttention case failed (its mask code is ours); an SDPA backend missing
on the card is reported in its rows only.
"""
import argparse
import json
import sys
import time

K = 1024
# bench/BenchPatterns.h PatternParams.
P = dict(sink=128, local=4096, last_q=64, stride=14, grid_sink=1024, grid_local=1024,
         prefix=812, trailing=60, mid_text=512, cross_sink=1024)
VISION, TEXT, OTHER = 0, 1, 2  # permjit::Modality
KEPT_CHECK_MAX_SEQ = 32 * K


def layout_spans(pattern, S):
    """(modality, begin, end) spans of the pattern's layout, as BenchPatterns.h builds them."""
    if pattern == "grid":
        return [(TEXT, 0, P["prefix"]), (VISION, P["prefix"], S - P["trailing"]),
                (TEXT, S - P["trailing"], S)]
    if pattern in ("qboundary", "boundary2d"):
        mid, half = S // 2, P["mid_text"] // 2
        return [(TEXT, 0, P["prefix"]), (VISION, P["prefix"], mid - half),
                (TEXT, mid - half, mid + half), (VISION, mid + half, S - P["trailing"]),
                (TEXT, S - P["trailing"], S)]
    return []


def modality_tensors(pattern, S, device):
    """Per position: modality id and rank among that modality's positions."""
    import torch

    mod = torch.full((S,), OTHER, dtype=torch.int32, device=device)
    for m, b, e in layout_spans(pattern, S):
        mod[b:e] = m
    rank = torch.zeros(S, dtype=torch.int32, device=device)
    for m in (VISION, TEXT, OTHER):
        sel = mod == m
        rank[sel] = (torch.cumsum(sel.to(torch.int32), 0) - 1).to(torch.int32)[sel]
    return mod, rank


def mask_mod_for(pattern, S, device):
    """The FlexAttention mask_mod of a bench pattern (reference semantics of docs/method.md)."""
    sink, local, s = P["sink"], P["local"], P["stride"]
    gsink, glocal = P["grid_sink"], P["grid_local"]
    if pattern == "dense":
        return lambda b, h, q, k: q >= k
    if pattern == "ashape":
        return lambda b, h, q, k: (q >= k) & ((k < sink) | ((q - k) < local))
    if pattern == "trishape":
        last = S - P["last_q"]
        return lambda b, h, q, k: (q >= k) & ((k < sink) | ((q - k) < local) | (q >= last))
    mod, rank = modality_tensors(pattern, S, device)

    def grid_terms(q, k):
        hline = (mod[q] == VISION) & ((rank[q] % s) == 0)
        vline = (mod[k] == VISION) & ((rank[k] % s) == 0)
        return (k < gsink) | ((q - k) < glocal) | hline | vline

    if pattern == "grid":
        last = S - P["trailing"]
        return lambda b, h, q, k: (q >= k) & (grid_terms(q, k) | (q >= last))
    if pattern == "qboundary":
        def qboundary(b, h, q, k):
            text_row = mod[q] == TEXT
            a_shape = (k < sink) | ((q - k) < local)
            return (q >= k) & ((text_row & a_shape) | ((mod[q] == VISION) & grid_terms(q, k)))
        return qboundary
    if pattern == "boundary2d":
        cross = P["cross_sink"]

        def boundary2d(b, h, q, k):
            mq, mk, rq, rk = mod[q], mod[k], rank[q], rank[k]
            tt = (mq == TEXT) & (mk == TEXT) & ((rk < sink) | ((rq - rk) < local))
            vv = (mq == VISION) & (mk == VISION) & (
                (rk < gsink) | ((rq - rk) < glocal) | ((rq % s) == 0) | ((rk % s) == 0))
            vt = (mq == VISION) & (mk == TEXT)
            tv = (mq == TEXT) & (mk == VISION) & (rk < cross)
            return (q >= k) & (tt | vv | vt | tv)
        return boundary2d
    raise ValueError(f"no mask function for pattern {pattern}")


def kept_pairs_gpu(mask_mod, S, device):
    """Exact kept-pair count, evaluated in row chunks on the GPU."""
    import torch

    total = 0
    k = torch.arange(S, device=device)
    chunk = max(1, (1 << 26) // S)
    for q0 in range(0, S, chunk):
        q = torch.arange(q0, min(S, q0 + chunk), device=device)[:, None]
        total += int(mask_mod(0, 0, q, k[None, :]).sum().item())
    return total


def read_cases(path):
    cases = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            f7 = line.split()
            if len(f7) != 7:
                sys.exit(f"baselines.py: {path}:{n}: expected 7 fields, got '{line}'")
            p, S, H, D, dt, tune, flex = f7
            cases.append(dict(pattern=p, seq_len=int(S), heads=int(H), head_dim=int(D), dtype=dt,
                              flex=flex == "1"))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--deadline", type=float, default=0.0)
    ap.add_argument("--time-cap-s", type=float, default=2.0)
    args = ap.parse_args()
    cases = read_cases(args.cases)

    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    if not torch.cuda.is_available():
        sys.exit("baselines.py: torch sees no CUDA device")
    dev = "cuda"
    card = torch.cuda.get_device_name()
    # One compiled graph per (pattern, shape): raise dynamo's recompile limit so no case falls
    # back to eager flex_attention (which materializes the S x S scores).
    import torch._dynamo

    for limit in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit",
                  "accumulated_recompile_limit"):
        if hasattr(torch._dynamo.config, limit):
            setattr(torch._dynamo.config, limit, 1024)
    flex = torch.compile(flex_attention, dynamic=False)
    failures = 0

    def out(row):
        print(json.dumps(row), flush=True)

    def base(c, name):
        return {"baseline": name, "pattern": c["pattern"], "seq_len": c["seq_len"],
                "heads": c["heads"], "head_dim": c["head_dim"], "dtype": c["dtype"],
                "card": card}

    def timed(fn):
        fn()  # warm-up (compiles)
        torch.cuda.synchronize()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

        def once():
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            return start.elapsed_time(stop)

        estimate = max(once(), 1e-3)
        runs = min(20, max(3, int(args.time_cap_s * 1e3 / estimate)))
        times = sorted(once() for _ in range(runs))
        return times[len(times) // 2], runs

    def past_deadline():
        return args.deadline > 0 and time.time() > args.deadline

    shapes = {}  # (S, H, D, dtype) -> {name: row or error}
    tensors_key, tensors = None, None
    for c in cases:
        S, H, D = c["seq_len"], c["heads"], c["head_dim"]
        shape = (S, H, D, c["dtype"])
        if tensors_key != shape:
            tensors = None
            torch.cuda.empty_cache()
            dtype = torch.bfloat16 if c["dtype"] == "bf16" else torch.float16
            torch.manual_seed(0)
            tensors = [torch.randn(1, H, S, D, device=dev, dtype=dtype) for _ in range(3)]
            tensors_key = shape
        q, k, v = tensors

        if shape not in shapes:
            shapes[shape] = {}
            for name, backend in (("sdpa_flash", SDPBackend.FLASH_ATTENTION),
                                  ("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION)):
                if past_deadline():
                    shapes[shape][name] = {"skipped": "time budget of the suite spent"}
                    continue
                try:
                    with sdpa_kernel(backend):
                        ms, runs = timed(lambda: torch.nn.functional.scaled_dot_product_attention(
                            q, k, v, is_causal=True))
                    shapes[shape][name] = {"ms": ms, "runs": runs}
                except Exception as e:  # a backend missing on this card/build: reported only
                    shapes[shape][name] = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
        for name in ("sdpa_flash", "sdpa_cudnn"):
            out({**base(c, name), **shapes[shape][name], "dense_baseline": True})

        row = base(c, "flex")
        if not c["flex"]:
            dynamic = ("vertical_slash", "vertical_slash_structured", "qboundary_vertical_slash",
                       "grid_estimated")
            row["skipped"] = ("per-input indices: no static mask" if c["pattern"] in dynamic
                              else "block mask and compile too slow at this length for the time "
                              "budget (bench/suite.py)")
            out(row)
            continue
        if past_deadline():
            row["skipped"] = "time budget of the suite spent"
            out(row)
            continue
        try:
            t0 = time.time()
            mask_mod = mask_mod_for(c["pattern"], S, dev)
            if S <= KEPT_CHECK_MAX_SEQ:
                row["kept_pairs_gpu"] = kept_pairs_gpu(mask_mod, S, dev)
            # _compile=True builds the block mask without materializing S x S on the GPU.
            block_mask = create_block_mask(mask_mod, B=None, H=None, Q_LEN=S, KV_LEN=S,
                                           device=dev, _compile=True)
            row["mask_s"] = time.time() - t0
            ms, runs = timed(lambda: flex(q, k, v, block_mask=block_mask))
            row.update(ms=ms, runs=runs, setup_s=time.time() - t0)
            del block_mask
        except Exception as e:
            row["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            failures += 1
        out(row)
        print(f"baselines: {c['pattern']} S={S} H={H} hd={D} {c['dtype']} done", file=sys.stderr,
              flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
