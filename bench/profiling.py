"""Profile the end-to-end loader in every thread and summarise where its wall time goes.

``cProfile`` only sees the thread that enabled it. The loader hands work to
threads (the ``COPY`` queue, the point-in-polygon pool), so :class:`ThreadProfiler`
also gives every thread started while it is on a profiler of its own, and
:func:`summarise` reports the main thread and each group of threads separately
(their times overlap in wall time, so they are not added up).
"""

from __future__ import annotations

import cProfile
import pstats
import re
import threading

#: Modules whose functions are expanded in the tree (the project's own code).
PROJECT = ("/compstat/", "/etl/", "/geo/")
ROOT = ("etl/incidents.py", "load_incidents")
LOCK_WAIT = ("~", 0, "<method 'acquire' of '_thread.lock' objects>")
QUEUE_WAIT = ("~", 0, "<method 'get' of '_queue.SimpleQueue' objects>")
PSYCOPG_WAIT = ("psycopg/connection.py", "wait")


class ThreadProfiler:
    """A main-thread profiler plus one profiler per thread started while enabled."""

    def __init__(self) -> None:
        self.main = cProfile.Profile()
        self.threads: list[tuple[str, cProfile.Profile]] = []
        self._original = threading.Thread.run

    def enable(self) -> None:
        original, threads = self._original, self.threads

        def run(thread: threading.Thread) -> None:
            profiler = cProfile.Profile()
            threads.append((thread.name, profiler))
            profiler.enable()
            try:
                original(thread)
            finally:
                profiler.disable()

        threading.Thread.run = run  # type: ignore[method-assign]
        self.main.enable()

    def disable(self) -> None:
        self.main.disable()
        threading.Thread.run = self._original  # type: ignore[method-assign]

    def groups(self) -> dict[str, list[cProfile.Profile]]:
        """Return the thread profilers grouped by thread name without its numbers."""
        found: dict[str, list[cProfile.Profile]] = {}
        for name, profiler in self.threads:
            found.setdefault(re.sub(r"[-_]?\d+", "", name) or name, []).append(profiler)
        return found


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


def _tree(
    stats: pstats.Stats, root: tuple, total: float, depth: int, share: float, start: int = 1
) -> dict:
    """Return the call tree under ``root`` and the multi-caller helpers met on the way."""
    raw = stats.stats  # type: ignore[attr-defined]
    stats.calc_callees()
    callees = stats.all_callees  # type: ignore[attr-defined]
    tree: list[dict] = []
    shared: dict[tuple, float] = {}

    def walk(func: tuple, level: int, seen: frozenset) -> None:
        children = []
        for callee, value in callees.get(func, {}).items():
            if value[3] >= share * total and callee not in seen:
                children.append((value[3], callee, value[1]))
        for cumulative, callee, calls in sorted(children, reverse=True):
            tree.append(
                {
                    "level": level,
                    "name": _name(callee),
                    "calls": calls,
                    "cum_s": cumulative,
                    "share": cumulative / total,
                }
            )
            if level >= depth or not _is_project(callee):
                continue
            if len(raw[callee][4]) > 1:
                # Called from several places: pstats cannot split its callees by caller.
                shared[callee] = raw[callee][3]
            else:
                walk(callee, level + 1, seen | {callee})

    walk(root, start, frozenset({root}))
    helpers = []
    for func, cumulative in sorted(shared.items(), key=lambda item: -item[1]):
        parts = [
            {"name": _name(callee), "calls": value[1], "cum_s": value[3], "share": value[3] / total}
            for callee, value in sorted(callees.get(func, {}).items(), key=lambda item: -item[1][3])
            if value[3] >= share * total
        ]
        helpers.append(
            {
                "name": _name(func),
                "calls": raw[func][1],
                "cum_s": cumulative,
                "share": cumulative / total,
                "callees": parts,
            }
        )
    return {"tree": tree, "shared": helpers}


def _top_own(stats: pstats.Stats, total: float, n: int = 12) -> list[dict]:
    raw = stats.stats  # type: ignore[attr-defined]
    own = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:n]
    return [
        {
            "name": _name(func),
            "calls": value[1],
            "own_s": value[2],
            "cum_s": value[3],
            "share": value[2] / total,
        }
        for func, value in own
    ]


def _own(stats: pstats.Stats, file_suffix: str, name: str) -> float:
    raw = stats.stats  # type: ignore[attr-defined]
    return sum(v[2] for f, v in raw.items() if f[0].endswith(file_suffix) and f[2] == name)


def summarise(profiler: ThreadProfiler, wall_s: float, depth: int = 4, share: float = 0.01):
    """Return the main thread's call tree under ``load_incidents`` and each thread group's.

    Parameters
    ----------
    profiler : ThreadProfiler
        Profiles of one call of ``load_incidents``.
    wall_s : float
        Wall time of that call.
    depth : int
        How many levels of the project's own functions to expand.
    share : float
        Smallest share of the wall time shown in a tree.
    """
    stats = pstats.Stats(profiler.main)
    raw = stats.stats  # type: ignore[attr-defined]
    root = next(f for f in raw if f[0].endswith(ROOT[0]) and f[2] == ROOT[1])
    total = raw[root][3]
    main = {
        **_tree(stats, root, total, depth, share),
        "top_own": _top_own(stats, total),
        "lock_wait_s": raw.get(LOCK_WAIT, (0, 0, 0.0))[2],
        "server_wait_s": _own(stats, *PSYCOPG_WAIT),
    }
    groups = []
    for name, profilers in sorted(profiler.groups().items()):
        merged = pstats.Stats(profilers[0])
        for extra in profilers[1:]:
            merged.add(extra)
        graw = merged.stats  # type: ignore[attr-defined]
        runs = [f for f in graw if f[0].endswith("threading.py") and f[2] == "run"]
        busy_total = sum(graw[f][3] for f in runs)
        idle = sum(graw.get(f, (0, 0, 0.0))[2] for f in (LOCK_WAIT, QUEUE_WAIT))
        # Entry points: the project's functions the thread machinery calls directly.
        entries = [
            f
            for f, v in graw.items()
            if _is_project(f) and v[3] >= share * total and not any(_is_project(c) for c in v[4])
        ]
        tree, shared = [], []
        for entry in sorted(entries, key=lambda f: -graw[f][3]):
            tree.append(
                {
                    "level": 1,
                    "name": _name(entry),
                    "calls": graw[entry][1],
                    "cum_s": graw[entry][3],
                    "share": graw[entry][3] / total,
                }
            )
            below = _tree(merged, entry, total, depth + 1, share, start=2)
            tree += below["tree"]
            shared += below["shared"]
        groups.append(
            {
                "name": name,
                "threads": len(profilers),
                "thread_s": busy_total,
                "idle_s": idle,
                "server_wait_s": _own(merged, *PSYCOPG_WAIT),
                "tree": tree,
                "shared": shared,
                "top_own": _top_own(merged, total, 8),
            }
        )
    return {"wall_s": wall_s, "profiled_s": total, "main": main, "threads": groups}
