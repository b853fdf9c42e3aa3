#!/usr/bin/env python3
"""Joins permjit and baseline JSON lines (one object per line) into the benchmark table.

Usage: table.py RESULTS.jsonl [...] > table.md
Rows: (pattern, seq_len, heads, head_dim, dtype). Columns: the kept fraction, permjit's default
plan (time, effective TFLOP/s on kept pairs), the tuned plan (time, config, gain over the
default, and whether it passed "tuned never slower than default"), and every baseline's time
with the ratio baseline time / permjit default time (above 1: permjit faster). Effective
TFLOP/s of every row = 4 * heads * head_dim * kept_pairs / time, with permjit's exact count.
Exit status 1 when a permjit row failed or a kept-pair count disagrees. Below the table: the
kept-pair cross-check against the FlexAttention mask counted on the GPU,
skipped and failed measurements with their reasons, compile and cache latencies, and the
compile count. Only numbers from the given files (one run, one card) are compared.
"""
import json
import sys
from collections import OrderedDict

BASELINES = ["sdpa_flash", "sdpa_cudnn", "flex"]


def fmt_s(S):
    if S % (1 << 20) == 0:
        return f"{S >> 20}M"
    return f"{S // 1024}K" if S % 1024 == 0 else str(S)


def load(paths):
    rows = OrderedDict()
    metrics = {}
    notes = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                r = json.loads(line)
                if "metric" in r:
                    metrics[r["metric"]] = r
                    continue
                if "pattern" not in r:
                    notes.append(f"unattributed: {r}")
                    continue
                key = (r["pattern"], r["seq_len"], r["heads"], r["head_dim"], r["dtype"])
                rows.setdefault(key, {})[r.get("baseline", "permjit")] = r
    return rows, metrics, notes


def main(paths):
    if not paths:
        sys.exit("usage: table.py RESULTS.jsonl [...]")
    rows, metrics, notes = load(paths)
    cards = sorted({r["card"] for by in rows.values() for r in by.values() if "card" in r})
    print(f"card: {', '.join(cards) or '?'}\n")
    head = ["pattern", "S", "heads", "hd", "dtype", "kept % of S^2", "permjit ms", "eff TFLOP/s",
            "tuned ms", "tuned config", "gain", "tuned check"]
    for b in BASELINES:
        head += [f"{b} ms", f"x vs {b}"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    kept_ok, kept_bad = 0, []
    failed = 0
    for (pattern, S, H, D, dt), by in rows.items():
        p = by.get("permjit")
        t = by.get("permjit_tuned")
        kept = p.get("kept_pairs") if p else None
        cells = [pattern, fmt_s(S), str(H), str(D), dt]
        cells.append(f"{100.0 * kept / (S * S):.1f}" if kept else "-")
        p_ms = p.get("ms") if p else None
        if p_ms:
            cells += [f"{p_ms:.2f}", f"{p['eff_tflops']:.0f}"]
        else:
            cells += ["-", "-"]
        if t and "ms" in t:
            cells += [f"{t['ms']:.2f}", f"{t['tile']}/{t['pass_split']}", f"{100 * t['gain']:+.1f}%",
                      t["tuned_check"] + ("" if t.get("db_plan_matches") else " (db plan differs)")]
        else:
            cells += ["-"] * 4
        for b in BASELINES:
            r = by.get(b)
            if r and "ms" in r:
                cells.append(f"{r['ms']:.2f}")
                cells.append(f"{r['ms'] / p_ms:.2f}x" if p_ms else "-")
            else:
                cells += ["-", "-"]
        print("| " + " | ".join(cells) + " |")

        for name, r in by.items():
            # Dense baselines are measured once per shape and repeated for every pattern.
            where = (f"{name} {fmt_s(S)} x{H} hd{D} {dt}" if r.get("dense_baseline") else
                     f"{name} {pattern} {fmt_s(S)} x{H} hd{D} {dt}")
            if "error" in r:
                # permjit's own failures fail the run; a baseline's are reported.
                failed += name.startswith("permjit")
                notes.append(f"FAILED {where}: {r['error']}")
            elif "skipped" in r and not r.get("dense_baseline"):
                notes.append(f"skipped {where}: {r['skipped']}")
        if t and t.get("tuned_check") == "slower":
            notes.append(f"tuned slower than default beyond 3% noise: {pattern} {fmt_s(S)} x{H} "
                         f"hd{D} {dt}: {t['ms']:.3f} vs {t['default_ms_pair']:.3f} ms")
        if t and "ms" in t and not t.get("db_plan_matches"):
            notes.append(f"Runtime::plan from the tuning database did not pick the tuned config: "
                         f"{pattern} {fmt_s(S)} x{H} hd{D} {dt}")
        p = by.get("permjit")
        if p and "estimate_ms" in p:
            notes.append(f"online estimation {pattern} {fmt_s(S)} x{H} hd{D} {dt}: "
                         f"{p['estimate_ms']:.3f} ms of {p['ms']:.3f} ms "
                         f"({p['estimate_pct']:.1f}%); attention alone {p['attention_ms']:.3f} ms")
        if p and "grid_choices" in p:
            choices = sorted({tuple(c) for c in p["grid_choices"]})
            notes.append(f"grid estimate {pattern} {fmt_s(S)}: (stride, phase_q, phase_k) chosen "
                         f"per head: {', '.join(str(c) for c in choices)}")
        flex = by.get("flex")
        if flex and "kept_pairs_gpu" in flex and kept is not None:
            if int(flex["kept_pairs_gpu"]) == int(kept):
                kept_ok += 1
            else:
                kept_bad.append(f"{pattern} {fmt_s(S)}: permjit {int(kept)} vs flex mask "
                                f"{flex['kept_pairs_gpu']}")

    print("\nx vs B = B's time / permjit default time (above 1: permjit faster). Effective "
          "TFLOP/s = 4 * heads * head_dim * kept pairs / time (exact kept pairs, "
          "bench/BenchPatterns.h). tuned = the autotuner on the same shape (tiles x pass split, "
          "bounded candidates); gain = default / tuned - 1 timed back to back; 0 when the tuner "
          "kept the default. SDPA rows compute the whole causal triangle.")
    print(f"\nKept-pair check against the FlexAttention mask counted on the GPU: {kept_ok} "
          f"shapes agree" + (f", {len(kept_bad)} DISAGREE: " + "; ".join(kept_bad)
                              if kept_bad else ""))
    c = metrics.get("jit_cache")
    if c:
        print(f"\nKernel cache layer, one kernel ({c['kernel']}): cold NVRTC compile + load "
              f"{c['cold_compile_ms']:.0f} ms, disk hit + load {c['disk_hit_ms']:.2f} ms, "
              f"memory hit {c['memory_hit_us']:.2f} us")
    j = metrics.get("jit_plan")
    if j:
        print(f"\nWhole plan of the grid head (pipeline + codegen + cache, {j['passes']} passes): "
              f"cold {j['cold_plan_ms']:.0f} ms ({j['cold_plan_compiles']} NVRTC compiles), "
              f"disk hit {j['disk_hit_plan_ms']:.1f} ms, memory hit "
              f"{j['memory_hit_plan_us']:.0f} us, same structure with other parameters "
              f"{j['other_params_plan_ms']:.1f} ms ({j['warm_compiles']} compiles when warm)")
    n = metrics.get("compiles")
    if n:
        print(f"\nNVRTC compiles in the whole bench run (Runtime::cacheStats().compiles): "
              f"{n['nvrtc_compiles']} for {n['cases']} cases (disk hits {n['disk_hits']}, "
              f"memory hits {n['memory_hits']})")
    if notes:
        print("\nSkipped and failed:")
        for line in dict.fromkeys(notes):
            print(f"- {line}")
    return 1 if (failed or kept_bad) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
