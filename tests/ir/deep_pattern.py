"""Prints a permjit.head that nests DEPTH levels (sink, then alternating union and intersect
with causal: nothing flattens), or with --wide N one union of N distinct sinks."""
import sys

if sys.argv[1] == "--wide":
    n = int(sys.argv[2])
    lines = ["permjit.head @wide attributes {layout = []} {"]
    lines += [f"  %s{i} = permjit.sink {i + 1}" for i in range(n)]
    lines.append("  %u = permjit.union " + ", ".join(f"%s{i}" for i in range(n)))
    lines += ["  permjit.yield %u : !permjit.mask", "}"]
else:
    depth = int(sys.argv[1])
    lines = ["permjit.head @deep attributes {layout = []} {", "  %c = permjit.causal",
             "  %v0 = permjit.sink 4"]
    for i in range(1, depth):
        op = "union" if i % 2 else "intersect"
        lines.append(f"  %v{i} = permjit.{op} %v{i - 1}, %c")
    lines += [f"  permjit.yield %v{depth - 1} : !permjit.mask", "}"]
print("\n".join(lines))
