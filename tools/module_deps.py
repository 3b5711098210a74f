#!/usr/bin/env python3
"""Check the layering of fxgrid's top-level modules (docs/ARCHITECTURE.md).

Reads every `crate::MODULE` (and `super::super::…` climbing out of a module) in src/ and
reports, per top-level module, the modules it uses; fails if a module uses one of a higher
layer, or if the top-level modules' use graph has a cycle. Doc comments are ignored.

    python3 tools/module_deps.py            # prints the graph, exit 1 on a violation
"""
import re
import sys
from pathlib import Path

# Layer of each top-level module of the library (the binary's `cli` is above them all).
LAYERS = {
    "util": 0, "simd": 0, "precision": 0, "progress": 0, "conventions": 0, "telescope": 0,
    "vis": 0, "error": 6,
    "channelise": 1, "correlate": 1,
    "grid": 2, "image": 2, "sky": 2, "deconvolve": 2,
    "io": 3, "plot": 3,
    "fx": 4, "imaging": 4,
    "cli": 5,
}
# `error` gathers every module's error type for fxgrid::Error: it uses all, nothing uses it.

# Names the crate root re-exports, by the module they come from.
REEXPORTS = {
    "Visibilities": "vis", "VisMeta": "vis", "VisUnits": "vis", "Pol": "vis",
    "VisShapeError": "vis", "Precision": "precision", "SimdLevel": "simd",
    "SimdError": "simd", "Error": "error", "VERSION": "",
}
USE_ROOT = re.compile(r"\bcrate::([A-Z][A-Za-z]*)")

ROOT = Path(__file__).resolve().parent.parent / "src"
USE = re.compile(r"\bcrate::([a-z_]+)")
USE_BRACES = re.compile(r"\bcrate::\{([^}]*)\}")


def top_module(path: Path) -> str:
    rel = path.relative_to(ROOT)
    if rel.parts[0] in ("lib.rs", "main.rs"):
        return ""
    return rel.parts[0].removesuffix(".rs")


def code_lines(text: str):
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("//"):
            continue
        yield line.split("//")[0]


def main() -> int:
    deps: dict[str, set[str]] = {m: set() for m in LAYERS}
    for path in ROOT.rglob("*.rs"):
        m = top_module(path)
        if not m:
            continue
        for line in code_lines(path.read_text()):
            used = set(USE.findall(line))
            used |= {REEXPORTS.get(n, "") for n in USE_ROOT.findall(line)}
            for group in USE_BRACES.findall(line):
                names = [g.strip().split("::")[0] for g in group.split(",") if g.strip()]
                used |= {REEXPORTS.get(n, n) for n in names}
            for u in used:
                if u in LAYERS and u != m:
                    deps.setdefault(m, set()).add(u)
    bad = []
    for m, us in sorted(deps.items()):
        if m not in LAYERS:
            bad.append(f"{m}: not in the layer table")
            continue
        for u in sorted(us):
            if m == "error":
                continue
            if LAYERS[u] > LAYERS[m] or (LAYERS[u] == LAYERS[m] and m in deps.get(u, set())):
                bad.append(f"{m} (layer {LAYERS[m]}) uses {u} (layer {LAYERS[u]})")
        print(f"{m:12} (layer {LAYERS[m]}) uses: {', '.join(sorted(us)) or '-'}")
    # Cycles in the whole graph (depth-first search).
    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for u in deps.get(m, ()):
            if state.get(u) == 1:
                bad.append("cycle: " + " -> ".join(stack + [m, u]))
            elif u not in state:
                visit(u, stack + [m])
        state[m] = 2

    for m in deps:
        if m not in state:
            visit(m, [])
    for b in bad:
        print("VIOLATION:", b)
    print("module layering:", "violations" if bad else "no upward use, no cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
