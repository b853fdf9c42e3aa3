"""Prints a permjit.head whose pattern nests DEPTH levels: sink, then alternating union and
intersect with causal (alternating, so no two nested ops of one kind flatten)."""
import sys

depth = int(sys.argv[1])
lines = ["permjit.head @deep attributes {layout = []} {", "  %c = permjit.causal",
         "  %v0 = permjit.sink 4"]
for i in range(1, depth):
    op = "union" if i % 2 else "intersect"
    lines.append(f"  %v{i} = permjit.{op} %v{i - 1}, %c")
lines += [f"  permjit.yield %v{depth - 1} : !permjit.mask", "}"]
print("\n".join(lines))
