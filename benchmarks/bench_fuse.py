"""Data fusion: dawn's ``Fusion`` vs crowd-kit 1.4 (DawidSkene, OneCoinDawidSkene, GLAD, MV).

    python benchmarks/bench_fuse.py [--seeds 5] [--repeats 3]
                                    [--cases sparse,dense,dense_large,numeric] [--no-peer] [--write]

Every case is planted-truth data (seeded), so the truth of every object and the accuracy
of every source are known:

- ``sparse`` (SLiMFast's setting): ``dawn.fuse.synthetic.synthetic_claims`` with 2,000
  objects, 2,000 sources, geometric claim counts (mean 4: about a quarter of the sources
  make one claim), 3 values, and accuracy ``sigmoid(1 + f @ theta)`` of 4 standard-normal
  source features (``theta ~ N(0, 1)`` per seed). The truth of 10% of the objects (seeded)
  is given to the ERM row; every row of this case is scored on the other 90%.
- ``dense`` (crowdsourcing; made here, as workers have full confusion matrices): few
  workers label many items, 5 labels per item, workers drawn with log-normal activity,
  3 classes with prior (0.5, 0.3, 0.2); reliable, class-biased, mediocre, spammer and
  constant workers. A worker's planted accuracy is ``sum_c prior_c * confusion[c, c]``.
- ``dense_large``: ``dense`` scaled up (timing; seed 0 only).
- ``numeric``: ``sparse`` with numeric values (Laplace errors; accuracy = P(|error| <= 1));
  dawn only, against each object's median claim.

Metrics: truth error rate (share of scored objects whose fused value is wrong — numeric:
more than 1.0 off; mean over ``--seeds`` data seeds) and source-accuracy error (mean
absolute difference between estimated and planted source accuracy over all sources,
unweighted). Fit time: median of ``--repeats`` timed fits on seed 0 after one untimed fit
(numba compilation; imports and loading are not timed either).

crowd-kit runs this file in worker mode inside its own venv (``benchmarks/.venvs/crowdkit``,
built on first use: ``pip install crowd-kit "scikit-learn<1.9" pyarrow``) on the same
claims saved as Parquet (renamed ``task``, ``worker``, ``label``).

This module imports only the standard library, numpy and pandas at the top, so the
crowd-kit venv can run it as a worker.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

# case -> generator parameters
CASES: dict[str, dict[str, Any]] = {
    "sparse": {"kind": "sparse", "n_objects": 2000, "n_sources": 2000, "mean_claims": 4.0,
               "k": 3},
    "dense": {"kind": "dense", "n_items": 2000, "n_workers": 40, "per_item": 5, "k": 3},
    "dense_large": {"kind": "dense", "n_items": 100_000, "n_workers": 300, "per_item": 5,
                    "k": 3},
    "numeric": {"kind": "sparse", "n_objects": 2000, "n_sources": 2000, "mean_claims": 4.0,
                "k": 3, "numeric": True},
}
N_FEATURES = 4  # sparse: standard-normal source features, weights drawn N(0, 1) per seed
INTERCEPT = 1.0  # sparse: accuracy = sigmoid(INTERCEPT + features @ weights)
TOLERANCE = 1.0  # numeric: a claim within this of the truth is accurate
TRUTH_SHARE = 0.10  # sparse: share of objects whose truth the ERM row gets
DENSE_PRIOR = np.array([0.5, 0.3, 0.2])
REDUCTION_TARGET = 0.25  # sparse: slimfast's errors >= 25% fewer than dawid_skene's
MATCH_SLACK = 0.002  # dense: dawn's error <= crowd-kit DawidSkene's + this
GLAD_MAX_CLAIMS = 60_000  # crowd-kit GLAD (scipy CG per M-step) is skipped above this

SLOW_FIT = 10.0  # seconds: a fit slower than this is timed once, not --repeats times

# dawn rows: label -> (Fusion method, fit uses source features, fit gets some truth)
DAWN_ROWS: dict[str, tuple[str, bool, bool]] = {
    "majority": ("majority", False, False),
    "one_coin": ("one_coin", False, False),
    "dawid_skene": ("dawid_skene", False, False),
    "glad": ("glad", False, False),
    "slimfast (features)": ("slimfast", True, False),
    "slimfast (features + 10% truth, ERM)": ("slimfast", True, True),
    "auto": ("auto", True, False),
}
NUMERIC_ROWS: dict[str, tuple[str, bool, bool]] = {
    "majority (median)": ("majority", False, False),
    "weighted_median": ("weighted_median", False, False),
    "slimfast (features)": ("slimfast", True, False),
    "slimfast (features + 10% truth, ERM)": ("slimfast", True, True),
    "auto": ("auto", True, False),
}
PEER_ROWS = ["MajorityVote", "OneCoinDawidSkene", "DawidSkene", "GLAD"]


# ----------------------------------------------------------------------- generators
def _value_names(k: int) -> np.ndarray:
    return np.array([f"v{c}" for c in range(k)], dtype=object)


def make_sparse(seed: int, n_objects: int, n_sources: int, mean_claims: float, k: int,
                numeric: bool = False) -> dict[str, Any]:
    """Sparse sources whose accuracy is a logistic function of their features.

    Made by :func:`dawn.fuse.synthetic.synthetic_claims` (the generator dawn's tests use);
    10% of the objects (seeded) are set aside as given truth for the ERM row.
    """
    from dawn.fuse.synthetic import synthetic_claims

    d = synthetic_claims(n_objects, n_sources, n_values=k, claims_per_source=float(mean_claims),
                         n_features=N_FEATURES, intercept=INTERCEPT, feature_scale=1.0,
                         numeric=numeric, tolerance=TOLERANCE, seed=seed)
    rng = np.random.default_rng([seed, 1])
    seen = np.unique(d.claims["object"].to_numpy())
    given = rng.choice(seen, round(TRUTH_SHARE * len(seen)), replace=False)
    return {
        "claims": d.claims,
        "truth": d.truth.loc[seen],
        "accuracy": d.accuracy.loc[np.unique(d.claims["source"].to_numpy())],
        "features": d.features,
        "given": d.truth.loc[given],
        "scored": np.setdiff1d(seen, given),
        "numeric": numeric,
    }


def _confusions(rng: np.random.Generator, n_workers: int, k: int) -> tuple[np.ndarray, list]:
    """Worker confusion matrices ``(w, true, claimed)`` of the ``dense`` case, and types."""
    kinds = rng.choice(["reliable", "biased", "mediocre", "spammer", "constant"], n_workers,
                       p=[0.5, 0.2, 0.2, 0.05, 0.05])
    cm = np.zeros((n_workers, k, k))
    for w, kind in enumerate(kinds):
        if kind in ("reliable", "mediocre"):
            lo, hi = (0.75, 0.95) if kind == "reliable" else (0.45, 0.65)
            diag = rng.uniform(lo, hi, k)
            cm[w] = ((1 - diag) / (k - 1))[:, None] * np.ones((k, k))
            cm[w][np.arange(k), np.arange(k)] = diag
        elif kind == "biased":
            diag = rng.uniform(0.5, 0.7, k)
            for c in range(k):
                if c == 0:
                    cm[w, 0] = (1 - 0.9) / (k - 1)
                    cm[w, 0, 0] = 0.9
                else:
                    cm[w, c] = (1 - diag[c] - 0.3) / max(k - 2, 1)
                    cm[w, c, 0] = 0.3
                    cm[w, c, c] = diag[c]
        elif kind == "spammer":
            cm[w] = 1.0 / k
        else:  # constant answerer
            cm[w, :, rng.integers(0, k)] = 1.0
    return cm, list(kinds)


def make_dense(seed: int, n_items: int, n_workers: int, per_item: int, k: int) -> dict[str, Any]:
    """Few workers with full confusion matrices labelling many items."""
    rng = np.random.default_rng(seed)
    prior = DENSE_PRIOR if k == len(DENSE_PRIOR) else np.full(k, 1.0 / k)
    cm, _ = _confusions(rng, n_workers, k)
    activity = rng.lognormal(0.0, 1.0, n_workers)
    truth = rng.choice(k, n_items, p=prior)
    # per_item distinct workers per item, drawn with probability ~ activity (Gumbel top-r)
    workers = np.empty((n_items, per_item), dtype=np.int64)
    step = 20_000
    for a in range(0, n_items, step):
        b = min(a + step, n_items)
        keys = np.log(activity)[None, :] + rng.gumbel(size=(b - a, n_workers))
        workers[a:b] = np.argpartition(-keys, per_item - 1, axis=1)[:, :per_item]
    item = np.repeat(np.arange(n_items), per_item)
    worker = workers.ravel()
    probs = cm[worker, truth[item]]  # (claims, k)
    value = (rng.random(len(item))[:, None] > probs.cumsum(axis=1)).sum(axis=1)
    value = np.minimum(value, k - 1)
    order = rng.permutation(len(item))
    names = _value_names(k)
    claims = pd.DataFrame({"object": item[order], "source": worker[order],
                           "value": names[value[order]]})
    claims["value"] = claims["value"].astype("str")
    accuracy = (prior[None, :] * cm[:, np.arange(k), np.arange(k)]).sum(axis=1)
    active = np.unique(worker)
    return {
        "claims": claims,
        "truth": pd.Series(names[truth], index=np.arange(n_items)).astype("str"),
        "accuracy": pd.Series(accuracy[active], index=active),
        "features": None,
        "given": None,
        "scored": np.arange(n_items),
        "numeric": False,
    }


def make_case(case: str, seed: int) -> dict[str, Any]:
    spec = dict(CASES[case])
    kind = spec.pop("kind")
    return make_sparse(seed, **spec) if kind == "sparse" else make_dense(seed, **spec)


# ----------------------------------------------------------------------- scoring
def score(data: dict[str, Any], labels: pd.Series | None,
          accuracy: pd.Series | None) -> dict[str, Any]:
    """Error rate on the scored objects and source-accuracy MAE against the planted ones."""
    out: dict[str, Any] = {}
    truth = data["truth"].loc[data["scored"]]
    if labels is not None:
        pred = labels.reindex(truth.index)
        out["missing_objects"] = int(pred.isna().sum())
        if data["numeric"]:  # error: off by more than TOLERANCE; also the mean abs. error
            diff = (pd.to_numeric(pred) - truth).abs().to_numpy()
            out["error"] = float(np.mean(~(diff <= TOLERANCE)))
            out["value_mae"] = float(np.nanmean(diff))
        else:
            out["error"] = float((pred.astype(str).to_numpy()
                                  != truth.astype(str).to_numpy()).mean())
    if accuracy is not None:
        planted = data["accuracy"]
        est = pd.to_numeric(accuracy.reindex(planted.index), errors="coerce")
        out["missing_sources"] = int(est.isna().sum())
        out["acc_mae"] = float((est - planted).abs().mean())
    return out


# ----------------------------------------------------------------------- crowd-kit side
def _crowdkit_accuracy(name: str, model: Any, df: pd.DataFrame) -> pd.Series:
    if name in ("MajorityVote", "OneCoinDawidSkene"):
        return model.skills_
    if name == "DawidSkene":
        errors, priors = model.errors_, model.priors_
        acc = {}
        for w, block in errors.groupby(level="worker", sort=False):
            block = block.droplevel("worker")
            acc[w] = sum(float(priors[c]) * float(block.loc[c, c]) if c in block.index else 0.0
                         for c in priors.index)
        return pd.Series(acc)
    # GLAD: P(correct) = sigmoid(alpha_w * exp(beta_t)), averaged over the worker's claims
    a = model.alphas_.reindex(df["worker"]).to_numpy()
    b = np.exp(model.betas_.reindex(df["task"]).to_numpy())
    p = 1.0 / (1.0 + np.exp(-a * b))
    return pd.Series(p).groupby(df["worker"].to_numpy()).mean()


def crowdkit_worker(folder: Path, repeats: int) -> dict[str, Any]:
    """Fit crowd-kit's aggregators on every claims file in ``folder``; time seed 0."""
    import crowdkit
    from crowdkit.aggregation import GLAD, DawidSkene, MajorityVote, OneCoinDawidSkene

    makers = {"MajorityVote": MajorityVote, "OneCoinDawidSkene": OneCoinDawidSkene,
              "DawidSkene": lambda: DawidSkene(n_iter=100), "GLAD": GLAD}
    out: dict[str, Any] = {"version": crowdkit.__version__, "runs": {}}
    for path in sorted(folder.glob("claims_*.parquet")):
        tag = path.stem[len("claims_"):]
        seed = int(tag.rsplit("_", 1)[1])
        df = pd.read_parquet(path).rename(
            columns={"object": "task", "source": "worker", "value": "label"})
        for name, make in makers.items():
            if name == "GLAD" and len(df) > GLAD_MAX_CLAIMS:
                continue
            t0 = time.perf_counter()
            model = make().fit(df)  # seed 0: the untimed first fit
            times = [time.perf_counter() - t0]
            if seed == 0:
                runs = repeats if times[0] < SLOW_FIT else 1
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    model = make().fit(df)
                    times.append(time.perf_counter() - t0)
            labels = model.labels_
            acc = _crowdkit_accuracy(name, model, df)
            pd.DataFrame({"object": labels.index, "value": labels.to_numpy().astype(str)}) \
                .to_parquet(folder / f"ck_labels_{name}_{tag}.parquet")
            pd.DataFrame({"source": acc.index, "accuracy": acc.to_numpy(float)}) \
                .to_parquet(folder / f"ck_acc_{name}_{tag}.parquet")
            out["runs"][f"{name}|{tag}"] = {"seconds": times}
            print(f"[crowdkit] {name} {tag}: {min(times):.3f} s", file=sys.stderr)
    return out


def load_peer(folder: Path, name: str, tag: str) -> tuple[pd.Series, pd.Series] | None:
    lp, ap = folder / f"ck_labels_{name}_{tag}.parquet", folder / f"ck_acc_{name}_{tag}.parquet"
    if not lp.exists():
        return None
    lab, acc = pd.read_parquet(lp), pd.read_parquet(ap)
    return (pd.Series(lab["value"].to_numpy(), index=lab["object"].to_numpy()),
            pd.Series(acc["accuracy"].to_numpy(), index=acc["source"].to_numpy()))


# ----------------------------------------------------------------------- dawn side
def dawn_table(case: str) -> dict[str, tuple[str, bool, bool]]:
    return NUMERIC_ROWS if CASES[case].get("numeric") else DAWN_ROWS


def dawn_fit(case: str, row: str, data: dict[str, Any]) -> Any:
    from dawn.fuse import Fusion

    method, use_features, use_truth = dawn_table(case)[row]
    kwargs: dict[str, Any] = {}
    if use_features and data["features"] is not None:
        kwargs["source_features"] = data["features"]
    if use_truth:
        kwargs["truth"] = data["given"]
    params = {"tolerance": TOLERANCE} if data["numeric"] else {}
    return Fusion(method=method, seed=0, **params).fit(
        data["claims"], object="object", source="source", value="value", **kwargs)


def dawn_rows(case: str) -> list[str]:
    """The dawn rows of a case: dense cases have no features and no given truth."""
    sparse = CASES[case]["kind"] == "sparse"
    return [r for r, (_, feat, truth) in dawn_table(case).items()
            if sparse or not (truth or (feat and r != "auto"))]


def median_baseline(data: dict[str, Any]) -> pd.Series:
    """Numeric case: the plain median of each object's claims, computed here."""
    return data["claims"].groupby("object")["value"].median()


# ----------------------------------------------------------------------- driver
def run_case(case: str, seeds: int, repeats: int, peer: bool, folder: Path) -> dict[str, Any]:
    import _peers

    folder.mkdir(parents=True, exist_ok=True)
    datas = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        data = make_case(case, seed)
        if not data["numeric"]:  # crowd-kit has no numeric aggregator: no peer file
            data["claims"].to_parquet(folder / f"claims_{case}_{seed}.parquet")
        datas.append(data)
        print(f"[{case}] seed {seed}: {len(data['claims']):,} claims "
              f"({time.perf_counter() - t0:.1f} s to generate)", file=sys.stderr)
    res: dict[str, Any] = {"case": case, "rows": {}, "reasons": {}, "methods": {}}
    d0 = datas[0]
    c0 = d0["claims"]
    res["shape"] = {"claims": len(c0), "objects": int(c0["object"].nunique()),
                    "sources": int(c0["source"].nunique()),
                    "one_claim_sources": int((c0["source"].value_counts() == 1).sum()),
                    "scored": len(d0["scored"])}

    if data["numeric"]:
        res["rows"]["median of claims (computed here)"] = {
            "side": "baseline", "seeds": [score(d, median_baseline(d), None) for d in datas],
            "seconds": None}
    if peer and not data["numeric"]:
        out = _peers.run_worker("crowdkit", Path(__file__).resolve(),
                                ["--worker", str(folder), "--repeats", str(repeats)])
        res["crowdkit_version"] = out["version"]
        for name in PEER_ROWS:
            per_seed, times = [], None
            for seed, data in enumerate(datas):
                got = load_peer(folder, name, f"{case}_{seed}")
                if got is None:
                    break
                per_seed.append(score(data, *got))
                if seed == 0:
                    times = out["runs"][f"{name}|{case}_{seed}"]["seconds"]
            if per_seed:
                res["rows"][f"crowd-kit {name}"] = {"side": "crowd-kit", "seeds": per_seed,
                                                    "seconds": times}

    for row in dawn_rows(case):
        per_seed, times = [], []
        try:
            for seed, data in enumerate(datas):
                t0 = time.perf_counter()
                model = dawn_fit(case, row, data)  # seed 0: untimed first fit (compilation)
                first = time.perf_counter() - t0
                if seed == 0:
                    for _ in range(repeats if first < SLOW_FIT else 1):
                        t0 = time.perf_counter()
                        model = dawn_fit(case, row, data)
                        times.append(time.perf_counter() - t0)
                    res["reasons"][row] = str(getattr(model, "method_reason_", ""))
                    res["methods"][row] = str(getattr(model, "method_", ""))
                per_seed.append(score(data, model.truth_, model.source_accuracy_))
        except Exception as exc:  # a method dawn does not have (yet): report, do not stop
            print(f"[{case}] dawn {row}: {type(exc).__name__}: {exc}", file=sys.stderr)
            res["rows"][f"dawn {row}"] = {"side": "dawn", "failed": f"{type(exc).__name__}: "
                                          f"{str(exc)[:200]}"}
            continue
        res["rows"][f"dawn {row}"] = {"side": "dawn", "seeds": per_seed, "seconds": times}
        e = [s["error"] for s in per_seed]
        print(f"[{case}] dawn {row}: error {np.mean(e):.4f}, acc MAE "
              f"{np.mean([s['acc_mae'] for s in per_seed]):.4f}, "
              f"{_peers.fmt_seconds(_peers.median(times))}", file=sys.stderr)

    for row in res["rows"].values():
        if "seeds" in row:
            errs = [s["error"] for s in row["seeds"]]
            maes = [s.get("acc_mae") for s in row["seeds"]]
            row["error"] = float(np.mean(errs))
            row["error_range"] = (float(min(errs)), float(max(errs)))
            row["acc_mae"] = float(np.mean(maes)) if None not in maes else None
            if "value_mae" in row["seeds"][0]:
                row["value_mae"] = float(np.mean([s["value_mae"] for s in row["seeds"]]))
            row["median_s"] = _peers.median(row["seconds"]) if row["seconds"] else None
            row["missing"] = max(s["missing_objects"] + s.get("missing_sources", 0)
                                 for s in row["seeds"])
    return res


# ----------------------------------------------------------------------- report
DESCRIPTIONS = {
    "sparse": "a. sparse sources, accuracy from features (categorical)",
    "dense": "b. dense crowdsourcing",
    "dense_large": "c. dense crowdsourcing, large",
    "numeric": "d. sparse sources, accuracy from features (numeric values)",
}


def targets(res: dict[str, Any]) -> dict[str, str]:
    """Target marks per row: case a (SLiMFast vs Dawid–Skene) and b/c (vs crowd-kit)."""
    rows = res["rows"]
    marks: dict[str, str] = {}
    if res["case"] == "sparse":
        ds = rows.get("dawn dawid_skene", {}).get("error")
        for r in ("dawn slimfast (features)", "dawn auto"):
            e = rows.get(r, {}).get("error")
            if ds and e is not None:
                red = 1 - e / ds
                marks[r] = (f"{-red:+.0%} errors vs dawn dawid_skene (target ≤ "
                            f"−{REDUCTION_TARGET:.0%}) {'✓' if red >= REDUCTION_TARGET else '✗'}"
                            ).replace("-", "−")
    elif res["case"].startswith("dense"):
        ck = rows.get("crowd-kit DawidSkene", {}).get("error")
        for r in ("dawn dawid_skene", "dawn auto"):
            e = rows.get(r, {}).get("error")
            if ck is not None and e is not None:
                ok = e <= ck + MATCH_SLACK
                marks[r] = f"≤ crowd-kit DawidSkene + {MATCH_SLACK} {'✓' if ok else '✗'}"
    return marks


def render(results: list[dict[str, Any]], seeds: int, repeats: int, argv: list[str],
           versions: dict[str, str], load: tuple) -> str:
    import _peers

    cmd = "python benchmarks/bench_fuse.py " + " ".join(a for a in argv if a != "--json")
    lines = [
        "## Data fusion: dawn's `Fusion` vs crowd-kit",
        "",
        "Planted-truth claims, seeded, so every object's truth and every source's accuracy "
        "is known.",
        "",
        f"- a. *sparse* (SLiMFast's setting): `dawn.fuse.synthetic.synthetic_claims("
        f"{CASES['sparse']['n_objects']}, {CASES['sparse']['n_sources']}, n_values=3, "
        f"claims_per_source={CASES['sparse']['mean_claims']}, n_features={N_FEATURES}, "
        f"intercept={INTERCEPT}, seed=s)`: 2,000 sources with geometric claim counts (mean "
        "4; about a quarter make one claim); a source's accuracy is `σ(1 + f · θ)` of 4 "
        "standard-normal features with weights `θ ~ N(0, 1)` drawn per seed; a wrong claim "
        "is one of the 2 other values, uniformly. The ERM row also gets the truth of a "
        "seeded 10% of the objects; every row of a and d is scored on the other 90%.",
        "- b./c. *dense* crowdsourcing (generated in the script: `synthetic_claims` has one "
        "accuracy per source, these workers have full confusion matrices): 5 labels per "
        "item from workers drawn by log-normal activity, 3 classes (prior 0.5/0.3/0.2); "
        "half the workers reliable (diagonal 0.75–0.95), a fifth biased towards class 0, "
        "a fifth mediocre (diagonal 0.45–0.65), a tenth random spammers or constant "
        "answerers. No source features.",
        "- d. *numeric*: as a, with `numeric=True, tolerance=1.0`: truth `N(100, 20²)`, a "
        "claim is the truth plus Laplace noise whose scale makes P(|error| ≤ 1) the "
        "source's accuracy. dawn gets `Fusion(tolerance=1.0)` so its accuracies mean the "
        "same. No crowd-kit aggregator takes numbers; the baseline is each object's median "
        "claim.",
        "",
        f"*Error* = share of scored objects whose fused value is wrong (numeric: more than "
        f"1.0 off), mean over {seeds} data seeds (min–max; case c: seed 0 only). "
        "*Accuracy MAE* = mean absolute difference between estimated and planted source "
        "accuracy over all sources, unweighted, so a one-claim source counts as much as a "
        "busy one (a dense worker's planted accuracy is `Σ_c prior_c · confusion[c, c]`). "
        f"*Fit* = median of {repeats} timed fits on seed 0 after an untimed one (imports, "
        f"loading and numba compilation not timed; fits over {SLOW_FIT:.0f} s are timed "
        "once). dawn: `Fusion(method=…, seed=0).fit(claims, object=, source=, value=[, "
        "source_features=][, truth=])` on a pandas DataFrame. crowd-kit, in its own venv: "
        "`Aggregator().fit(df)` with default settings on the same claims "
        f"(GLAD skipped above {GLAD_MAX_CLAIMS:,} claims); its source accuracies: "
        "MajorityVote and OneCoinDawidSkene `skills_`, DawidSkene "
        "`Σ_c priors_[c] · errors_[w][c, c]`, GLAD the mean over a worker's claims of "
        "`σ(α_w · exp(β_task))`.",
        "",
    ]
    for res in results:
        sh = res["shape"]
        numeric = res["case"] == "numeric"
        lines += [
            f"### {DESCRIPTIONS[res['case']]}",
            "",
            f"{sh['claims']:,} claims on {sh['objects']:,} objects from {sh['sources']:,} "
            f"sources ({sh['one_claim_sources']:,} with one claim); {sh['scored']:,} objects "
            "scored (seed 0).",
            "",
            "| method | error, mean (min–max) | " + ("value MAE | " if numeric else "")
            + "accuracy MAE | fit | target |",
            "|---|---:|" + ("---:|" if numeric else "") + "---:|---:|---|",
        ]
        marks = targets(res)
        for name, row in res["rows"].items():
            if "failed" in row:
                lines.append(f"| {name} | — | " + ("— | " if numeric else "")
                             + f"— | — | failed: {row['failed']} |")
                continue
            lo, hi = row["error_range"]
            fit = _peers.fmt_seconds(row["median_s"]) if row["median_s"] is not None else "—"
            err = f"{row['error']:.4f}"
            if name.startswith("dawn"):
                err = f"**{err}**"
            mae = f"{row['acc_mae']:.4f}" if row["acc_mae"] is not None else "—"
            vmae = f"{row['value_mae']:.3f} | " if numeric else ""
            lines.append(f"| {name} | {err} ({lo:.4f}–{hi:.4f}) | {vmae}{mae} | {fit} "
                         f"| {marks.get(name, '')} |")
        missing = {n: r["missing"] for n, r in res["rows"].items() if r.get("missing")}
        if missing:
            lines += ["", "Objects or sources missing from a result (counted wrong / left "
                      "out of the MAE): " + ", ".join(f"{n} {m}" for n, m in missing.items())
                      + "."]
        if res["reasons"].get("auto"):
            lines += ["", f"`auto` chose `{res['methods'].get('auto', '')}`: "
                      f"{res['reasons']['auto']}"]
        lines.append("")
    (l1, l5, _), (e1, e5, _) = load
    lines += [
        f"Machine: {_peers.machine_note()}; load average (1 min / 5 min) {l1:.2f} / {l5:.2f} "
        f"at the start, {e1:.2f} / {e5:.2f} at the end. Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "Reproduce (builds `benchmarks/.venvs/crowdkit` on first use, ~750 MB with "
        "transformers):",
        "",
        "```bash",
        cmd,
        "```",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="data seeds averaged for accuracy")
    p.add_argument("--repeats", type=int, default=3, help="timed fits on seed 0")
    p.add_argument("--cases", default=",".join(CASES),
                   help="comma-separated subset of " + ", ".join(CASES))
    p.add_argument("--no-peer", action="store_true", help="skip crowd-kit")
    p.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # crowd-kit side: folder of claims
    args = p.parse_args(argv)

    if args.worker:
        print(json.dumps(crowdkit_worker(Path(args.worker), args.repeats)))
        return 0

    sys.path.insert(0, str(HERE))
    import _peers

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            p.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    load_start = os.getloadavg()
    if not args.no_peer:
        _peers.ensure_venv("crowdkit")
    tmp = Path(tempfile.mkdtemp(prefix="dawn-bench-fuse-"))
    try:
        results = [run_case(c, args.seeds if c != "dense_large" else 1, args.repeats,
                            not args.no_peer, tmp / c) for c in cases]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = os.getloadavg()

    import numba

    import dawn

    versions = {"dawn": f"{getattr(dawn, '__version__', 'dev')} ({_peers.dawn_commit()})"}
    if not args.no_peer:
        versions["crowd-kit"] = _peers.peer_version("crowdkit", "crowd-kit")
    versions.update({"numba": numba.__version__, "numpy": np.__version__,
                     "pandas": pd.__version__, "Python": sys.version.split()[0]})
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    text = render(results, args.seeds, args.repeats, argv, versions, (load_start, load_end))
    print(text)
    if args.write:
        _peers.write_section("fuse", text)
        print(f"updated {_peers.BENCHMARKS_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
