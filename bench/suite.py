#!/usr/bin/env python3
"""The benchmark's case list, per tier: what bench/run_suite.sh hands to permjit_bench and to
baselines.py (one file, so both sides measure exactly the same shapes).

Usage: suite.py quick|full --patterns dense,ashape,...   (the patterns permjit_bench lists)

One case per line: pattern seq_len heads head_dim dtype tune flex
  tune  1: permjit_bench also autotunes this shape (tiles x pass split, bounded candidates)
  flex  1: baselines.py times FlexAttention on this mask (0: skipped, and the table says why)
SDPA FLASH_ATTENTION and CUDNN_ATTENTION (dense causal) run once per (S, heads, hd, dtype).

The selection (not the full cross product; the order is the priority when the time budget
runs out - later cases are skipped first):
  full        every pattern, bf16, head dim 128 at 32K x 8 heads, 128K x 8, 1M x 1; then every
              pattern at 32K x 8 in fp16 / hd 128 and in bf16 / hd 64; then every pattern at
              512K x 1 and 16K x 8 (bf16, hd 128).
  quick       32K x 8 for every pattern; the grid head and dense causal also at 128K x 8 and
              1M x 1; the grid head at 32K in fp16 and in hd 64.
  tuned       full: every pattern at 32K and 1M, the grid head at 128K and in its fp16 / hd 64
              variants; quick: the grid head and A-shape at 32K. The dynamic patterns too:
              the tuner times them with a workspace, the estimator included, on random inputs.
  flex        S <= 128K (full: not at 16K, to keep the budget for the longer rows); in full also
              the grid head at 512K and 1M (the long-context grid rows); never for the dynamic patterns
              (their mask is chosen per input).
"""
import argparse
import sys

K = 1024
FLEX_MAX_SEQ = 128 * K
DYNAMIC = ("vertical_slash", "vertical_slash_structured", "qboundary_vertical_slash",
           "grid_estimated")


def flex_for(pattern, seq_len, tier):
    if pattern in DYNAMIC or (tier == "full" and seq_len < 32 * K):
        return 0
    if seq_len <= FLEX_MAX_SEQ:
        return 1
    return 1 if (tier == "full" and pattern == "grid") else 0


def cases(tier, patterns):
    out = []

    def add(pattern, seq_len, heads, head_dim=128, dtype="bf16", tune=0):
        if pattern in patterns:
            out.append((pattern, seq_len, heads, head_dim, dtype, tune,
                        flex_for(pattern, seq_len, tier)))

    if tier == "quick":
        for p in patterns:
            add(p, 32 * K, 8, tune=int(p in ("grid", "ashape")))
        for p in ("grid", "dense"):
            add(p, 128 * K, 8)
            add(p, 1024 * K, 1)
        add("grid", 32 * K, 8, dtype="fp16")
        add("grid", 32 * K, 8, head_dim=64)
        return out
    for p in patterns:
        add(p, 32 * K, 8, tune=1)
    for p in patterns:
        add(p, 128 * K, 8, tune=int(p == "grid"))
    for p in patterns:
        add(p, 1024 * K, 1, tune=1)
    for p in patterns:
        add(p, 32 * K, 8, dtype="fp16", tune=int(p == "grid"))
        add(p, 32 * K, 8, head_dim=64, tune=int(p == "grid"))
    for seq_len, heads in ((512 * K, 1), (16 * K, 8)):
        for p in patterns:
            add(p, seq_len, heads)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tier", choices=["quick", "full"])
    ap.add_argument("--patterns", required=True,
                    help="comma list, from permjit_bench --list-patterns")
    args = ap.parse_args()
    patterns = [p for p in args.patterns.split(",") if p]
    if not patterns:
        sys.exit("suite.py: --patterns is empty (did permjit_bench --list-patterns fail?)")
    print("# pattern seq_len heads head_dim dtype tune flex  (bench/suite.py " + args.tier + ")")
    for c in cases(args.tier, patterns):
        print(" ".join(str(x) for x in c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
