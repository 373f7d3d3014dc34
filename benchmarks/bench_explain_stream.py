"""Throughput of ``dawn.explain.StreamingExplainer`` in events per second, on one core.

    python benchmarks/bench_explain_stream.py [--rows 100000] [--batches 20] [--attributes 8]
                                              [--max-order 3] [--metric] [--repeats 3]

The script makes its own stream: ``--attributes`` categorical string columns with 4-12
values each (skewed frequencies), a planted segment (two values of the first two
attributes) whose rows are outliers with probability 0.5, and a background outlier rate
of 2% (about 5% outliers overall). Batches are built as pyarrow tables before the timer
starts; the timer covers ``update(batch)`` for every batch (encoding, classification,
decayed AMC counting); ``explain()`` is timed separately. The process is pinned to one
core. With ``--metric`` outliers come from a numeric ``latency`` column classified by the
MAD classifier (damped reservoir) instead of a boolean column. MacroBase reports
2M events/s/core. Figures are the median of ``--repeats`` runs over the whole stream.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pyarrow as pa


def make_stream(rows: int, batches: int, m: int, seed: int = 0) -> list[pa.Table]:
    rng = np.random.default_rng(seed)
    k = [4 + (j * 5) % 9 for j in range(m)]                     # 4..12 values
    probs = [np.arange(kj, 0, -1) / np.arange(kj, 0, -1).sum() for kj in k]
    out = []
    for _ in range(batches):
        cols = {}
        codes = []
        for j in range(m):
            c = rng.choice(k[j], rows, p=probs[j])
            codes.append(c)
            labels = np.array([f"a{j}_v{i}" for i in range(k[j])], dtype=object)
            cols[f"a{j}"] = pa.array(labels[c], pa.string())
        seg = (codes[0] == 1) & (codes[1] == 2)
        bad = rng.random(rows) < np.where(seg, 0.5, 0.02)
        cols["bad"] = pa.array(bad)
        cols["latency"] = pa.array(np.where(bad, 500.0, 100.0) + rng.normal(0, 10, rows))
        out.append(pa.table(cols))
    return out


def run(stream: list[pa.Table], m: int, max_order: int, metric: bool) -> tuple[float, float,
                                                                              int, int]:
    from dawn.explain.streaming import StreamingExplainer

    attrs = [f"a{j}" for j in range(m)]
    kw = {"metric": "latency"} if metric else {"outlier": "bad"}
    se = StreamingExplainer(attributes=attrs, max_order=max_order, decay=0.95, **kw)
    t0 = time.perf_counter()
    for batch in stream:
        se.update(batch)
    t_update = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = se.explain()
    t_explain = time.perf_counter() - t0
    return t_update, t_explain, len(result), se.n_counters_


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000, help="rows per batch")
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--attributes", type=int, default=8)
    p.add_argument("--max-order", type=int, default=3)
    p.add_argument("--metric", action="store_true", help="classify a numeric metric (MAD)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    stream = make_stream(args.rows, args.batches, args.attributes)
    run(stream[:2], args.attributes, args.max_order, args.metric)      # warm-up
    times = [run(stream, args.attributes, args.max_order, args.metric)
             for _ in range(args.repeats)]
    t_update = float(np.median([t[0] for t in times]))
    t_explain = float(np.median([t[1] for t in times]))
    events = args.rows * args.batches
    print(f"StreamingExplainer: {args.batches} batches × {args.rows:,} rows × "
          f"{args.attributes} attributes, orders 1-{args.max_order}, "
          f"{'metric (MAD)' if args.metric else 'outlier column'}")
    print(f"  update: {events / t_update / 1e6:.2f} M events/s on one core "
          f"({t_update / args.batches * 1e3:.1f} ms per batch)")
    print(f"  explain(): {t_explain * 1e3:.1f} ms, {times[-1][2]} explanations, "
          f"{times[-1][3]} counters")


if __name__ == "__main__":
    sys.exit(main())
