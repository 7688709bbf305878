"""Turn the benchmark results into the summary table and ``docs/performance.md``."""

from __future__ import annotations

from bench import common


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def summary_table(results: dict) -> str:
    """Return the Markdown table of the pipelines and the target checks."""
    found = results["pipelines"]
    lines = [
        "| pipeline | rows in | rows stored | best s | median s | rows/s (best) "
        "| rows/s (median) | peak RSS MB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name in common.PIPELINES:
        if name not in found:
            continue
        p = found[name]
        lines.append(
            f"| {common.LABELS[name]} | {p['rows_in']:,} | {p['rows_stored']:,} "
            f"| {p['best_s']:.2f} | {p['median_s']:.2f} | {_rate(p['best_rate'])} "
            f"| {_rate(p['median_rate'])} | {p['peak_rss_mb']:,.0f} |"
        )
    lines.append("")
    lines.extend(f"* {check}" for check in targets(results))
    return "\n".join(lines)


def ratios(results: dict, basis: str = "median_rate") -> dict[str, float | None]:
    """Return end-to-end throughput over the floor's and over the textbook's."""
    found = results["pipelines"]
    e2e = found.get("end_to_end", {}).get(basis)
    out: dict[str, float | None] = {}
    for other in ("floor", "textbook"):
        rate = found.get(other, {}).get(basis)
        out[other] = e2e / rate if e2e and rate else None
    return out


def targets(results: dict) -> list[str]:
    """Return one line per acceptance target: measured value, target, PASS or MISS."""
    median, best = ratios(results), ratios(results, "best_rate")
    lines = []

    def verdict(ok: bool) -> str:
        return "**PASS**" if ok else "**MISS**"

    if median["floor"] is not None:
        floor = median["floor"]
        lines.append(
            f"end-to-end / floor = {floor:.3f} (1/{1 / floor:.1f}); target >= 1/12 = 0.083: "
            f"{verdict(floor >= common.TARGET_FLOOR)} (best runs: {best['floor']:.3f})"
        )
    if median["textbook"] is not None:
        textbook = median["textbook"]
        lines.append(
            f"end-to-end / textbook = {textbook:.2f}x; target >= 10x: "
            f"{verdict(textbook >= common.TARGET_TEXTBOOK)} (best runs: {best['textbook']:.2f}x)"
        )
    e2e = results["pipelines"].get("end_to_end")
    if e2e:
        lines.append(
            f"end-to-end peak RSS = {e2e['peak_rss_mb']:,.0f} MB; target < 2 GB (2,000 MB): "
            f"{verdict(e2e['peak_rss_mb'] < common.TARGET_RSS_MB)}"
        )
    return lines


def _read_side(results: dict) -> list[str]:
    """Return the read-side section: p50/p95 of each read against the raw computation."""
    runs = results.get("raw", {}).get("end_to_end") or []
    measured = next((r["read_side"] for r in runs if r.get("read_side")), None)
    if measured is None:
        return [
            "The read side was not measured in this run (it runs after the first end-to-end load).",
            "",
        ]
    labels = {
        "cube_build": "first read after a load (builds the vintage's count cube)",
        "first_weekly": "the first weekly sector table computed after that (cold memory)",
        "weekly": f"weekly sector table, {measured['groups']} groups x 3 windows, computed",
        "weekly_cached": "the same tables, answered from the computed-table cache",
        "trend": "a sector's weekly trend since 2019 (alto impacto), computed",
        "raw_weekly": "raw: the weekly sector table from `incident` + `assignment` in SQL",
        "raw_trend": "raw: a sector's weekly trend from `incident` + `assignment` in SQL",
    }
    lines = ["| read | requests | p50 ms | p95 ms | max ms |", "|---|--:|--:|--:|--:|"]
    for key, label in labels.items():
        r = measured.get(key)
        if r is None:
            continue
        lines.append(
            f"| {label} | {r['n']} | {r['p50_ms']:,.1f} | {r['p95_ms']:,.1f} | {r['max_ms']:,.1f} |"
        )
    verdict = "**PASS**" if measured["speedup_weekly_p95"] >= 20 else "**MISS**"
    trend_verdict = "**PASS**" if measured["speedup_trend_p95"] >= 20 else "**MISS**"
    check = measured["check"]
    lines += [
        "",
        f"* weekly table p95: raw / computed = {measured['speedup_weekly_p95']:,.1f}x; "
        f"target >= 20x: {verdict}",
        f"* trend p95: raw / computed = {measured['speedup_trend_p95']:,.1f}x; "
        f"target >= 20x: {trend_verdict}",
        f"* same numbers: the computed table for {measured['as_of'][-1]} has "
        f"{check['cells']:,} unit x group x window cells; {check['cells_differing']} differ "
        "from the raw SQL's",
    ]
    if "page_kb" in measured:
        ok = "**PASS**" if measured["page_kb"] < 300 else "**MISS**"
        lines.append(
            f"* weekly sector page (HTML): {measured['page_kb']:,.0f} KB; target < 300 KB: {ok}"
        )
    lines += [
        "",
        f"As-of dates: {len(measured['as_of'])} Sundays from {measured['as_of'][0]} to "
        f"{measured['as_of'][-1]}. Computed reads call `compute_accountability` and "
        "`compute_trend` (the computed-table cache bypassed, the count cube warm); the raw "
        "reads run the same windows as `count(*) FILTER (...)` over `incident` joined to "
        "`assignment_with_method`, then sum categories into groups. All on one connection, "
        "in the bench process, right after the first end-to-end load.",
        "",
    ]
    return lines


def _hotspots(results: dict) -> list[str]:
    """Return the hotspot map section: the page and its parts against a naive folium map."""
    runs = results.get("raw", {}).get("end_to_end") or []
    measured = next((r["hotspots"] for r in runs if r.get("hotspots")), None)
    if measured is None:
        return ["The hotspot map was not measured in this run.", ""]
    labels = {
        "map_layer": (
            "first map of a 28-day window as a browser gets it: `/mapa`, `/mapa/formas.json` "
            "(topology written once per data version) and `/mapa.json` (numbers, Gi* 999, "
            "emerging computed)"
        ),
        "window_switch": "window switch (`/mapa.json`, numbers only)",
        "gi_star_999": "Gi* with 999 permutations, 847 quadrants",
        "kde": "KDE surface, 250 m quartic on a 250 m grid",
        "naive": "naive: folium map from raw incidents, full geometry, nothing cached",
    }
    lines = ["| step | runs | p50 ms | p95 ms | bytes | gzip bytes |", "|---|--:|--:|--:|--:|--:|"]
    for key, label in labels.items():
        r = measured[key]
        size = f"{r['bytes']:,} | {r['gzip_bytes']:,}" if "bytes" in r else " | "
        lines.append(f"| {label} | {r['n']} | {r['p50_ms']:,.0f} | {r['p95_ms']:,.0f} | {size} |")
    faster = "**PASS**" if measured["speedup_p50"] >= 10 else "**MISS**"
    lighter = "**PASS**" if measured["lighter"] >= 5 else "**MISS**"
    small = "**PASS**" if measured["map_layer"]["bytes"] < 1_500_000 else "**MISS**"
    lines += [
        "",
        f"* naive / map p50 = {measured['speedup_p50']}x; target >= 10x: {faster}",
        f"* naive / map bytes = {measured['lighter']}x ({measured['lighter_gzip']}x gzipped); "
        f"target >= 5x: {lighter}",
        f"* first map payload {measured['map_layer']['bytes'] / 1e6:.2f} MB; target < 1.5 MB: "
        f"{small}",
        f"* reading the vintage's points once per data version: {measured['points_load_ms']:,} ms",
        "",
    ]
    return lines


def _comparison(results: dict) -> list[str]:
    c = results.get("comparison")
    if not c:
        return ["The end-to-end and textbook outputs were not compared in this run."]
    lines = [
        "Daily counts per vintage, quadrant (or outside every quadrant), category and day "
        "of the two pipelines (the loader's `n_spatial`, the textbook's `count(*)`) were "
        f"compared cell by cell: {c['cells']:,} cells, {c['cells_differing']:,} differ, "
        f"total absolute difference {c['abs_difference']:,} incidents.",
        "",
        "| vintage | incidents counted, end-to-end | incidents counted, textbook "
        "| cells | cells differing | abs. difference |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for vintage, v in sorted(c["per_vintage"].items()):
        lines.append(
            f"| {vintage} | {v['end_to_end']:,} | {v['textbook']:,} | {v['cells']:,} "
            f"| {v['cells_differing']:,} | {v['abs_difference']:,} |"
        )
    if c["cells_differing"]:
        lines += [
            "",
            "Differences come from points on a quadrant edge: the loader counts a point on the "
            "boundary as inside (GEOS `intersects`, lowest quadrant id wins), `sjoin` with "
            '`predicate="within"` leaves it outside.',
        ]
    return lines


def _tree_rows(nodes: list[dict]) -> list[str]:
    lines = ["| share of wall | seconds | calls | function |", "|--:|--:|--:|---|"]
    for node in nodes:
        indent = "&nbsp;&nbsp;&nbsp;" * (node["level"] - 1)
        lines.append(
            f"| {node['share']:.0%} | {node['cum_s']:.2f} | {node['calls']:,} "
            f"| {indent}`{node['name']}` |"
        )
    return lines


def _shared_rows(helpers: list[dict]) -> list[str]:
    if not helpers:
        return []
    lines = [
        "",
        "Helpers called from several places above (their callees summed over all callers, "
        "since cProfile cannot split them by caller):",
        "",
        *_tree_rows([]),
    ]
    for helper in helpers:
        lines += _tree_rows([{**helper, "level": 1}])[2:]
        lines += _tree_rows([{**c, "level": 2} for c in helper["callees"]])[2:]
    return lines


def _own_rows(items: list[dict], total: float) -> list[str]:
    lines = ["| share of wall | own s | calls | function |", "|--:|--:|--:|---|"]
    lines += [
        f"| {i['own_s'] / total:.0%} | {i['own_s']:.2f} | {i['calls']:,} | `{i['name']}` |"
        for i in items
    ]
    return lines


def _profile(results: dict) -> list[str]:
    prof = results.get("profile")
    if not prof:
        return ["No profile was taken in this run (`--no-profile`)."]
    total, main = prof["profiled_s"], prof["main"]
    lines = [
        f"One extra run of `load_incidents` under cProfile, on its own fresh database and not "
        f"part of the table above, took {prof['wall_s']:.1f} s of wall time. cProfile slows "
        "Python-level code more than native code, so the shares are indicative. Every thread "
        "is profiled: the main thread below, then each group of worker threads the loader "
        "starts. Threads run at the same time, so their seconds overlap and must not be added "
        "to the main thread's. Shares are of the profiled call's wall time.",
        "",
        "### Main thread",
        "",
        "Call tree under `load_incidents` (cumulative time; callees with at least 1% shown; "
        "the project's own functions expanded):",
        "",
        *_tree_rows(main["tree"]),
        *_shared_rows(main["shared"]),
        "",
        f"The main thread spends {main['lock_wait_s']:.1f} s "
        f"({main['lock_wait_s'] / total:.0%}) blocked on locks, i.e. waiting for its worker "
        f"threads, and {main['server_wait_s']:.1f} s ({main['server_wait_s'] / total:.0%}) in "
        "psycopg's `wait`, i.e. waiting for the server on its own connection.",
        "",
        "Top functions by own time (excluding callees):",
        "",
        *_own_rows(main["top_own"], total),
    ]
    for group in prof.get("threads", []):
        busy = group["thread_s"] - group["idle_s"]
        lines += [
            "",
            f"### Threads `{group['name']}`",
            "",
            f"{group['threads']} thread(s), {group['thread_s']:.1f} thread-seconds in all, of "
            f"which {group['idle_s']:.1f} s idle (blocked on a lock or on the work queue) and "
            f"{group['server_wait_s']:.1f} s in psycopg's `wait` (waiting for the server to "
            f"take `COPY` data or finish a statement): about {max(busy, 0):.1f} s busy, "
            "counting the server waits.",
            "",
        ]
        if group["tree"]:
            lines += [
                "The project's functions these threads run, and what they call:",
                "",
                *_tree_rows(group["tree"]),
                *_shared_rows(group["shared"]),
                "",
            ]
        lines += ["Top functions by own time:", "", *_own_rows(group["top_own"], total)]
    return lines


def _all_runs(results: dict) -> list[str]:
    lines = [
        "Every timed run, in the order they ran (pipelines interleaved within each repeat). "
        "The load average is the machine's 1-minute load just before the timer; this is a "
        "shared machine with 2 cores, and other work running at the same time (tests, servers, "
        "other loads on the same PostgreSQL) slows the pipelines down unevenly. WAL MB is the "
        "write-ahead log the server wrote during the timed part (cluster-wide, so other work on "
        "the server adds to it): a measure of the physical work each pipeline asks of the "
        "server. Code is a fingerprint of `compstat/`, `etl/` and `geo/` when the run started.",
        "",
        "| run | pipeline | seconds | rows/s | peak RSS MB | WAL MB | load avg | code |",
        "|--:|---|--:|--:|--:|--:|--:|---|",
    ]
    raw = results["raw"]
    for i in range(results["repeat"]):
        for name in common.PIPELINES:
            if name not in raw or i >= len(raw[name]):
                continue
            r = raw[name][i]
            load, wal = r.get("load_1m"), r.get("wal_mb")
            lines.append(
                f"| {i + 1} | {name} | {r['seconds']:.2f} | {_rate(r['rows_in'] / r['seconds'])} "
                f"| {r['peak_rss_mb'] * 1.048576:,.0f} | {'?' if wal is None else f'{wal:,.0f}'} "
                f"| {'?' if load is None else f'{load:.2f}'} | `{r.get('code', '?')}` |"
            )
    return [*lines, ""]


def _writes(results: dict) -> list[str]:
    raw = results["raw"]
    lines = [
        "What each pipeline leaves in the database (first run; sizes as PostgreSQL reports "
        "them, after the load) and the WAL the server wrote while it ran:",
        "",
        "| pipeline | table | rows | table MB | index MB | WAL MB (whole run) |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for name in common.PIPELINES:
        if name not in raw or "relations" not in raw[name][0]:
            continue
        first = raw[name][0]
        for i, rel in enumerate(first["relations"]):
            wal = f"{first['wal_mb']:,.0f}" if i == 0 and "wal_mb" in first else ""
            lines.append(
                f"| {name if i == 0 else ''} | `{rel['table']}` | {rel['rows']:,} "
                f"| {rel['table_mb']:,.0f} | {rel['index_mb']:,.0f} | {wal} |"
            )
    e2e, floor = raw.get("end_to_end"), raw.get("floor")
    if e2e and floor and "relations" in e2e[0] and "relations" in floor[0]:
        rows = sum(r["rows"] for r in e2e[0]["relations"])
        mb = sum(r["table_mb"] + r["index_mb"] for r in e2e[0]["relations"])
        floor_mb = sum(r["table_mb"] + r["index_mb"] for r in floor[0]["relations"])
        lines += [
            "",
            f"The end-to-end load writes {rows:,} rows and {mb:,.0f} MB of tables and indexes "
            f"where the floor writes {floor[0]['rows_stored']:,} rows and {floor_mb:,.0f} MB, "
            f"and the server logs {e2e[0]['wal_mb'] / max(floor[0]['wal_mb'], 1e-9):.0f}x as "
            "much WAL for it: the floor ratio compares a complete load with the cheapest "
            "possible write of the same rows.",
        ]
    return [*lines, ""]


def _textbook_steps(results: dict) -> list[str]:
    raw = results["raw"].get("textbook")
    if not raw:
        return []
    steps = raw[0]["steps_s"]
    total = sum(steps.values())
    lines = [
        "Where the textbook pipeline's time goes (first run):",
        "",
        "| step | seconds | share |",
        "|---|--:|--:|",
    ]
    lines += [f"| {name} | {s:.1f} | {s / total:.0%} |" for name, s in steps.items()]
    return [*lines, ""]


def _floor_facts(results: dict) -> list[str]:
    raw = results["raw"].get("floor")
    if not raw:
        return []
    r = raw[0]
    rate = r["rows_stored"] / (r["encode_s"] + r["seconds"])
    return [
        f"The floor's untimed preparation (first run): Arrow parse {r['parse_s']:.1f} s, "
        f"binary encoding with `compstat.pgcopy` {r['encode_s']:.1f} s for "
        f"{r['copy_bytes'] / 1e6:,.0f} MB of `COPY` data. Counting the encoding, the floor "
        f"would run at {rate:,.0f} rows/s.",
        "",
    ]


def _code_note(results: dict) -> str:
    codes = [r.get("code") for runs in results["raw"].values() for r in runs]
    if results.get("profile"):
        codes.append(results["profile"].get("code"))
    distinct = list(dict.fromkeys(c for c in codes if c))
    if len(distinct) == 1:
        return (
            f"Every run measured the same code (fingerprint `{distinct[0]}` of `compstat/`, "
            "`etl/`, `geo/`)."
        )
    return (
        f"**The project's code changed during this run** (fingerprints {', '.join(distinct)}, "
        "see the table of runs): runs are not all comparable; rerun for a clean measurement."
    )


def render(results: dict) -> str:
    """Return the text of ``docs/performance.md``."""
    m = results["machine"]
    found = results["pipelines"]
    runs_note = (
        f"each pipeline ran {results['repeat']} time(s); best and median are over those runs"
        if results["repeat"] > 1
        else "each pipeline ran once (`--repeat 1`, the default), so best = median"
    )
    pg = ", ".join(f"`{k}={v}`" for k, v in m["pg_settings"].items())
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
    setup = ", ".join(f"{name} {p['setup_s']:.0f} s" for name, p in found.items() if "setup_s" in p)
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (`python -m bench.run`); rerun it to refresh this file. "
        f"This version came from `{results['command']}`. "
        "Numbers below were measured in one run on the machine described at the end, on "
        f"{m['date']} at commit {m['commit']}; {runs_note}. The whole run took "
        f"{results['bench_minutes']:.0f} min. {_code_note(results)}",
        "",
        f"Input: `{results['file']}`, {next(iter(found.values()))['rows_in']:,} rows. "
        "Throughput is rows of the file per second of wall time.",
        "",
        "## Results",
        "",
        summary_table(results),
        "",
        "Ratios and verdicts use each pipeline's median time; peak RSS is the largest over "
        "its runs. Peak RSS is the benchmark process's own (`ru_maxrss`: the Python process "
        "running the pipeline, including the interpreter and libraries). It excludes the "
        "PostgreSQL server's memory.",
        "",
        *_all_runs(results),
        *_writes(results),
        "## Read side",
        "",
        *_read_side(results),
        "## Hotspot map",
        "",
        *_hotspots(results),
        "## What each pipeline does, and what is timed",
        "",
        "Each run is its own process on a fresh database (`compstat_bench_<pipeline>`, created "
        "with `compstat.embedded.ensure_database(fresh=True)` and migrated). Both territory "
        "vintages (2016 with population, 2023) are loaded into it by another process before "
        "the timed process starts, and a `CHECKPOINT` is issued just before the timer. "
        f"Untimed set-up took (median) {setup}. The bench databases are dropped at the end.",
        "",
        '* **end-to-end**: `etl.incidents.load_incidents(engine, fgj_file, "fgj")`, the '
        "project's loader, timed from the call to its return: hashing the file, streaming and "
        "parsing the gzip CSV, checks and quarantine, content keys and deduplication, the "
        "offence catalogue, binary `COPY` into `incident`, placing every point in the "
        "quadrants of both vintages (grids built while the first slices are sent), `COPY` "
        "into `assignment` (incident, vintage, spatial quadrant), the "
        "the counts appended to `daily_count` per slice (`etl/counts.py`), `ANALYZE daily_count`, "
        "and the commit.",
        "* **floor**: the same rows as plain numeric columns (`id bigint`, `lat`/`lon double "
        "precision`, `day date`, `offence smallint` code) through one binary `COPY` into an "
        "unindexed table created in an earlier transaction, plus the commit. Parsing (Arrow) "
        "and encoding the `COPY` stream (`compstat.pgcopy`) happen before the timer: this is "
        "the physical floor of the server and the connection, not a loader.",
        '* **textbook**: `pandas.read_csv` of the gzip file, `pd.to_datetime(format="mixed", '
        'errors="coerce")` and the time of day, the offence taxonomy mapped once per distinct '
        "text, a `GeoDataFrame` of points, quadrants of each vintage read with "
        '`geopandas.read_postgis` and joined with `geopandas.sjoin(predicate="within", '
        'how="left")` (one quadrant per point and vintage, lowest id on overlaps), '
        "`to_postgis` of the incidents and `to_sql` of the assignments (chunksize 50,000), then "
        "the daily counts with `INSERT INTO textbook_daily SELECT ... GROUP BY` in PostGIS. "
        "Timed from `read_csv` to the commit of the counts.",
        "",
        *_textbook_steps(results),
        *_floor_facts(results),
        "### Same outputs?",
        "",
        *_comparison(results),
        "",
        "## Where the end-to-end time goes",
        "",
        *_profile(results),
        "",
        "## Machine",
        "",
        f"* CPU: {m['cpu']}; {m['cores']} logical cores ({m['usable_cores']} usable)",
        f"* RAM: {m['ram_gb']:.1f} GB" if m["ram_gb"] else "* RAM: unknown",
        f"* OS: {m['os']}; Python {m['python']}",
        f"* PostgreSQL {m['postgresql']} with PostGIS {m['postgis']}, on the same machine "
        f"(127.0.0.1); {pg}",
        f"* Libraries: {libs}",
        "* The input file is read from the page cache after the first pipeline; client and "
        "server share the cores.",
        "",
        "## Notes",
        "",
        "* There are no timing assertions in the test suite; these numbers are measured only "
        "here. `make bench BENCH_REPEAT=3` (or `python -m bench.run --repeat 3`) gives best and "
        "median over three runs; "
        "`--pipelines end_to_end,floor` reruns a subset (then this file is left alone unless "
        "`--out` is given); `--no-profile` skips the cProfile run.",
        "",
    ]
    return "\n".join(lines)
