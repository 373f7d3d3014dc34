"""Explaining outliers: ``dawn.explain.explain`` vs DivExplorer 0.2.6 vs a numpy bincount cube.

    python benchmarks/bench_explain.py [--repeats 3] [--cases 100k,1m] [--write]

Data (made once per case, seeded, saved as Parquet; every side loads it before its timer
starts): N rows × 8 string attributes ``a0..a7`` with 10 uniform values each
(``"a3_v7"``), and a boolean ``is_outlier`` column: base rate 2%, raised in three planted
segments of orders 1-3 (a row's rate is the highest of the segments it is in):

- ``a0=a0_v3`` (10% of rows): 10%;
- ``a1=a1_v5 ∧ a2=a2_v7`` (1% of rows): 30%;
- ``a3=a3_v1 ∧ a4=a4_v2 ∧ a5=a5_v4`` (0.1% of rows): 60%.

Sides (each timed run is a fresh process, so peak memory is measured per side: RSS before
the work, the kernel's peak-RSS mark reset through ``/proc/self/clear_refs``, peak after):

- ``dawn``: ``explain(df, outlier="is_outlier", attributes=ATTRS, min_support=0.01,
  min_risk_ratio=3.0, max_order=3)`` on the DataFrame ``pandas.read_parquet`` gives,
  end to end (Arrow conversion, dictionary encoding, Apriori counting in numba kernels,
  statistics, minimality). After a warm-up call on 20k rows (loads the cached kernels).
  Run with numba's default threads (2 cores here) and with ``NUMBA_NUM_THREADS=1``.
  The encoding step alone (``as_frame`` + ``dawn.explain.encode.encode``) is timed
  separately in the same process.
- ``cube``: the straightforward numpy way: for each of the 92 combinations of 1-3 of the
  8 attributes, combined int64 codes, ``np.bincount`` of all rows and of the outlier rows,
  then the support and risk-ratio filters (no statistics, no minimality). It gets the
  int8 codes dawn's encoder makes, saved as ``.npy``: **encoding is excluded on the cube
  side** (it is included in dawn's time; the ratio with encoding on both sides adds dawn's
  encoding time to the cube's).
- ``divexplorer``: DivExplorer 0.2.6 in its own venv (``benchmarks/.venvs/divexplorer``),
  as its README shows for a boolean outcome: ``DivergenceExplorer(df[ATTRS +
  ["is_outlier"]]).get_pattern_divergence(min_support=S, boolean_outcomes=["is_outlier"])``
  (FP-growth). Its ``min_support`` is a share of *all* rows, dawn's a share of the
  *outliers*, so it runs twice: ``S = 0.01`` (its usual setting; combinations in fewer than
  1% of rows — the order-3 planted segment — are out of its reach) and ``S`` = dawn's
  threshold in rows (``ceil(0.01 × outliers) / N``, so it can see every combination dawn
  can). ``get_pattern_divergence`` has no pattern-length limit; its ``fpgrowth_cm`` has
  ``max_len``, which the second run sets to 3 (the module's ``fpgrowth_cm`` is wrapped).
  At 1M rows only the ``S = 0.01`` run, once, and only when it finishes within 90 s.
- ``stream``: ``StreamingExplainer(outlier="is_outlier", attributes=ATTRS, decay=1.0)``
  fed the 1M rows in 10 Arrow batches of 100k (sliced before the timer); events/s over the
  ``update`` calls, process pinned to one core.

Runs alternate between the sides; figures are medians. dawn's explanations are checked
against the cube's counts, and its top explanations against the planted segments.

This module imports only the standard library and numpy at the top, so the DivExplorer
venv can run it as a worker.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from _peers import timed, warm_times

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

M, K = 8, 10
ATTRS = [f"a{j}" for j in range(M)]
BASE_RATE = 0.02
# (items, outlier rate inside the segment)
PLANTED: list[tuple[dict[str, str], float]] = [
    ({"a0": "a0_v3"}, 0.10),
    ({"a1": "a1_v5", "a2": "a2_v7"}, 0.30),
    ({"a3": "a3_v1", "a4": "a4_v2", "a5": "a5_v4"}, 0.60),
]
MIN_SUPPORT, MIN_RR, MAX_ORDER = 0.01, 3.0, 3
CASES = {"100k": 100_000, "1m": 1_000_000, "smoke": 20_000}
CUBE_TARGET = 2.0        # dawn ≥ 2× faster than the cube at 1M
DIVEX_TARGET = 50.0      # dawn ≥ 50× faster than DivExplorer at 100k
DIVEX_1M_LIMIT = 90.0    # seconds of work allowed to DivExplorer at 1M
STREAM_BATCH = 100_000
ONCE = {"divexplorer_reach": 400}  # sides run once (slow), with their timeout in seconds
DAWN_ENV = {"dawn": {}, "dawn_1t": {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}}
PEER = "divexplorer"
PEER_SPEC = {"steps": [["DivExplorer", "sliceline", "pyarrow"]],
             "check": "import divexplorer, pyarrow; print(divexplorer.__name__)"}


# ---------------------------------------------------------------------------- memory



# ---------------------------------------------------------------------------- data

def make_data(n: int, folder: Path, seed: int) -> dict:
    """Write ``data.parquet`` (and the codes/mask the cube gets); return facts about it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dawn.data import as_frame
    from dawn.explain.encode import encode

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, K, size=(n, M), dtype=np.int8)
    rate = np.full(n, BASE_RATE)
    for items, r in PLANTED:
        inside = np.ones(n, bool)
        for a, v in items.items():
            j = ATTRS.index(a)
            inside &= codes[:, j] == int(v.rsplit("_v", 1)[1])
        rate = np.where(inside, np.maximum(rate, r), rate)
    outlier = rng.random(n) < rate
    cols = {}
    for j, a in enumerate(ATTRS):
        labels = np.array([f"{a}_v{i}" for i in range(K)], dtype=object)
        cols[a] = pa.array(labels[codes[:, j]], pa.string())
    cols["is_outlier"] = pa.array(outlier)
    pq.write_table(pa.table(cols), folder / "data.parquet")
    # the int codes dawn's encoder gives (what the cube counts over)
    enc = encode(as_frame(pq.read_table(folder / "data.parquet")), ATTRS, rank_rows=outlier)
    np.save(folder / "codes.npy", enc.codes)
    np.save(folder / "mask.npy", outlier)
    (folder / "labels.json").write_text(json.dumps(enc.labels))
    n_out = int(outlier.sum())
    return {"n": n, "outliers": n_out, "rate": n_out / n,
            "min_count": max(1, math.ceil(MIN_SUPPORT * n_out - 1e-9))}


# ---------------------------------------------------------------------------- workers

def dawn_worker(folder: Path, save: bool) -> dict:
    import pandas as pd

    from dawn.data import as_frame
    from dawn.explain import explain
    from dawn.explain.encode import encode

    df = pd.read_parquet(folder / "data.parquet")

    def run(d):
        return explain(d, outlier="is_outlier", attributes=ATTRS, min_support=MIN_SUPPORT,
                       min_risk_ratio=MIN_RR, max_order=MAX_ORDER)

    run(df.iloc[:20_000])  # warm-up: loads the cached numba kernels
    res, stats = timed(lambda: run(df))
    stats["warm_seconds"] = warm_times(lambda: run(df))
    mask = df["is_outlier"].to_numpy(dtype=bool)
    stats["encode_seconds"] = float(np.median(
        warm_times(lambda: encode(as_frame(df), ATTRS, rank_rows=mask))))
    stats["n_explanations"] = len(res)
    if save:
        rows = [{"items": r["items"], "outliers": int(r["outliers"]), "count": int(r["count"]),
                 "risk_ratio": float(r["risk_ratio"]), "p_value": float(r["p_value"])}
                for r in res.to_dict("records")]
        (folder / "dawn_result.json").write_text(json.dumps(rows))
    return stats


def cube(codes: np.ndarray, mask: np.ndarray, card: list[int], min_count: int,
         min_rr: float, max_order: int) -> list[tuple[tuple[int, ...], np.ndarray, np.ndarray,
                                                     np.ndarray]]:
    """Counts of every combination of 1..max_order attributes by ``np.bincount``.

    Returns, per attribute combination, the value keys passing ``min_count`` outliers and
    ``min_rr`` risk ratio with their outlier and total counts.
    """
    n, m = codes.shape
    n_out = int(mask.sum())
    cols = [codes[:, j].astype(np.int64) for j in range(m)]
    out = []
    for order in range(1, max_order + 1):
        for combo in combinations(range(m), order):
            key = cols[combo[0]]
            size = card[combo[0]]
            for j in combo[1:]:
                key = key * card[j] + cols[j]
                size *= card[j]
            tot = np.bincount(key, minlength=size)
            o = np.bincount(key[mask], minlength=size)
            with np.errstate(divide="ignore", invalid="ignore"):
                rr = (o / tot) / ((n_out - o) / (n - tot))
            keep = np.flatnonzero((o >= min_count) & (rr >= min_rr))
            out.append((combo, keep, o[keep], tot[keep]))
    return out


def cube_worker(folder: Path, min_count: int, save: bool) -> dict:
    codes = np.load(folder / "codes.npy")
    mask = np.load(folder / "mask.npy")
    labels = json.loads((folder / "labels.json").read_text())
    card = [len(x) for x in labels]

    def run(c, mk):
        return cube(c, mk, card, min_count, MIN_RR, MAX_ORDER)

    run(codes[:20_000], mask[:20_000])
    res, stats = timed(lambda: run(codes, mask))
    stats["warm_seconds"] = warm_times(lambda: run(codes, mask))
    stats["n_passing"] = int(sum(len(k) for _, k, _, _ in res))
    if save:
        rows = []
        for combo, keys, o, t in res:
            for key, oo, tt in zip(keys, o, t, strict=True):
                vals, rest = [], int(key)
                for j in reversed(combo):
                    vals.append(rest % card[j])
                    rest //= card[j]
                items = {ATTRS[j]: labels[j][v] for j, v in zip(combo, reversed(vals),
                                                                 strict=True)}
                rows.append({"items": items, "outliers": int(oo), "count": int(tt)})
        (folder / "cube_result.json").write_text(json.dumps(rows))
    return stats


def stream_worker(folder: Path) -> dict:
    import pyarrow.parquet as pq

    from dawn.explain import StreamingExplainer

    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        pinned = True
    except (AttributeError, OSError):
        pinned = False
    table = pq.read_table(folder / "data.parquet").combine_chunks()
    batches = [table.slice(i, STREAM_BATCH) for i in range(0, table.num_rows, STREAM_BATCH)]

    def make():
        return StreamingExplainer(outlier="is_outlier", attributes=ATTRS, decay=1.0,
                                  min_support=MIN_SUPPORT, min_risk_ratio=MIN_RR,
                                  max_order=MAX_ORDER)

    warm = make()
    for i in range(0, 40_000, 10_000):  # warm-up on separate small batches
        warm.update(table.slice(i, 10_000))
    warm.explain()

    def feed():
        se = make()
        for b in batches:
            se.update(b)
        return se

    se, stats = timed(feed)
    t0 = time.perf_counter()
    res = se.explain()
    stats["explain_seconds"] = time.perf_counter() - t0
    stats["events_per_s"] = table.num_rows / stats["seconds"]
    stats["n_batches"] = len(batches)
    stats["n_counters"] = int(se.n_counters_)
    stats["pinned"] = pinned
    stats["top"] = [dict(d) for d in res["items"].head(len(PLANTED))]
    stats["n_explanations"] = len(res)
    return stats


def divexplorer_worker(folder: Path, min_support: float, max_len: int | None,
                       save: bool) -> dict:
    import pandas as pd
    from divexplorer import DivergenceExplorer

    if max_len is not None:
        import divexplorer.divexplorer as dx

        dx.fpgrowth_cm = functools.partial(dx.fpgrowth_cm, max_len=max_len)
    df = pd.read_parquet(folder / "data.parquet")[[*ATTRS, "is_outlier"]]

    def run(d):
        return DivergenceExplorer(d).get_pattern_divergence(
            min_support=min_support, boolean_outcomes=["is_outlier"])

    run(df.iloc[:2_000])  # warm-up (first-call imports)
    res, stats = timed(lambda: run(df))
    stats["n_patterns"] = len(res)
    stats["max_length"] = int(res["length"].max())
    if save:
        found = {}
        for items, _ in PLANTED:
            key = frozenset(f"{a}={v}" for a, v in items.items())
            hit = res[res["itemset"] == key]
            if len(hit):
                cnt = int(hit["support_count"].iloc[0])
                found[json.dumps(items, sort_keys=True)] = {
                    "count": cnt, "outliers": round(float(hit["is_outlier"].iloc[0]) * cnt),
                    "rank_by_divergence": int((res["is_outlier_div"]
                                               > hit["is_outlier_div"].iloc[0]).sum()) + 1}
        (folder / f"divexplorer_{min_support:g}_result.json").write_text(json.dumps(found))
    return stats


# ---------------------------------------------------------------------------- driver

def run_side(side: str, folder: Path, facts: dict, save: bool, *,
             timeout: float = 1800) -> dict:
    import _peers

    args = ["--worker", side, "--dir", str(folder), "--min-count", str(facts["min_count"])]
    if save:
        args.append("--save")
    if side.startswith("divexplorer"):
        return _peers.run_worker(PEER, Path(__file__).resolve(),
                                 [*args, "--n", str(facts["n"])], timeout=timeout)
    env = dict(os.environ)
    env.update(DAWN_ENV.get(side, {}))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"{side} worker failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    return json.loads([ln for ln in proc.stdout.splitlines() if ln.strip()][-1])


def summarize(runs: list[dict]) -> dict:
    import _peers

    secs = [r["seconds"] for r in runs]
    out = {"median_s": _peers.median(secs), "all_s": secs,
           "peak_increase_mb": _peers.median([r["peak_increase_mb"] for r in runs]),
           "runs": len(runs), "peak_reset": all(r["peak_reset"] for r in runs)}
    if "warm_seconds" in runs[0]:
        out["warm_s"] = _peers.median([x for r in runs for x in r["warm_seconds"]])
    for key in ("encode_seconds", "events_per_s", "explain_seconds"):
        if key in runs[0]:
            out[key] = _peers.median([r[key] for r in runs])
    for key in ("n_explanations", "n_passing", "n_patterns", "max_length", "n_counters",
                "n_batches", "top", "pinned"):
        if key in runs[0]:
            out[key] = runs[0][key]
    return out


def norm(items: dict) -> str:
    return json.dumps(items, sort_keys=True)


def check(folder: Path) -> dict:
    """dawn vs planted segments and vs the cube's counts."""
    dawn = json.loads((folder / "dawn_result.json").read_text())
    cube_rows = {norm(r["items"]): r for r in json.loads((folder / "cube_result.json")
                                                          .read_text())}
    planted = {norm(items) for items, _ in PLANTED}
    top = [norm(r["items"]) for r in dawn[:len(PLANTED)]]
    mismatches = [r["items"] for r in dawn
                  if norm(r["items"]) not in cube_rows
                  or (cube_rows[norm(r["items"])]["outliers"], cube_rows[norm(r["items"])]
                      ["count"]) != (r["outliers"], r["count"])]
    extra = [r["items"] for r in dawn if norm(r["items"]) not in planted]
    union = [set(a.items()) | set(b.items()) for (a, _), (b, _) in combinations(PLANTED, 2)]
    overlaps = all(any(set(e.items()) <= u for u in union) for e in extra)
    return {"top_is_planted": set(top) == planted, "extra_are_overlaps": overlaps,
            "exactly_planted": {norm(r["items"]) for r in dawn} == planted,
            "n_explanations": len(dawn),
            "extra": extra,
            "counts_match_cube": not mismatches, "mismatches": mismatches[:5],
            "planted_rows": [r for r in dawn if norm(r["items"]) in planted],
            "cube_passing": len(cube_rows)}


def run_case(case: str, folder: Path, repeats: int, seed: int, divex_1m: bool) -> dict:
    import _peers

    n = CASES[case]
    t0 = time.perf_counter()
    facts = make_data(n, folder, seed)
    print(f"case {case}: {n:,} rows, {facts['outliers']:,} outliers "
          f"({facts['rate']:.2%}), min_count {facts['min_count']} "
          f"(made in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    small = 50_000 <= n <= 200_000
    sides = ["dawn", "dawn_1t", "cube"]
    if small:
        sides += ["divexplorer", "divexplorer_reach"]
    else:
        sides += ["stream"]
    runs: dict[str, list[dict]] = {s: [] for s in sides}
    errors: dict[str, str] = {}
    for r in range(repeats):
        for side in sides:
            if side in errors or (side in ONCE and r > 0):
                continue
            try:
                runs[side].append(run_side(side, folder, facts, save=(r == 0),
                                           timeout=ONCE.get(side, 1800)))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                errors[side] = str(exc).strip().splitlines()[-1][:300]
                print(f"  [{case}] {side} failed: {errors[side]}", file=sys.stderr)
                continue
            x = runs[side][-1]
            print(f"  [{case}] run {r + 1}/{repeats} {side}: "
                  f"{_peers.fmt_seconds(x['seconds'])} (+{x['peak_increase_mb']:.0f} MB)",
                  file=sys.stderr)
    if not small and divex_1m:
        try:
            x = run_side("divexplorer", folder, facts, save=True,
                         timeout=DIVEX_1M_LIMIT + 60)
            if x["seconds"] > DIVEX_1M_LIMIT:
                errors["divexplorer"] = f"took {x['seconds']:.0f} s (> {DIVEX_1M_LIMIT:g} s)"
            runs["divexplorer"] = [x]
            print(f"  [{case}] divexplorer: {_peers.fmt_seconds(x['seconds'])} "
                  f"(+{x['peak_increase_mb']:.0f} MB)", file=sys.stderr)
        except subprocess.TimeoutExpired:
            errors["divexplorer"] = f"did not finish within {DIVEX_1M_LIMIT:g} s (stopped)"
        except RuntimeError as exc:
            errors["divexplorer"] = str(exc).strip().splitlines()[-1][:300]
    res = {"case": case, "facts": facts, "errors": errors, "check": check(folder)}
    for side, rs in runs.items():
        if rs:
            res[side] = summarize(rs)
    for side in ("divexplorer", "divexplorer_reach"):
        f = folder / f"divexplorer_{reach_support(facts) if side.endswith('reach') else 0.01:g}" \
                     "_result.json"
        if side in res and f.exists():
            res[side]["planted"] = json.loads(f.read_text())
    return res


def reach_support(facts: dict) -> float:
    """DivExplorer's min_support (share of all rows) equal to dawn's outlier threshold."""
    return facts["min_count"] / facts["n"]


# ---------------------------------------------------------------------------- report

def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def fmt_mb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def render(results: list[dict], argv: list[str], versions: dict, load: tuple) -> str:
    import _peers

    fs = _peers.fmt_seconds

    def spread(s: dict) -> str:
        xs = s["all_s"]
        if len(xs) == 1:
            return f"{fs(xs[0])} (1 run)"
        return f"{fs(s['median_s'])} ({fs(min(xs))}–{fs(max(xs))})"

    lines = [
        "## Explaining outliers: dawn vs DivExplorer 0.2.6 vs a numpy bincount cube",
        "",
        "Generated data, seeded, saved as Parquet and loaded before any timer: N rows × 8 "
        "string attributes with 10 uniform values each and a boolean `is_outlier` (base rate "
        "2%), with three planted segments: `a0=a0_v3` (10% of rows, outlier rate 10%), "
        "`a1=a1_v5 ∧ a2=a2_v7` (1%, 30%), `a3=a3_v1 ∧ a4=a4_v2 ∧ a5=a5_v4` (0.1%, 60%).",
        "",
        "- **dawn**: `explain(df, outlier=\"is_outlier\", attributes=[a0..a7], "
        "min_support=0.01, min_risk_ratio=3.0, max_order=3)` on the DataFrame "
        "`pandas.read_parquet` returns, end to end (Arrow view, dictionary encoding, Apriori "
        "counting in numba kernels, risk ratios with intervals, Fisher tests, minimality). "
        "Default threads (2 cores) and `NUMBA_NUM_THREADS=1`.",
        "- **numpy cube**: for each of the 92 combinations of 1–3 attributes, `np.bincount` "
        "of the combined int64 codes over all rows and over the outlier rows, then the "
        "support and risk-ratio filters (no tests, no minimality). It gets the int8 codes "
        "dawn's encoder produces: **encoding is excluded on the cube side and included in "
        "dawn's time**. dawn's encoding alone (`as_frame` + `encode`) is timed separately; "
        "\"cube + encoding\" adds it to the cube's time.",
        "- **DivExplorer 0.2.6** (own venv, FP-growth): `DivergenceExplorer(df)"
        ".get_pattern_divergence(min_support=S, boolean_outcomes=[\"is_outlier\"])`. Its "
        "support is a share of *all* rows, dawn's a share of the *outliers*. `S = 0.01`: its "
        "usual setting, which cannot reach combinations in < 1% of rows (the order-3 "
        "segment), and mines all pattern lengths (`get_pattern_divergence` has no length "
        "limit). *Same reach*: `S` = dawn's threshold in rows (`ceil(0.01 × outliers) / N`) "
        "with its internal `fpgrowth_cm(max_len=3)` (wrapped, since the public call does not "
        "pass it), so it sees every combination dawn counts.",
        "",
        "Each timed run is a fresh process that loads the data and warms up first (dawn and "
        "the cube on 20k rows, DivExplorer on 2k rows); peak memory is the peak RSS increase "
        "during the work (kernel peak mark reset before it). Runs alternate between the "
        "sides; medians (min–max).",
        "",
        "| rows | side | first call, median (min–max) | later calls, median | peak memory "
        "| side ÷ dawn, first call | side ÷ dawn, later calls | target |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for res in results:
        n = f"{res['facts']['n']:,}"
        d, d1 = res.get("dawn"), res.get("dawn_1t")
        if not d:
            continue
        big = res["facts"]["n"] >= 1_000_000

        def row(label, s, target=None, extra_s=None, d=d, n=n):
            warm = s.get("warm_s")
            if extra_s is not None:  # cube + dawn's encoding: later calls only
                warm = warm + extra_s
                first, mem, r0 = "", "", ""
            else:
                first, mem = spread(s), fmt_mb(s["peak_increase_mb"])
                r0 = f"**{s['median_s'] / d['median_s']:.1f}×**"
            r1 = f"{warm / d['warm_s']:.1f}×" if warm is not None else ""
            if s is d:
                r0 = r1 = ""
            tgt = ""
            if target:
                parts = []
                if extra_s is None:
                    parts.append(f"{mark(s['median_s'] / d['median_s'] >= target)} first call")
                if warm is not None:
                    parts.append(f"{mark(warm / d['warm_s'] >= target)} later calls")
                tgt = f"≥{target:g}×: " + ", ".join(parts)
            wcell = fs(warm) if warm is not None else "—"
            return f"| {n} | {label} | {first} | {wcell} | {mem} | {r0} | {r1} | {tgt} |"

        lines.append(row("dawn (default threads)", d))
        if d1:
            lines.append(row("dawn, 1 thread", d1))
        lines.append(f"| {n} | dawn's encoding alone (`as_frame` + `encode`) | | "
                     f"{fs(d['encode_seconds'])} | | | | |")
        if "cube" in res:
            lines.append(row("numpy cube (encoding excluded)", res["cube"],
                             CUBE_TARGET if big else None))
            lines.append(row("numpy cube + dawn's encoding", res["cube"],
                             CUBE_TARGET if big else None, extra_s=d["encode_seconds"]))
        for side, lab in (("divexplorer", "DivExplorer, S = 0.01"),
                          ("divexplorer_reach", "DivExplorer, same reach (S = "
                           f"{reach_support(res['facts']):.2g}, max_len 3)")):
            err = res["errors"].get(side)
            if side in res:
                lines.append(row(lab + (f" ({err})" if err else ""), res[side],
                                 None if big else DIVEX_TARGET))
            elif err:
                lines.append(f"| {n} | {lab} | {err} | | | | | |")
    lines += ["", "What each side found:", ""]
    for res in results:
        c, n = res["check"], f"{res['facts']['n']:,}"
        facts = res["facts"]
        planted = ", ".join(
            f"`{' ∧ '.join(f'{a}={v}' for a, v in r['items'].items())}` "
            f"({r['outliers']:,}/{r['count']:,}, RR {r['risk_ratio']:.1f})"
            for r in c["planted_rows"])
        txt = (f"- {n} rows ({facts['outliers']:,} outliers, {facts['rate']:.2%}; dawn's "
               f"threshold {facts['min_count']} outliers): dawn returned "
               f"{c['n_explanations']} explanation(s); top {len(PLANTED)} = the planted "
               f"segments {mark(c['top_is_planted'])}")
        if c["exactly_planted"]:
            txt += ", and nothing else ✓"
        else:
            extra = "; ".join("`" + " ∧ ".join(f"{a}={v}" for a, v in e.items()) + "`"
                              for e in c["extra"][:4])
            txt += f"; also {len(c['extra'])} more: {extra}"
            if c["extra_are_overlaps"]:
                txt += (" — each lies inside the overlap of two planted segments, whose "
                        "rows carry the higher of the two rates, so its rate is truly "
                        "above each of its subsets' (not a chance find)")
        txt += (f". Planted, as dawn reports them (outliers/rows): {planted}. dawn's counts "
                f"equal the cube's for every explanation {mark(c['counts_match_cube'])}; "
                f"the cube leaves {c['cube_passing']:,} combinations passing the support and "
                "risk-ratio filters (non-minimal ones included).")
        for side, lab in (("divexplorer", "DivExplorer S = 0.01"),
                          ("divexplorer_reach", "DivExplorer same reach")):
            if side in res:
                s = res[side]
                found = s.get("planted", {})
                txt += (f" {lab}: {s['n_patterns']:,} patterns (longest {s['max_length']}), "
                        f"{len(found)} of the {len(PLANTED)} planted segments among them")
                if found:
                    txt += " (rank by divergence: " + ", ".join(
                        str(v["rank_by_divergence"]) for v in found.values()) + ")"
                txt += "."
        lines.append(txt)
    for res in results:
        s = res.get("stream")
        if s:
            top_ok = {norm(t) for t in s["top"]} == {norm(i) for i, _ in PLANTED}
            lines += ["", f"**Streaming** (`StreamingExplainer(outlier=\"is_outlier\", "
                      f"decay=1.0)`, {res['facts']['n']:,} rows in {s['n_batches']} Arrow "
                      f"batches of {STREAM_BATCH:,}, process pinned to one core"
                      f"{'' if s.get('pinned') else ' (pinning failed)'}): "
                      f"**{s['events_per_s'] / 1e6:.2f} M events/s** "
                      f"(`update` total {spread(s)}, peak +{fmt_mb(s['peak_increase_mb'])}; "
                      f"MacroBase reports 2M events/s/core); `explain()` afterwards "
                      f"{fs(s['explain_seconds'])} over {s['n_counters']:,} counters; top "
                      f"{len(PLANTED)} = the planted segments {mark(top_ok)} "
                      f"({s['n_explanations']} explanations)."]
        elif "stream" in res["errors"]:
            lines += ["", f"Streaming explainer skipped: {res['errors']['stream']}"]
    failed = {k: v for r in results for k, v in r["errors"].items()
              if k not in ("divexplorer", "divexplorer_reach", "stream")}
    if failed:
        lines += ["", "Failed sides: " + "; ".join(f"{k}: {v}" for k, v in failed.items())]
    if not all(s.get("peak_reset", True) for r in results for s in r.values()
               if isinstance(s, dict)):
        lines += ["", "(The peak-RSS mark could not be reset; peaks include the warm-up.)"]
    (l1, l5, _), (e1, e5, _) = load
    lines += [
        "",
        f"Machine: {_peers.machine_note()}; load average (1 min / 5 min) {l1:.2f} / {l5:.2f} "
        f"at the start, {e1:.2f} / {e5:.2f} at the end. Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "Reproduce (builds `benchmarks/.venvs/divexplorer` on first use: `pip install "
        "DivExplorer sliceline pyarrow`):",
        "",
        "```bash",
        "python benchmarks/bench_explain.py " + " ".join(argv),
        "```",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cases", default="100k,1m",
                   help="comma-separated subset of " + ", ".join(CASES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-divexplorer-1m", action="store_true",
                   help="skip the single DivExplorer run at 1M rows")
    p.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    # worker mode
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    p.add_argument("--min-count", type=int, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--save", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        folder = Path(args.dir)
        if args.worker in DAWN_ENV:
            out = dawn_worker(folder, args.save)
        elif args.worker == "cube":
            out = cube_worker(folder, args.min_count, args.save)
        elif args.worker == "stream":
            out = stream_worker(folder)
        elif args.worker == "divexplorer":
            out = divexplorer_worker(folder, 0.01, None, args.save)
        elif args.worker == "divexplorer_reach":
            out = divexplorer_worker(folder, args.min_count / args.n, MAX_ORDER, args.save)
        else:
            p.error(f"unknown worker {args.worker!r}")
        print(json.dumps(out))
        return 0

    sys.path.insert(0, str(HERE))
    import _peers

    _peers.PEERS.setdefault(PEER, PEER_SPEC)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            p.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    load_start = os.getloadavg()
    _peers.ensure_venv(PEER)
    tmp = Path(tempfile.mkdtemp(prefix="dawn-bench-explain-"))
    try:
        results = [run_case(c, tmp / c, args.repeats, args.seed, not args.no_divexplorer_1m)
                   for c in cases]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = os.getloadavg()

    import numba
    import pandas as pd

    import dawn

    versions = {"dawn": f"{getattr(dawn, '__version__', 'dev')} ({_peers.dawn_commit()})",
                "DivExplorer": _peers.peer_version(PEER, "DivExplorer"),
                "numba": numba.__version__, "numpy": np.__version__,
                "pandas": pd.__version__, "Python": sys.version.split()[0]}
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    text = render(results, argv, versions, (load_start, load_end))
    print(text)
    if args.write:
        _peers.write_section("explain", text)
        print(f"updated {_peers.BENCHMARKS_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
