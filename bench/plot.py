#!/usr/bin/env python3
"""Plots the benchmark: per pattern, time per head and effective TFLOP/s (kept pairs) against
sequence length, one line per implementation (permjit default, permjit tuned, SDPA flash,
SDPA cuDNN, FlexAttention). Main sweep only (bf16, head dim 128); the head count differs
between lengths (8 up to 128K, 1 at 512K and 1M), so time is shown per head.

Usage: plot.py RESULTS.jsonl OUT.png     (matplotlib, on the GPU machine)
"""
import json
import sys

SERIES = [("permjit", "permjit", "-o"), ("permjit_tuned", "permjit tuned", "--o"),
          ("sdpa_flash", "SDPA flash (dense)", "-s"), ("sdpa_cudnn", "SDPA cuDNN (dense)", "-^"),
          ("flex", "FlexAttention (same mask)", "-d")]


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: plot.py RESULTS.jsonl OUT.png")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in open(argv[0]) if line.strip().startswith("{")]
    rows = [r for r in rows if "pattern" in r and r.get("dtype") == "bf16"
            and r.get("head_dim") == 128]
    kept = {(r["pattern"], r["seq_len"]): r["kept_pairs"] for r in rows
            if r.get("baseline") == "permjit" and r.get("kept_pairs")}
    patterns = list(dict.fromkeys(r["pattern"] for r in rows))
    if not patterns:
        sys.exit("plot.py: no bf16 / head dim 128 rows to plot")
    fig, axes = plt.subplots(len(patterns), 2, figsize=(11, 3.2 * len(patterns)), squeeze=False)
    card = next((r["card"] for r in rows if "card" in r), "?")
    for i, pattern in enumerate(patterns):
        ax_t, ax_f = axes[i]
        for name, label, style in SERIES:
            pts = sorted((r["seq_len"], r["ms"] / r["heads"], r["heads"]) for r in rows
                         if r["pattern"] == pattern and r.get("baseline") == name and "ms" in r)
            if not pts:
                continue
            xs = [p[0] for p in pts]
            ax_t.plot(xs, [p[1] for p in pts], style, label=label)
            tf = [(s, 4.0 * h * 128 * kept[(pattern, s)] / (ms * h * 1e-3) / 1e12)
                  for s, ms, h in pts if (pattern, s) in kept]
            if tf:
                ax_f.plot([p[0] for p in tf], [p[1] for p in tf], style, label=label)
        for ax in (ax_t, ax_f):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("sequence length")
            ax.grid(True, which="both", alpha=0.3)
        ax_t.set_yscale("log")
        ax_t.set_ylabel("ms per head")
        ax_t.set_title(f"{pattern}: time")
        ax_f.set_ylabel("effective TFLOP/s (kept pairs)")
        ax_f.set_title(f"{pattern}: effective TFLOP/s")
        if ax_t.get_legend_handles_labels()[0]:
            ax_t.legend(fontsize=7)
    fig.suptitle(f"permjit benchmark, bf16, head dim 128, {card}")
    fig.tight_layout()
    fig.savefig(argv[1], dpi=110)
    print(f"plot: {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
