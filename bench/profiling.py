"""Summarise a cProfile of the end-to-end loader: a tree of where its wall time goes."""

from __future__ import annotations

import pstats

#: Modules whose functions are expanded in the tree (the project's own code).
PROJECT = ("/compstat/", "/etl/", "/geo/")
ROOT = ("etl/incidents.py", "load_incidents")


def _name(func: tuple) -> str:
    filename, line, name = func
    for marker in PROJECT:
        if marker in filename:
            module = filename[filename.rindex(marker) + 1 :].removesuffix(".py")
            return f"{module.replace('/', '.')}.{name}"
    if filename == "~":
        return name.strip("<>")
    parts = filename.replace("\\", "/").split("/")
    tail = "/".join(parts[-2:]) if len(parts) > 1 else filename
    return f"{tail}:{line}({name})"


def _is_project(func: tuple) -> bool:
    return any(marker in func[0] for marker in PROJECT)


def summarise(stats: pstats.Stats, wall_s: float, depth: int = 4, share: float = 0.01) -> dict:
    """Return the call tree under ``load_incidents`` and the top functions by own time.

    Parameters
    ----------
    stats : pstats.Stats
        A profile of one call of ``load_incidents``.
    wall_s : float
        Wall time of that call (the profiler slows Python-heavy code down).
    depth : int
        How many levels of the project's own functions to expand.
    share : float
        Smallest share of the total shown in the tree.
    """
    raw = stats.stats  # type: ignore[attr-defined]
    stats.calc_callees()
    callees = stats.all_callees  # type: ignore[attr-defined]
    root = next(f for f in raw if f[0].endswith(ROOT[0]) and f[2] == ROOT[1])
    total = raw[root][3]
    tree: list[dict] = []

    def walk(func: tuple, level: int, seen: frozenset) -> None:
        children = []
        for callee, value in callees.get(func, {}).items():
            cumulative = value[3]
            if cumulative >= share * total and callee not in seen:
                children.append((cumulative, callee, value[1]))
        for cumulative, callee, calls in sorted(children, reverse=True):
            tree.append({"level": level, "name": _name(callee), "calls": calls,
                         "cum_s": cumulative, "share": cumulative / total})  # fmt: skip
            if level < depth and _is_project(callee):
                walk(callee, level + 1, seen | {callee})

    walk(root, 1, frozenset({root}))
    own = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:15]
    top = [{"name": _name(func), "calls": value[1], "own_s": value[2], "cum_s": value[3],
            "share": value[2] / total} for func, value in own]  # fmt: skip
    return {"wall_s": wall_s, "profiled_s": total, "tree": tree, "top_own": top}
