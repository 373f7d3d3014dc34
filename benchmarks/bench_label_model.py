"""Label models: dawn's ``LabelModel`` vs Snorkel 0.10's ``LabelModel`` (and majority vote).

    python benchmarks/bench_label_model.py [--repeats 3] [--cases a,b,c,youtube] [--write]

Cases (each label matrix is made once, saved as ``.npy`` — dense int8, ``-1`` = abstain —
and loaded by both sides before their timers start):

a. ``a``: 100k × 10 binary, synthetic (``synthetic_label_matrix``, planted accuracies
   0.6–0.9 and coverages 0.1–0.5, seed 0);
b. ``b``: 1M × 50 binary, synthetic;
c. ``c``: 100k × 20 with 10 classes, synthetic;
d. ``youtube``: the UCI YouTube Spam Collection (``../shared/data/youtube-spam``, 1,956
   comments) with the 11 LFs of ``examples/youtube_spam.py``.

Each timed run is a fresh process, so peak memory is measured per side: dawn runs this
same file in worker mode in this interpreter (once with default threads, once with
``NUMBA_NUM_THREADS=1`` and one BLAS thread); Snorkel runs it in worker mode inside its
venv (``benchmarks/.venvs/snorkel``, built on first use) with ``torch.set_num_threads(1)``.
A worker loads the matrix, warms up (dawn: one full fit + predict_proba, which loads the
compiled numba kernels; Snorkel: a 5-epoch fit on 1,000 rows), records its RSS, resets the
kernel's peak-RSS mark (``/proc/self/clear_refs``), then times ``fit`` + ``predict_proba``
only; the peak RSS after the work minus the RSS before it is the side's peak memory.
Runs alternate (dawn, dawn 1 thread, Snorkel, dawn, ...); figures are medians.
Accuracies are computed here, from the predictions the first run of each side saves.

This module imports only the standard library and numpy at the top, so the Snorkel venv
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
from _peers import peak_mb, reset_peak, rss_mb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
YOUTUBE = ROOT.parent / "shared" / "data" / "youtube-spam"

# case -> (rows, LFs, classes); None for the real-data case
CASES: dict[str, tuple[int, int, int] | None] = {
    "a": (100_000, 10, 2),
    "b": (1_000_000, 50, 2),
    "c": (100_000, 20, 10),
    "youtube": None,
}
SNORKEL_EPOCHS = 500
SPEEDUP_TARGET = 20.0  # cases a and b
ACC_SLACK = 0.002  # dawn's accuracy >= Snorkel's - this (cases a and b)
MEMORY_TARGET = 0.25  # dawn's peak memory <= this share of Snorkel's (case b)
# extra environment of each dawn variant
DAWN_ENV = {
    "dawn": {},
    "dawn_1t": {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    "dawn_passive": {"OMP_WAIT_POLICY": "passive"},
}


# ---------------------------------------------------------------------------- workers

def snorkel_worker(folder: Path, k: int, save: bool) -> dict:
    import torch

    torch.set_num_threads(1)
    from snorkel.labeling.model import LabelModel, MajorityLabelVoter

    # int64: what Snorkel's own LF appliers hand to its LabelModel
    L = np.load(folder / "L.npy").astype(np.int64)
    warm = LabelModel(cardinality=k, verbose=False)
    warm.fit(L_train=L[:1000], n_epochs=5, seed=0, log_freq=1000, progress_bar=False)
    warm.predict_proba(L[:1000])
    del warm
    base = rss_mb()
    reset = reset_peak()
    t0 = time.perf_counter()
    lm = LabelModel(cardinality=k, verbose=False)
    lm.fit(L_train=L, n_epochs=SNORKEL_EPOCHS, seed=0, log_freq=1000, progress_bar=False)
    P = lm.predict_proba(L)
    seconds = time.perf_counter() - t0
    peak = peak_mb()
    if save:
        np.save(folder / "snorkel_argmax.npy", P.argmax(axis=1).astype(np.int16))
        np.save(folder / "snorkel_pred.npy",
                lm.predict(L, tie_break_policy="abstain").astype(np.int16))
        mv = MajorityLabelVoter(cardinality=k)
        np.save(folder / "snorkel_mv_argmax.npy",
                mv.predict_proba(L).argmax(axis=1).astype(np.int16))
        np.save(folder / "snorkel_mv_pred.npy",
                mv.predict(L, tie_break_policy="abstain").astype(np.int16))
    return {"seconds": seconds, "rss_base_mb": base, "peak_mb": peak,
            "peak_increase_mb": peak - base, "peak_reset": reset}


def dawn_worker(folder: Path, k: int, save: bool, tag: str) -> dict:
    from dawn.label import LabelModel

    L = np.load(folder / "L.npy")
    LabelModel(cardinality=k, seed=0).fit(L).predict_proba(L)  # loads/compiles the kernels
    base = rss_mb()
    reset = reset_peak()
    t0 = time.perf_counter()
    lm = LabelModel(cardinality=k, seed=0).fit(L)
    P = lm.predict_proba(L)
    seconds = time.perf_counter() - t0
    peak = peak_mb()
    if save:
        np.save(folder / f"{tag}_argmax.npy", P.argmax(axis=1).astype(np.int16))
        np.save(folder / f"{tag}_pred.npy", lm.predict(L, tie_break="abstain").astype(np.int16))
    info = {key: val for key, val in lm.info_.items()
            if isinstance(val, (bool, int, float, str))}
    return {"seconds": seconds, "rss_base_mb": base, "peak_mb": peak,
            "peak_increase_mb": peak - base, "peak_reset": reset, "method": lm.method_,
            "reason": lm.method_reason_, "info": info,
            "est_accuracies": [round(float(a), 3) for a in lm.accuracies_]}


# ---------------------------------------------------------------------------- data

def make_case(case: str, folder: Path, seed: int) -> int:
    """Write ``L.npy`` (int8, -1 abstain) and ``Y.npy`` for ``case``; return k."""
    folder.mkdir(parents=True, exist_ok=True)
    if CASES[case] is None:
        sys.path.insert(0, str(ROOT / "examples"))
        import youtube_spam

        from dawn.label import apply_lfs

        df = youtube_spam.load(YOUTUBE)
        L = np.asarray(apply_lfs(youtube_spam.LFS, df, classes=youtube_spam.CLASSES,
                                 progress=False))
        Y = df["label"].to_numpy().astype(np.int64)
        k = len(youtube_spam.CLASSES)
    else:
        from dawn.label.model.synthetic import synthetic_label_matrix

        n, m, k = CASES[case]
        Lm, Y, _ = synthetic_label_matrix(n, m, k, seed=seed)
        L = np.asarray(Lm)
    np.save(folder / "L.npy", L.astype(np.int8))
    np.save(folder / "Y.npy", Y)
    return k


def majority_counts(L: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` vote counts per class."""
    return np.stack([(L == c).sum(axis=1) for c in range(k)], axis=1)


def accuracies(folder: Path, k: int, sides: list[str], real: bool) -> dict[str, dict]:
    """Accuracy of each side (and majority vote) against Y.

    ``argmax_covered``: argmax of predict_proba on rows with at least one vote (ties go to
    the lowest class, as ``argmax`` does). ``all_rows``: ``predict`` with ties and
    no-vote rows abstaining, every abstain counted as wrong, over all rows.
    """
    L = np.load(folder / "L.npy")
    Y = np.load(folder / "Y.npy")
    covered = (L != -1).any(axis=1)
    counts = majority_counts(L, k)
    mv_argmax = counts.argmax(axis=1)
    top = counts.max(axis=1)
    mv_pred = np.where(((counts == top[:, None]).sum(axis=1) > 1) | ~covered, -1, mv_argmax)
    # dawn's majority vote here and Snorkel's MajorityLabelVoter must agree
    for name, ours in (("mv_argmax", mv_argmax), ("mv_pred", mv_pred)):
        theirs = np.load(folder / f"snorkel_{name}.npy")
        sel = covered if name == "mv_argmax" else slice(None)
        if not np.array_equal(ours[sel], theirs[sel]):
            raise AssertionError(f"majority vote differs from Snorkel's MajorityLabelVoter "
                                 f"({name}: {(ours[sel] != theirs[sel]).sum()} rows)")
    preds = {"majority vote": (mv_argmax, mv_pred)}
    for side in sides:
        preds[side] = (np.load(folder / f"{side}_argmax.npy"),
                       np.load(folder / f"{side}_pred.npy"))
    out = {}
    for name, (am, pr) in preds.items():
        out[name] = {"argmax_covered": float((am[covered] == Y[covered]).mean()),
                     "all_rows": float((pr == Y).mean()),
                     "abstained": int((pr == -1).sum())}
    out["_rows"] = {"n": len(Y), "covered": int(covered.sum()), "real": real}
    return out


def true_lf_accuracies(folder: Path) -> list[float]:
    """Each LF's accuracy against Y where it votes (NaN where it never votes)."""
    L, Y = np.load(folder / "L.npy"), np.load(folder / "Y.npy")
    voted = L != -1
    right = (L == Y[:, None]) & voted
    with np.errstate(invalid="ignore", divide="ignore"):
        return [round(float(a), 3) for a in right.sum(axis=0) / voted.sum(axis=0)]


# ---------------------------------------------------------------------------- driver

DAWNS = tuple(DAWN_ENV)
SIDES = (*DAWNS, "snorkel")
LABELS = {"dawn": "dawn", "dawn_1t": "dawn, 1 thread", "dawn_passive": "dawn, OMP passive",
          "snorkel": "Snorkel"}


def run_side(side: str, folder: Path, k: int, save: bool) -> dict:
    import _peers

    args = ["--worker", side, "--dir", str(folder), "--k", str(k)] + (["--save"] if save else [])
    if side == "snorkel":
        return _peers.run_worker("snorkel", Path(__file__).resolve(), args)
    env = dict(os.environ)
    env.update(DAWN_ENV[side])
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, env=env, timeout=1800, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"dawn worker failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads([ln for ln in proc.stdout.splitlines() if ln.strip()][-1])


def run_case(case: str, folder: Path, repeats: int, seed: int) -> dict:
    import _peers

    t0 = time.perf_counter()
    k = make_case(case, folder, seed)
    L_shape = list(np.load(folder / "L.npy", mmap_mode="r").shape)
    print(f"case {case}: L {L_shape}, k={k} (made in {time.perf_counter() - t0:.1f} s)",
          file=sys.stderr)
    runs: dict[str, list[dict]] = {s: [] for s in SIDES}
    for r in range(repeats):
        for side in SIDES:
            runs[side].append(run_side(side, folder, k, save=(r == 0)))
        print(f"  [{case}] run {r + 1}/{repeats}: "
              + ", ".join(f"{LABELS[s]} {_peers.fmt_seconds(runs[s][-1]['seconds'])} "
                          f"(+{runs[s][-1]['peak_increase_mb']:.0f} MB)" for s in SIDES),
              file=sys.stderr)
    acc = accuracies(folder, k, list(SIDES), CASES[case] is None)
    same = all(np.array_equal(np.load(folder / f"dawn_{kind}.npy"),
                              np.load(folder / f"{d}_{kind}.npy"))
               for d in DAWNS for kind in ("argmax", "pred"))
    res = {"case": case, "shape": L_shape, "k": k, "runs": repeats, "accuracy": acc,
           "method": runs["dawn"][0]["method"], "reason": runs["dawn"][0]["reason"],
           "info": runs["dawn"][0]["info"], "est_accuracies": runs["dawn"][0]["est_accuracies"],
           "true_accuracies": true_lf_accuracies(folder),
           "peak_reset": all(x["peak_reset"] for s in SIDES for x in runs[s]),
           "dawn_variants_identical": same}
    for s in SIDES:
        res[s] = {"median_s": _peers.median([x["seconds"] for x in runs[s]]),
                  "all_s": [x["seconds"] for x in runs[s]],
                  "peak_increase_mb": _peers.median([x["peak_increase_mb"] for x in runs[s]]),
                  "peak_mb": _peers.median([x["peak_mb"] for x in runs[s]]),
                  "rss_base_mb": _peers.median([x["rss_base_mb"] for x in runs[s]])}
    for d in DAWNS:
        res[d]["speedup"] = res["snorkel"]["median_s"] / res[d]["median_s"]
    return res


# ---------------------------------------------------------------------------- report

DESCRIPTIONS = {
    "a": "a. 100k × 10, binary, synthetic",
    "b": "b. 1M × 50, binary, synthetic",
    "c": "c. 100k × 20, 10 classes, synthetic",
    "youtube": "d. YouTube spam, 1,956 × 11 LFs",
}


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def metric(res: dict) -> str:
    return "all_rows" if res["accuracy"]["_rows"]["real"] else "argmax_covered"


def targets(res: dict) -> dict[str, str]:
    """Target cells for the speed, accuracy and memory columns."""
    case, acc = res["case"], res["accuracy"]
    key = metric(res)
    out = {"speed": "", "acc": "", "mem": ""}
    if case in ("a", "b"):
        out["speed"] = f"≥{SPEEDUP_TARGET:g}×: " + " / ".join(
            mark(res[d]["speedup"] >= SPEEDUP_TARGET) for d in DAWNS)
        gap = acc["dawn"][key] - acc["snorkel"][key]
        out["acc"] = f"≥ Snorkel − {ACC_SLACK} {mark(gap >= -ACC_SLACK)}"
    if case == "b":
        share = res["dawn"]["peak_increase_mb"] / res["snorkel"]["peak_increase_mb"]
        out["mem"] = f"≤ ¼ of Snorkel's {mark(share <= MEMORY_TARGET)}"
    if case == "youtube":
        best = max(acc["majority vote"][key], acc["snorkel"][key])
        out["acc"] = f"≥ max(MV, Snorkel) {mark(acc['dawn'][key] >= best - 1e-12)}"
    return out


def fmt_mb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def render(results: list[dict], repeats: int, argv: list[str], versions: dict,
           load: tuple[tuple, tuple]) -> str:
    import _peers

    def spread(xs):
        return f"{_peers.fmt_seconds(min(xs))}–{_peers.fmt_seconds(max(xs))}"

    cmd = "python benchmarks/bench_label_model.py " + " ".join(argv)
    lines = [
        "## Label models: dawn vs Snorkel 0.10",
        "",
        "`fit` + `predict_proba` on the same saved label matrix (dense int8, −1 = abstain). "
        f"dawn: `LabelModel(cardinality=k, seed=0).fit(L)` (method `auto`), then "
        "`predict_proba(L)`, given the int8 array. Snorkel: `LabelModel(cardinality=k, "
        f"verbose=False).fit(L_train=L, n_epochs={SNORKEL_EPOCHS}, seed=0)` then "
        "`predict_proba(L)`, given the matrix as int64 (what its appliers produce), "
        "`torch.set_num_threads(1)`, in its own venv (numpy's BLAS left at its default "
        "threads). Every timed run is a fresh process that loads the matrix and warms up "
        "first (dawn: one full fit, loading the numba kernels; Snorkel: a 5-epoch fit on "
        "1,000 rows); imports, loading and warm-up are not timed. dawn runs three ways: "
        "*default* (no thread settings: numba's OpenMP threading layer on both cores, where "
        "dawn chooses to run a kernel on several threads), *1 thread* "
        "(`NUMBA_NUM_THREADS=1` and one BLAS thread) and *OMP passive* (default threads "
        "with `OMP_WAIT_POLICY=passive`); the three give identical predictions"
        + ("" if all(r["dawn_variants_identical"] for r in results)
           else " (**they did not in this run**)")
        + f". Medians of {repeats} alternating runs (dawn, dawn 1 thread, dawn OMP passive, "
        "Snorkel, …). Snorkel ÷ dawn and the target marks are given for each dawn variant "
        "(default / 1 thread / OMP passive).",
        "",
        "| case | dawn method | dawn default, median (min–max) | dawn, 1 thread "
        "| dawn, OMP passive | Snorkel, median (min–max) | Snorkel ÷ dawn | target |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for res in results:
        t = targets(res)
        lines.append(
            f"| {DESCRIPTIONS[res['case']]} | `{res['method']}` "
            f"| {_peers.fmt_seconds(res['dawn']['median_s'])} ({spread(res['dawn']['all_s'])}) "
            f"| {_peers.fmt_seconds(res['dawn_1t']['median_s'])} "
            f"| {_peers.fmt_seconds(res['dawn_passive']['median_s'])} "
            f"| {_peers.fmt_seconds(res['snorkel']['median_s'])} "
            f"({spread(res['snorkel']['all_s'])}) "
            f"| **{res['dawn']['speedup']:.1f}×** / {res['dawn_1t']['speedup']:.1f}× / "
            f"{res['dawn_passive']['speedup']:.1f}× | {t['speed']} |")
    lines += [
        "",
        "Accuracy against the true labels, and peak memory (the rise of the process's peak "
        "RSS during `fit` + `predict_proba` above its RSS after loading and warm-up; "
        "absolute peak in brackets):",
        "",
        "| case | rows scored | dawn | Snorkel | majority vote | target | dawn peak memory "
        "| Snorkel peak memory | dawn ÷ Snorkel | target |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for res in results:
        t, acc, key = targets(res), res["accuracy"], metric(res)
        rows = acc["_rows"]
        scored = (f"all {rows['n']:,}" if key == "all_rows" else f"{rows['covered']:,} covered")
        d, s = res["dawn"], res["snorkel"]
        lines.append(
            f"| {DESCRIPTIONS[res['case']]} | {scored} | **{acc['dawn'][key]:.4f}** "
            f"| {acc['snorkel'][key]:.4f} | {acc['majority vote'][key]:.4f} | {t['acc']} "
            f"| {fmt_mb(d['peak_increase_mb'])} ({fmt_mb(d['peak_mb'])}) "
            f"| {fmt_mb(s['peak_increase_mb'])} ({fmt_mb(s['peak_mb'])}) "
            f"| {d['peak_increase_mb'] / s['peak_increase_mb']:.3f} | {t['mem']} |")
    lines += [
        "",
        "Accuracy: on the synthetic cases, the argmax of `predict_proba` on the rows with at "
        "least one vote (ties go to the lowest class, for every side). On YouTube, over "
        "all rows with `predict` abstaining on ties (`tie_break=\"abstain\"`, Snorkel "
        "`tie_break_policy=\"abstain\"`) and on rows without votes; every abstain counts "
        "as wrong for everyone"
    ]
    for res in results:
        if res["accuracy"]["_rows"]["real"]:
            acc = res["accuracy"]
            lines[-1] += (
                " (abstains: dawn " + f"{acc['dawn']['abstained']}, Snorkel "
                f"{acc['snorkel']['abstained']}, majority vote "
                f"{acc['majority vote']['abstained']}; argmax on the "
                f"{acc['_rows']['covered']:,} covered rows instead: dawn "
                f"{acc['dawn']['argmax_covered']:.4f}, Snorkel "
                f"{acc['snorkel']['argmax_covered']:.4f}, majority vote "
                f"{acc['majority vote']['argmax_covered']:.4f})")
    lines[-1] += (". Majority vote is computed here and checked equal to Snorkel's "
                  "`MajorityLabelVoter`.")
    for res in results:
        if res["accuracy"]["_rows"]["real"]:
            pairs = ", ".join(f"{e:.2f} ({t:.2f})" for e, t in
                              zip(res["est_accuracies"], res["true_accuracies"], strict=True))
            lines += ["", f"{DESCRIPTIONS[res['case']]}: dawn's estimated LF accuracies "
                      f"(true ones in brackets), in the order of `examples/youtube_spam.py`'s "
                      f"`LFS`: {pairs}."]
    lines += ["", "Why dawn picked its method (`method_reason_`):", ""]
    for res in results:
        lines.append(f"- {DESCRIPTIONS[res['case']]}: {res['reason']}")
    if not all(r["peak_reset"] for r in results):
        lines += ["", "(The peak-RSS mark could not be reset on this machine; peaks include "
                  "the warm-up.)"]
    (l1, l5, _), (e1, e5, _) = load
    lines += [
        "",
        f"Machine: {_peers.machine_note()}; load average (1 min / 5 min) {l1:.2f} / {l5:.2f} "
        f"at the start, {e1:.2f} / {e5:.2f} at the end. Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "Reproduce (builds `benchmarks/.venvs/snorkel` on first use; the YouTube case needs "
        "`../shared/data/youtube-spam`):",
        "",
        "```bash",
        cmd,
        "```",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cases", default=",".join(CASES),
                   help="comma-separated subset of " + ", ".join(CASES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    # worker mode
    p.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, help=argparse.SUPPRESS)
    p.add_argument("--save", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker == "snorkel":
        print(json.dumps(snorkel_worker(Path(args.dir), args.k, args.save)))
        return 0
    if args.worker:
        print(json.dumps(dawn_worker(Path(args.dir), args.k, args.save, args.worker)))
        return 0

    sys.path.insert(0, str(HERE))
    import _peers

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            p.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    if "youtube" in cases and not YOUTUBE.is_dir():
        print(f"skipping the YouTube case: {YOUTUBE} not found", file=sys.stderr)
        cases.remove("youtube")
    load_start = os.getloadavg()
    print(f"load average at start: {load_start}", file=sys.stderr)
    _peers.ensure_venv("snorkel")
    tmp = Path(tempfile.mkdtemp(prefix="dawn-bench-lm-"))
    try:
        results = [run_case(c, tmp / c, args.repeats, args.seed) for c in cases]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = os.getloadavg()

    import numba

    import dawn

    versions = {"dawn": f"{getattr(dawn, '__version__', 'dev')} ({_peers.dawn_commit()})",
                "Snorkel": _peers.peer_version("snorkel", "snorkel"),
                "torch": _peers.peer_version("snorkel", "torch"),
                "numba": numba.__version__, "numpy": np.__version__,
                "Python": sys.version.split()[0]}
    if args.json:
        print(json.dumps(results, indent=2))
    text = render(results, args.repeats, argv, versions, (load_start, load_end))
    print(text)
    if args.write:
        _peers.write_section("label_model", text)
        print(f"updated {_peers.BENCHMARKS_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
