"""Data drift: ``dawn.monitor.DriftMonitor`` vs Evidently 0.7 ``DataDriftPreset``.

    python benchmarks/bench_monitor.py [--repeats 3] [--evidently-repeats-1m 1] [--cases 200k,1m]
                                       [--write]

Data (made once per case, seeded, saved as Parquet; every side loads both files before its
timer starts): a reference frame and a current frame of N rows × 20 columns, 15 numeric
``n0..n14`` (float64, nulls as NaN) and 5 categorical ``c0..c4`` (strings). Reference and
current are drawn independently; the current frame carries planted changes in a known set
of columns (``PLANTED``):

- ``n0``: mean shift of 0.2σ — must be flagged;
- ``n1``: mean shift of 0.02σ — must not be flagged;
- ``n2``: mean shift of 0.1σ — where the line is drawn; reported, not scored;
- ``n3``: variance × 1.5 (same mean) — must be flagged;
- ``n4``: missing rate 2% → 12% (the non-missing values unchanged) — must be flagged;
- ``c0``: a new category taking 5% of the rows — must be flagged;
- every other column (normal, lognormal, uniform, exponential, Poisson counts, Student t,
  a bimodal mixture, a column with a steady 5% of nulls, gamma, beta; categoricals with
  2 to 200 values, one of them Zipf-like) drawn from the same distribution on both sides —
  must not be flagged.

Sides (each timed run is a fresh process, so peak memory is measured per side: RSS after
loading and warm-up, the kernel's peak-RSS mark reset through ``/proc/self/clear_refs``,
peak after the work):

- ``dawn``: ``DriftMonitor().fit(reference).check(current)`` then ``.drifted_columns`` on
  the DataFrames ``pandas.read_parquet`` gives, with its defaults (so, when drift is found,
  the segment explanation through ``dawn.explain`` is included), end to end (Arrow view,
  sketches, tests, report). After a warm-up on 20k rows (loads the cached numba kernels).
  Default numba threads (2 cores here) and ``NUMBA_NUM_THREADS=1``. In the same process,
  later calls are timed again, also with ``explain=False``, and ``fit`` / ``check`` apart.
- ``evidently``: Evidently 0.7 in its own venv (``benchmarks/.venvs/evidently``; it needs
  ``pandas<3``), as its documentation shows: ``Report([DataDriftPreset()]).run(
  Dataset.from_pandas(current, data_definition=dd), Dataset.from_pandas(reference,
  data_definition=dd))`` with ``dd = DataDefinition(numerical_columns=[n0..n14],
  categorical_columns=[c0..c4])`` and all of the preset's defaults, then ``snapshot.dict()``
  to read the per-column results. Building the ``Dataset`` objects is inside the timer
  (preparation is timed on both sides; reading Parquet is not). After a warm-up on 2k rows.
  Per column, Evidently's ``ValueDrift`` gives the method, its statistic and threshold; a
  distance (normed Wasserstein, Jensen–Shannon) is drift when ≥ the threshold, a p-value
  when < it (what its stat tests do); the count is checked against its
  ``DriftedColumnsCount``.

Runs alternate between the sides; figures are medians. Both sides' flagged columns are
checked against the planted truth.

This module imports only the standard library and numpy at the top, so the Evidently venv
can run it as a worker.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _peers import timed, warm_times

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

NUM = [f"n{j}" for j in range(15)]
CAT = [f"c{j}" for j in range(5)]
COLUMNS = NUM + CAT
# column -> (what changes, truth): True = must be flagged, False = must not, None = not scored
PLANTED: dict[str, tuple[str, bool | None]] = {
    "n0": ("mean +0.2σ", True),
    "n1": ("mean +0.02σ", False),
    "n2": ("mean +0.1σ", None),
    "n3": ("variance ×1.5", True),
    "n4": ("missing 2% → 12%", True),
    "c0": ("new category, 5% of rows", True),
}
UNCHANGED = {
    "n5": "normal(10, 3)", "n6": "lognormal(0, 0.75)", "n7": "uniform(−5, 5)",
    "n8": "exponential(2)", "n9": "Poisson(20) counts", "n10": "Student t, 3 df",
    "n11": "bimodal mixture", "n12": "normal, steady 5% missing", "n13": "gamma(2, 1.5)",
    "n14": "beta(2, 5)", "c1": "3 values", "c2": "20 values, Zipf-like", "c3": "200 values",
    "c4": "2 values (yes/no)",
}
MUST = sorted(c for c, (_, t) in PLANTED.items() if t)
MUST_NOT = sorted([c for c, (_, t) in PLANTED.items() if t is False] + list(UNCHANGED))
CASES = {"200k": 200_000, "1m": 1_000_000, "smoke": 20_000}
TARGET = 60.0  # dawn ≥ 60× faster than Evidently at 200k rows (fit + check)
DAWN_ENV = {"dawn": {}, "dawn_1t": {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}}
PEER = "evidently"


# ---------------------------------------------------------------------------- memory



# ---------------------------------------------------------------------------- data

def _numeric(rng: np.random.Generator, n: int, current: bool) -> dict[str, np.ndarray]:
    """The 15 numeric columns; ``current`` applies the planted changes."""
    z = rng.standard_normal

    def with_missing(x: np.ndarray, rate: float) -> np.ndarray:
        x = x.copy()
        x[rng.random(n) < rate] = np.nan
        return x

    cols = {
        "n0": z(n) + (0.2 if current else 0.0),
        "n1": z(n) + (0.02 if current else 0.0),
        "n2": z(n) + (0.1 if current else 0.0),
        "n3": z(n) * (np.sqrt(1.5) if current else 1.0),
        "n4": with_missing(z(n), 0.12 if current else 0.02),
        "n5": rng.normal(10.0, 3.0, n),
        "n6": rng.lognormal(0.0, 0.75, n),
        "n7": rng.uniform(-5.0, 5.0, n),
        "n8": rng.exponential(2.0, n),
        "n9": rng.poisson(20.0, n).astype(np.float64),
        "n10": rng.standard_t(3, n),
        "n11": np.where(rng.random(n) < 0.3, rng.normal(-2.0, 0.5, n), rng.normal(3.0, 1.0, n)),
        "n12": with_missing(rng.normal(5.0, 2.0, n), 0.05),
        "n13": rng.gamma(2.0, 1.5, n),
        "n14": rng.beta(2.0, 5.0, n),
    }
    return cols


def _categorical(rng: np.random.Generator, n: int, current: bool) -> dict[str, np.ndarray]:
    """The 5 categorical columns (object arrays of str); ``current`` adds c0's new value."""
    def draw(name: str, k: int, p: np.ndarray | None = None) -> np.ndarray:
        labels = np.array([f"{name}_v{i}" for i in range(k)], dtype=object)
        return labels[rng.choice(k, size=n, p=p)]

    zipf = 1.0 / np.arange(1, 21) ** 1.1
    c0 = draw("c0", 8, np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03]))
    if current:
        c0[rng.random(n) < 0.05] = "c0_new"
    return {
        "c0": c0,
        "c1": draw("c1", 3, np.array([0.5, 0.3, 0.2])),
        "c2": draw("c2", 20, zipf / zipf.sum()),
        "c3": draw("c3", 200),
        "c4": np.where(rng.random(n) < 0.35, "yes", "no").astype(object),
    }


def make_data(n: int, folder: Path, seed: int) -> dict:
    """Write ``reference.parquet`` and ``current.parquet``; return facts about them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    facts: dict = {"n": n}
    for name, current, s in (("reference", False, seed), ("current", True, seed + 1)):
        rng = np.random.default_rng(s)
        num = _numeric(rng, n, current)
        cat = _categorical(rng, n, current)
        arrays = {c: pa.array(num[c], mask=np.isnan(num[c])) for c in NUM}
        arrays.update({c: pa.array(cat[c], pa.string()) for c in CAT})
        pq.write_table(pa.table(arrays), folder / f"{name}.parquet")
        facts[name] = {"n4_missing": float(np.isnan(num["n4"]).mean()),
                       "n0_mean": float(num["n0"].mean()),
                       "c0_new_share": float((cat["c0"] == "c0_new").mean())}
    return facts


# ---------------------------------------------------------------------------- workers

def _load_pandas(folder: Path):
    import pandas as pd

    return (pd.read_parquet(folder / "reference.parquet"),
            pd.read_parquet(folder / "current.parquet"))


def dawn_worker(folder: Path, save: bool, profile: bool) -> dict:
    from dawn.monitor import DriftMonitor

    ref, cur = _load_pandas(folder)

    def run(r, c, explain: bool = True):
        report = DriftMonitor(explain=explain).fit(r).check(c)
        return report, report.drifted_columns

    run(ref.iloc[:20_000], cur.iloc[:20_000])  # warm-up: loads the cached numba kernels
    (report, flagged), stats = timed(lambda: run(ref, cur))
    stats["flagged"] = list(flagged)
    stats["warm_seconds"] = warm_times(lambda: run(ref, cur))
    stats["warm_noexplain_seconds"] = warm_times(lambda: run(ref, cur, False))
    fits, checks = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        mon = DriftMonitor(explain=False).fit(ref)
        t1 = time.perf_counter()
        mon.check(cur)
        checks.append(time.perf_counter() - t1)
        fits.append(t1 - t0)
    stats["fit_seconds"], stats["check_seconds"] = fits, checks
    segments = report.segments
    stats["n_segments"] = 0 if segments is None else len(segments)
    if save:
        table = report.to_pandas()
        rows = []
        for r in table.to_dict("records"):
            rows.append({k: _jsonable(r.get(k)) for k in
                         ("column", "kind", "test", "statistic", "effect_size", "threshold",
                          "p_value", "drifted", "missing_reference", "missing_current")})
        seg = []
        if segments is not None and len(segments):
            for r in segments.head(5).to_dict("records"):
                seg.append({k: _jsonable(v) for k, v in r.items()})
        (folder / "dawn_result.json").write_text(json.dumps(
            {"columns": rows, "segments": seg, "summary": _jsonable(report.summary())}))
    if profile:
        import cProfile
        import io
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        run(ref, cur)
        pr.disable()
        buf = io.StringIO()
        pstats.Stats(pr, stream=buf).sort_stats("cumulative").print_stats(30)
        (folder / "dawn_profile.txt").write_text(buf.getvalue())
    return stats


def _jsonable(v):
    """Plain JSON values from numpy / pandas scalars and containers."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


def evidently_worker(folder: Path, save: bool) -> dict:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = _load_pandas(folder)
    dd = DataDefinition(numerical_columns=NUM, categorical_columns=CAT)

    def run(r, c):
        report = Report([DataDriftPreset()])
        snapshot = report.run(Dataset.from_pandas(c, data_definition=dd),
                              Dataset.from_pandas(r, data_definition=dd))
        return snapshot.dict()

    run(ref.iloc[:2_000], cur.iloc[:2_000])  # warm-up: first-call imports
    result, stats = timed(lambda: run(ref, cur))
    rows, count = [], None
    for m in result["metrics"]:
        cfg = m.get("config", {})
        kind = cfg.get("type", "")
        if kind.endswith("DriftedColumnsCount"):
            count = m["value"]["count"]
        elif kind.endswith("ValueDrift"):
            method, thr, val = cfg.get("method", ""), cfg.get("threshold"), m["value"]
            is_distance = "p_value" not in method.lower()
            drifted = (val >= thr) if is_distance else (val < thr)
            rows.append({"column": cfg["column"], "method": method, "threshold": thr,
                         "value": val, "drifted": bool(drifted)})
    stats["flagged"] = [r["column"] for r in rows if r["drifted"]]
    stats["count_reported"] = count
    if save:
        (folder / "evidently_result.json").write_text(json.dumps({"columns": rows}))
    return stats


# ---------------------------------------------------------------------------- driver

def run_side(side: str, folder: Path, save: bool, profile: bool = False, *,
             timeout: float = 3600) -> dict:
    import _peers

    args = ["--worker", side, "--dir", str(folder)]
    if save:
        args.append("--save")
    if profile:
        args.append("--profile")
    if side == PEER:
        return _peers.run_worker(PEER, Path(__file__).resolve(), args, timeout=timeout)
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

    med = _peers.median
    secs = [r["seconds"] for r in runs]
    out = {"median_s": med(secs), "all_s": secs,
           "peak_increase_mb": med([r["peak_increase_mb"] for r in runs]),
           "peak_mb": med([r["peak_mb"] for r in runs]),
           "runs": len(runs), "peak_reset": all(r["peak_reset"] for r in runs),
           "flagged": runs[0]["flagged"],
           "flagged_stable": all(r["flagged"] == runs[0]["flagged"] for r in runs)}
    for key in ("warm_seconds", "warm_noexplain_seconds", "fit_seconds", "check_seconds"):
        if key in runs[0]:
            out[key.replace("_seconds", "_s")] = med([x for r in runs for x in r[key]])
    for key in ("n_segments", "count_reported"):
        if key in runs[0]:
            out[key] = runs[0][key]
    return out


def score(flagged: list[str]) -> dict:
    f = set(flagged)
    return {"missed": [c for c in MUST if c not in f],
            "false": [c for c in MUST_NOT if c in f],
            "ok": all(c in f for c in MUST) and not any(c in f for c in MUST_NOT),
            "n2": "n2" in f}


def run_case(case: str, folder: Path, reps: dict[str, int], seed: int,
             profile: bool) -> dict:
    import _peers

    n = CASES[case]
    t0 = time.perf_counter()
    facts = make_data(n, folder, seed)
    print(f"case {case}: {n:,} × {len(COLUMNS)} reference and current "
          f"(made in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    runs: dict[str, list[dict]] = {s: [] for s in reps}
    errors: dict[str, str] = {}
    repeats = max(reps.values())
    for r in range(repeats):
        for side in reps:
            if side in errors or r >= reps[side]:
                continue
            try:
                runs[side].append(run_side(side, folder, save=(r == 0),
                                           profile=profile and r == 0 and side == "dawn"))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                errors[side] = str(exc).strip().splitlines()[-1][:300]
                print(f"  [{case}] {side} failed: {errors[side]}", file=sys.stderr)
                continue
            x = runs[side][-1]
            print(f"  [{case}] run {r + 1}/{repeats} {side}: "
                  f"{_peers.fmt_seconds(x['seconds'])} (+{x['peak_increase_mb']:.0f} MB), "
                  f"flagged {x['flagged']}", file=sys.stderr)
    res: dict = {"case": case, "facts": facts, "errors": errors}
    for side, rs in runs.items():
        if rs:
            res[side] = summarize(rs)
            res[side]["score"] = score(rs[0]["flagged"])
    for name in ("dawn", "evidently"):
        f = folder / f"{name}_result.json"
        if f.exists():
            res[f"{name}_detail"] = json.loads(f.read_text())
    prof = folder / "dawn_profile.txt"
    if prof.exists():
        res["dawn_profile"] = prof.read_text()
    return res


# ---------------------------------------------------------------------------- report

def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def fmt_mb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _num(v, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != 0 and abs(v) < 10 ** -digits:
            return f"{v:.1e}"
        return f"{v:.{digits}f}"
    return str(v)


def _found(s: dict) -> str:
    sc = s["score"]
    parts = [f"{len(s['flagged'])} flagged"]
    if sc["ok"]:
        parts.append("all planted ✓, no false alarm ✓")
    else:
        if sc["missed"]:
            parts.append("missed " + ", ".join(f"`{c}`" for c in sc["missed"]) + " ✗")
        if sc["false"]:
            parts.append("false alarm on " + ", ".join(f"`{c}`" for c in sc["false"]) + " ✗")
    parts.append(f"0.1σ `n2` {'flagged' if sc['n2'] else 'not flagged'}")
    count = s.get("count_reported")
    if count is not None and int(count) != len(s["flagged"]):
        parts.append(f"(its `DriftedColumnsCount` says {int(count)})")
    return "; ".join(parts)


def render(results: list[dict], argv: list[str], versions: dict, load: tuple) -> str:
    import _peers

    fs = _peers.fmt_seconds

    def spread(s: dict) -> str:
        xs = s["all_s"]
        if len(xs) == 1:
            return f"{fs(xs[0])} (1 run)"
        return f"{fs(s['median_s'])} ({fs(min(xs))}–{fs(max(xs))})"

    verdict = {True: "must be flagged", False: "must not", None: "the line, not scored"}
    planted = "; ".join(f"`{c}` {what} ({verdict[t]})" for c, (what, t) in PLANTED.items())
    lines = [
        "## Data drift: dawn vs Evidently 0.7",
        "",
        "Generated reference and current frames, seeded, saved as Parquet and loaded before "
        "any timer: N rows × 20 columns, 15 numeric `n0..n14` (float64, NaN = missing) and 5 "
        "categorical `c0..c4` (strings). Planted in the current frame: " + planted + ". The "
        "other 14 columns (normal, lognormal, uniform, exponential, Poisson counts, Student t, "
        "bimodal, a steady 5% missing, gamma, beta; categoricals of 2–200 values, one "
        "Zipf-like) come from the same distribution on both sides and must stay quiet.",
        "",
        "- **dawn**: `DriftMonitor().fit(reference).check(current).drifted_columns` on the "
        "pandas DataFrames, defaults (so, when drift is found, the segment explanation by "
        "`dawn.explain` on ≤ 20k sampled rows per side is included). Default numba threads "
        "(2 cores) and `NUMBA_NUM_THREADS=1`.",
        "- **Evidently 0.7** (own venv, `pandas<3`): `Report([DataDriftPreset()]).run("
        "Dataset.from_pandas(current, data_definition=dd), Dataset.from_pandas(reference, "
        "data_definition=dd))` then `snapshot.dict()`, with `dd = DataDefinition("
        "numerical_columns=[n0..n14], categorical_columns=[c0..c4])` and the preset's "
        "defaults (here: normed Wasserstein ≥ 0.1 for numeric columns, Jensen–Shannon "
        "distance ≥ 0.1 for categorical ones, since the reference has > 1,000 rows). Building "
        "the `Dataset`s is timed, as dawn's conversion is. `Report.run` also builds the "
        "report's plotly widgets (about a quarter of its time in a cProfile at 200k rows; "
        "`Report` has no option to skip them), and the preset computes each column's test "
        "more than once (for `DriftedColumnsCount`, for each `ValueDrift` and for the "
        "rendered table) — that is what a user of the preset gets.",
        "",
        "Each timed run is a fresh process that loads both frames and warms up first (dawn on "
        "20k rows, which loads its numba kernels; Evidently on 2k rows); peak memory is the "
        "rise of the peak RSS during the work (kernel peak mark reset before it; absolute "
        "peak in brackets). Runs alternate between the sides; medians (min–max). The box is "
        "shared: the load average below is what other work put on its 2 cores during the "
        "run, and it slows dawn's two numba threads more than Evidently's single thread.",
        "",
        "| rows (each side) | side | fit + check, first call | later calls | peak memory "
        "| Evidently ÷ side | target | flagged vs planted |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for res in results:
        n = res["facts"]["n"]
        ev = res.get("evidently")
        for side, label in (("dawn", "dawn (default threads)"), ("dawn_1t", "dawn, 1 thread"),
                            ("evidently", "Evidently `DataDriftPreset`")):
            s = res.get(side)
            if not s:
                if side in res["errors"]:
                    lines.append(f"| {n:,} | {label} | failed: {res['errors'][side]} "
                                 "| | | | | |")
                continue
            warm = fs(s["warm_s"]) if "warm_s" in s else "—"
            ratio, tgt = "", ""
            if ev and side != "evidently":
                r = ev["median_s"] / s["median_s"]
                ratio = f"**{r:.0f}×**"
                if n == CASES["200k"] and side == "dawn":
                    tgt = f"≥{TARGET:g}× {mark(r >= TARGET)}"
            lines.append(f"| {n:,} | {label} | {spread(s)} | {warm} | "
                         f"{fmt_mb(s['peak_increase_mb'])} ({fmt_mb(s['peak_mb'])}) | "
                         f"{ratio} | {tgt} | {_found(s)} |")
    lines += ["", "dawn's later calls in the same process (median, default threads), and "
              "Evidently's first-call median ÷ each: "]
    for res in results:
        d, ev = res.get("dawn"), res.get("evidently")
        if d:
            def x(sec, ev=ev):
                return f" ({ev['median_s'] / sec:.0f}×)" if ev else ""
            lines[-1] += (f"{res['facts']['n']:,} rows: fit + check with the segment "
                          f"explanation {fs(d['warm_s'])}{x(d['warm_s'])}, with "
                          f"`explain=False` {fs(d['warm_noexplain_s'])}"
                          f"{x(d['warm_noexplain_s'])}, of which `fit` {fs(d['fit_s'])} and "
                          f"`check` {fs(d['check_s'])}; ")
    lines[-1] = lines[-1].rstrip("; ") + "."

    # per-column statistics of the largest case run with both sides
    detail = next((r for r in reversed(results)
                   if "dawn_detail" in r and "evidently_detail" in r), None)
    if detail is not None:
        dcols = {r["column"]: r for r in detail["dawn_detail"]["columns"]}
        ecols = {r["column"]: r for r in detail["evidently_detail"]["columns"]}
        lines += [
            "",
            f"Per column at {detail['facts']['n']:,} rows: dawn's test, effect size and "
            "threshold (`to_pandas()`), Evidently's method, statistic and threshold.",
            "",
            "| column | planted | truth | dawn test | dawn effect size / threshold | dawn p "
            "| dawn | Evidently method | Evidently statistic / threshold | Evidently |",
            "|---|---|---|---|---:|---:|---|---|---:|---|",
        ]
        for c in COLUMNS:
            what, truth = PLANTED.get(c, (UNCHANGED.get(c, ""), False))
            tr = {True: "drift", False: "quiet", None: "the line"}[truth]
            d, e = dcols.get(c, {}), ecols.get(c, {})

            def ok(flag, truth=truth):
                if flag is None:
                    return "—"
                base = "**drift**" if flag else "quiet"
                return base if truth is None else f"{base} {mark(bool(flag) == truth)}"

            lines.append(
                f"| `{c}` | {what} | {tr} | {d.get('test', '—')} | "
                f"{_num(d.get('effect_size'))} / {_num(d.get('threshold'), 2)} | "
                f"{_num(d.get('p_value'))} | {ok(d.get('drifted'))} | "
                f"{e.get('method', '—')} | {_num(e.get('value'), 4)} / "
                f"{_num(e.get('threshold'), 2)} | {ok(e.get('drifted'))} |")
        segs = detail["dawn_detail"].get("segments") or []
        if segs:
            lines += ["", "dawn's top segments (where the current rows concentrate): "
                      + "; ".join(f"`{s.get('items')}` (risk ratio "
                                  f"{_num(s.get('risk_ratio'), 2)})" for s in segs[:3]) + "."]

    lines += ["", "Where each side draws the line."]
    dd0 = next((r["dawn_detail"] for r in results if "dawn_detail" in r), None)
    if dd0:
        pairs = sorted({(c["test"], c["threshold"]) for c in dd0["columns"]})
        lines[-1] += (" dawn's defaults, as its report gives them: " + ", ".join(
            f"{tst} ≥ {thr:g}" for tst, thr in pairs) + " (effect sizes: Wasserstein-1 over "
            "the reference std, Jensen–Shannon distance base 2, absolute change of the "
            "missing rate), each also needing p < `alpha` = 0.01. Evidently's defaults for "
            "this data: normed Wasserstein ≥ 0.1, Jensen–Shannon distance ≥ 0.1, missing "
            "values dropped before testing. A mean shift of dσ in a normal column has "
            "normed W1 = d, so both put the line at 0.1σ: a 0.1σ shift is flagged or not "
            "by chance (below), a 0.2σ shift (≈ 0.2) always and a 0.02σ one (≈ 0.02) "
            "never, at any N.")
    for res in results:
        ed = res.get("evidently_detail")
        dd = res.get("dawn_detail")
        if not (ed and dd):
            continue
        e2 = next((r for r in ed["columns"] if r["column"] == "n2"), None)
        d2 = next((r for r in dd["columns"] if r["column"] == "n2"), None)
        if e2 and d2:
            lines.append(
                f"- {res['facts']['n']:,} rows, the 0.1σ shift `n2`: Evidently's "
                f"{e2['method']} {e2['value']:.4f} vs its threshold {e2['threshold']:g} "
                f"({'flagged' if e2['drifted'] else 'not flagged'}); dawn's "
                f"{d2.get('test')} effect size {_num(d2.get('effect_size'), 4)} vs "
                f"{_num(d2.get('threshold'), 2)} "
                f"({'flagged' if d2.get('drifted') else 'not flagged'}).")
    failed = {k: v for r in results for k, v in r["errors"].items()}
    if failed:
        lines += ["", "Failed sides: " + "; ".join(f"{k}: {v}" for k, v in failed.items())]
    (l1, l5, _), (e1, e5, _) = load
    lines += [
        "",
        f"Machine: {_peers.machine_note()}; load average (1 min / 5 min) {l1:.2f} / {l5:.2f} "
        f"at the start, {e1:.2f} / {e5:.2f} at the end. Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "Reproduce (builds `benchmarks/.venvs/evidently` on first use: `pip install "
        "evidently \"pandas<3\" pyarrow`):",
        "",
        "```bash",
        "python benchmarks/bench_monitor.py " + " ".join(argv),
        "```",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="timed runs per side and case")
    p.add_argument("--evidently-repeats-1m", type=int, default=1,
                   help="timed Evidently runs at 1M rows (it takes minutes a run)")
    p.add_argument("--cases", default="200k,1m",
                   help="comma-separated subset of " + ", ".join(CASES))
    p.add_argument("--sides", default="dawn,dawn_1t,evidently",
                   help="comma-separated subset of dawn, dawn_1t, evidently")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", action="store_true",
                   help="also profile one dawn call per case (cProfile, printed)")
    p.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    # worker mode
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    p.add_argument("--save", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        folder = Path(args.dir)
        if args.worker in DAWN_ENV:
            out = dawn_worker(folder, args.save, args.profile)
        elif args.worker == PEER:
            out = evidently_worker(folder, args.save)
        else:
            p.error(f"unknown worker {args.worker!r}")
        print(json.dumps(out))
        return 0

    sys.path.insert(0, str(HERE))
    import _peers

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            p.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    for s in sides:
        if s not in (*DAWN_ENV, PEER):
            p.error(f"unknown side {s!r}; choose from dawn, dawn_1t, evidently")
    load_start = os.getloadavg()
    if PEER in sides:
        _peers.ensure_venv(PEER)
    tmp = Path(tempfile.mkdtemp(prefix="dawn-bench-monitor-"))
    try:
        results = []
        for c in cases:
            reps = {s: (args.evidently_repeats_1m if s == PEER and CASES[c] >= 1_000_000
                        else args.repeats) for s in sides}
            results.append(run_case(c, tmp / c, reps, args.seed, args.profile))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = os.getloadavg()

    import numba
    import pandas as pd

    import dawn

    versions = {"dawn": f"{getattr(dawn, '__version__', 'dev')} ({_peers.dawn_commit()})"}
    if PEER in sides:
        versions["Evidently"] = _peers.peer_version(PEER, "evidently")
        versions["pandas (Evidently's venv)"] = _peers.peer_version(PEER, "pandas")
    versions.update({"numba": numba.__version__, "numpy": np.__version__,
                     "pandas": pd.__version__, "Python": sys.version.split()[0]})
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    if args.profile:
        for r in results:
            if "dawn_profile" in r:
                print(f"--- dawn profile, {r['case']} ---\n{r['dawn_profile']}", file=sys.stderr)
    text = render(results, argv, versions, (load_start, load_end))
    print(text)
    if args.write:
        _peers.write_section("monitor", text)
        print(f"updated {_peers.BENCHMARKS_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
