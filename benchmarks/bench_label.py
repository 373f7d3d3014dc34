"""Applying labeling functions: dawn vs Snorkel 0.10 (and pandas ``str.contains``).

    python benchmarks/bench_label.py [--rows 100000] [--repeats 5] [--write]

The script makes its own data (seeded YouTube-comment-like texts, 60-150 characters,
mostly ASCII), writes it to a temporary Parquet file, and times three cases on each side:

a. ``keyword``: 10 keyword LFs (3-6 whole-word, case-insensitive keywords each);
b. ``regex``: 5 regex LFs (URLs, "check out my ...", prices, "subscribe", "!!!");
c. ``python``: 5 Python ``@labeling_function`` LFs with the same bodies on both sides.

dawn runs in this interpreter; Snorkel runs in its own venv (``benchmarks/.venvs/snorkel``,
built on first use) through this same file in worker mode, one subprocess per run, timing
only ``PandasLFApplier.apply(df)`` after loading the data and a warm-up call. Runs
alternate (dawn, pandas, Snorkel, dawn, ...); figures are medians; the first dawn call
(numba compilation) is not timed. The label matrices of all sides are asserted equal.

This module imports only the standard library and numpy at the top, so the Snorkel venv
can run it as a worker.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HAM, SPAM, ABSTAIN = 0, 1, -1

# ---------------------------------------------------------------------------- the LFs
# Shared by both sides, so each does exactly the same work.

KEYWORD_LFS: list[tuple[str, list[str], int]] = [
    ("kw_subscribe", ["subscribe", "subscribed", "sub4sub", "subs"], SPAM),
    ("kw_channel", ["channel", "vlog", "vlogs", "youtuber"], SPAM),
    ("kw_free", ["free", "giveaway", "prize", "winner", "win"], SPAM),
    ("kw_money", ["money", "cash", "earn", "income", "bitcoin", "crypto"], SPAM),
    ("kw_click", ["click", "link", "visit", "website"], SPAM),
    ("kw_social", ["instagram", "facebook", "twitter", "tiktok", "follow"], SPAM),
    ("kw_song", ["song", "songs", "music", "melody", "lyrics"], HAM),
    ("kw_love", ["love", "beautiful", "amazing", "awesome", "masterpiece"], HAM),
    ("kw_memories", ["memories", "childhood", "remember", "nostalgia"], HAM),
    ("kw_voice", ["voice", "singer", "vocals", "chorus", "beat", "dance"], HAM),
]

REGEX_LFS: list[tuple[str, str, int]] = [
    ("re_url", r"https?://\S+|www\.\w+\.\w+", SPAM),
    ("re_check_out_my", r"check\s+(?:it\s+)?out\s+my\s+\w+", SPAM),
    ("re_price", r"[$€£]\s?\d+(?:[.,]\d\d)?|\b\d+\s?(?:dollars|usd|bucks)\b", SPAM),
    ("re_subscribe", r"\b(?:please|pls|plz)\s+subscribe\b|\bsubscribe\s+(?:to\s+)?(?:me|my)\b",
     SPAM),
    ("re_punct", r"[!?]{3,}", SPAM),
]


def keyword_pattern(keywords: list[str]) -> str:
    """Whole-word alternation: a keyword not touching a word character on either side."""
    return r"(?<!\w)(?:" + "|".join(re.escape(k) for k in keywords) + r")(?!\w)"


# Python LF bodies (plain functions of a row with a ``text`` attribute).

def short_comment(x):
    return HAM if len(x.text.split()) < 12 else ABSTAIN


def many_exclaims(x):
    return SPAM if x.text.count("!") >= 3 else ABSTAIN


def shouting(x):
    upper = sum(1 for c in x.text if c.isupper())
    return SPAM if upper > 0.3 * len(x.text) else ABSTAIN


def has_link(x):
    t = x.text.lower()
    return SPAM if "http" in t or "www." in t else ABSTAIN


def song_praise(x):
    t = x.text.lower()
    return HAM if any(w in t for w in ("song", "voice", "beautiful", "love")) else ABSTAIN


PYTHON_LFS: list[Callable] = [short_comment, many_exclaims, shouting, has_link, song_praise]

CASES = ("keyword", "regex", "python")
# speed-up over Snorkel that dawn aims for, per (case, side)
TARGETS = {("keyword", "dawn local"): 200.0, ("python", "dawn processes"): 1.5}

# ---------------------------------------------------------------------------- the data

_SPAM_BITS = [
    "check out my channel", "check out my new video", "check it out my music", "subscribe",
    "please subscribe", "plz subscribe to my channel", "sub4sub anyone?", "subscribe to me",
    "free iPhone giveaway", "click the link in my bio", "visit www.promo-deals.com now",
    "http://bit.ly/2xYzAbc", "https://youtu.be/dQw4w9WgXcQ", "win a $500 gift card",
    "earn money from home", "make 300 dollars a day", "only $9.99 today", "crypto income",
    "follow me on instagram", "follow me on tiktok", "I post vlogs every day",
    "new youtuber here", "bitcoin doubles your cash", "winner gets a prize", "my website",
    "FREE FREE FREE", "like and share!!!", "omg!!!", "what???",
    "subs for subs", "#subscribe", "@everyone visit my page",
]
_HAM_BITS = [
    "this song is amazing", "love this song", "her voice is beautiful", "still listening",
    "who is here in 2024?", "brings back memories", "best music video ever", "a masterpiece",
    "the chorus gives me chills", "the beat drops so hard", "childhood memories",
    "I remember dancing to this", "pure nostalgia", "lyrics hit different", "what a singer",
    "awesome vocals", "this melody is stuck in my head", "can't stop listening",
    "my mom loved this", "the dance at 2:15", "so good", "the guitar solo",
    "the drummer is insane", "goosebumps", "thank you for this",
]
_NON_ASCII_BITS = [
    "canción hermosa", "qué voz", "über gut", "café vibes", "niño I miss this",
    "señor this is art", "❤❤❤", "😍", "🔥🔥", "€20 bonus", "naïve lyrics", "Beyoncé",
]
_FILLER = (
    "the and it is so this that was really just like I you we all one more time when what "
    "video song people here every day love year ago still best ever good great now listen "
    "watch again never gets old in my life of for with on to be at from".split()
)


def make_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` comment-like texts of 60-150 characters, about a third spam-like (seeded)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        spammy = rng.random() < 0.35
        pool, other = (_SPAM_BITS, _HAM_BITS) if spammy else (_HAM_BITS, _SPAM_BITS)
        target = rng.randint(60, 150)
        parts: list[str] = []
        length = -1
        while length < target:
            r = rng.random()
            if r < 0.012:
                bit = rng.choice(_NON_ASCII_BITS)
            elif r < 0.35:
                bit = rng.choice(pool)
            elif r < 0.42:
                bit = rng.choice(other)
            else:
                bit = rng.choice(_FILLER)
            parts.append(bit)
            length += len(bit) + 1
        text = " ".join(parts)
        if len(text) > 150:
            text = text[:150].rsplit(" ", 1)[0]
        while len(text) < 60:
            text += " " + rng.choice(_FILLER)
        if rng.random() < 0.05:
            text = text.upper()
        elif rng.random() < 0.3:
            text = text[0].upper() + text[1:]
        if rng.random() < 0.08 and len(text) <= 147:
            text += rng.choice(["!!!", "???", "!?!", "..."])
        out.append(text)
    return out


def write_data(path: Path, n: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": make_texts(n, seed)}), path)


# ---------------------------------------------------------------------------- Snorkel side

def snorkel_lfs(case: str) -> list:
    """Snorkel LFs as its docs write them (keyword/regex lookups as resources)."""
    from snorkel.labeling import LabelingFunction, labeling_function

    def regex_lookup(x, rx, label):
        return label if rx.search(x.text) else ABSTAIN

    if case == "keyword":
        return [LabelingFunction(name, f=regex_lookup,
                                 resources={"rx": re.compile(keyword_pattern(kws), re.I),
                                            "label": label})
                for name, kws, label in KEYWORD_LFS]
    if case == "regex":
        return [LabelingFunction(name, f=regex_lookup,
                                 resources={"rx": re.compile(pattern, re.I), "label": label})
                for name, pattern, label in REGEX_LFS]
    return [labeling_function()(body) for body in PYTHON_LFS]


def snorkel_worker(case: str, data: str, out: str | None) -> dict:
    import pandas as pd
    import torch

    torch.set_num_threads(1)
    from snorkel.labeling import PandasLFApplier

    df = pd.read_parquet(data)
    applier = PandasLFApplier(snorkel_lfs(case))
    applier.apply(df.iloc[:1000], progress_bar=False)  # warm-up, not timed
    t0 = time.perf_counter()
    L = applier.apply(df, progress_bar=False)
    seconds = time.perf_counter() - t0
    if out:
        np.save(out, L)
    return {"seconds": seconds, "shape": list(L.shape)}


# ---------------------------------------------------------------------------- dawn / pandas

def dawn_runner(case: str, backend: str = "local") -> Callable:
    import dawn.label as dl

    if case == "keyword":
        lfs = [dl.keyword_lf(name, kws, label) for name, kws, label in KEYWORD_LFS]
    elif case == "regex":
        lfs = [dl.regex_lf(name, pattern, label, flags=re.I)
               for name, pattern, label in REGEX_LFS]
    else:
        lfs = [dl.labeling_function()(body) for body in PYTHON_LFS]

    def run(df):
        return np.asarray(dl.apply_lfs(lfs, df, backend=backend, progress=False))

    return run


def pandas_runner(case: str) -> Callable | None:
    """The per-LF ``Series.str.contains`` loop (the floor for declarative LFs)."""
    if case == "keyword":
        specs = [(keyword_pattern(kws), label, {"case": False}) for _, kws, label in KEYWORD_LFS]
    elif case == "regex":
        specs = [(pattern, label, {"flags": re.I}) for _, pattern, label in REGEX_LFS]
    else:
        return None

    def run(df):
        s = df["text"]
        cols = [np.where(s.str.contains(p, **kw).to_numpy(dtype=bool), label, ABSTAIN)
                for p, label, kw in specs]
        return np.stack(cols, axis=1)

    return run


def one_core(fn: Callable) -> Callable:
    """``fn`` run with this process pinned to one CPU (dawn's kernels then use one thread)."""
    import os

    def run(*args):
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(before)})
        try:
            return fn(*args)
        finally:
            os.sched_setaffinity(0, before)

    return run


def timed(fn: Callable, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def check_equal(name: str, got: np.ndarray, want: np.ndarray) -> None:
    got, want = np.asarray(got, dtype=np.int64), np.asarray(want, dtype=np.int64)
    if got.shape != want.shape or not np.array_equal(got, want):
        where = np.argwhere(got != want) if got.shape == want.shape else []
        raise AssertionError(f"{name}: label matrix differs from Snorkel's "
                             f"(shapes {got.shape} vs {want.shape}; "
                             f"{len(where)} cells differ, first at {where[:5].tolist()})")


# ---------------------------------------------------------------------------- driver

def run_case(case: str, df, data: Path, repeats: int, tmp: Path) -> list[dict]:
    import _peers

    sides: dict[str, Callable] = {}
    if case == "python":
        sides["dawn processes"] = dawn_runner(case, "processes")
        sides["dawn local"] = dawn_runner(case, "local")
    else:
        sides["dawn local"] = dawn_runner(case)
        sides["dawn local, 1 core"] = one_core(dawn_runner(case))
        floor = pandas_runner(case)
        if floor is not None:
            sides["pandas str.contains"] = floor
    # first calls (numba compilation, process start-up paths), not timed
    first = {name: fn(df) for name, fn in sides.items()}
    times: dict[str, list[float]] = {name: [] for name in sides}
    times["snorkel"] = []
    L_snorkel = None
    for r in range(repeats):
        for name, fn in sides.items():
            t, L = timed(fn, df)
            times[name].append(t)
            first[name] = L
        out = str(tmp / f"snorkel_{case}.npy") if r == 0 else None
        res = _peers.run_worker("snorkel", Path(__file__).resolve(),
                                ["--worker", "snorkel", "--case", case, "--data", str(data)]
                                + (["--out", out] if out else []))
        times["snorkel"].append(res["seconds"])
        if out:
            L_snorkel = np.load(out)
        print(f"  [{case}] run {r + 1}/{repeats}: "
              + ", ".join(f"{k} {_peers.fmt_seconds(v[-1])}" for k, v in times.items()),
              file=sys.stderr)
    for name, L in first.items():
        check_equal(f"{case}/{name}", L, L_snorkel)
    peer = _peers.median(times["snorkel"])
    floor = _peers.median(times["pandas str.contains"]) if "pandas str.contains" in times else None
    rows = []
    for name in sides:
        if not name.startswith("dawn"):
            continue
        med = _peers.median(times[name])
        rows.append({"case": case, "side": name, "median_s": med, "snorkel_median_s": peer,
                     "speedup_vs_snorkel": peer / med, "pandas_median_s": floor,
                     "speedup_vs_pandas": None if floor is None else floor / med,
                     "runs": repeats, "all_s": times[name],
                     "snorkel_all_s": times["snorkel"],
                     "pandas_all_s": times.get("pandas str.contains"),
                     "votes": int((L_snorkel != ABSTAIN).sum())})
    return rows


DESCRIPTIONS = {
    "keyword": "a. 10 keyword LFs (3–6 whole-word, case-insensitive keywords each)",
    "regex": "b. 5 regex LFs (URLs, “check out my …”, prices, subscribe, repeated punctuation)",
    "python": "c. 5 Python `@labeling_function` LFs (same bodies on both sides)",
}


def spread(xs: list[float]) -> str:
    import _peers

    return f"{_peers.fmt_seconds(min(xs))}–{_peers.fmt_seconds(max(xs))}"


def render(rows: list[dict], n: int, repeats: int, argv: list[str], versions: dict) -> str:
    import _peers

    cmd = "python benchmarks/bench_label.py " + " ".join(argv)
    lines = [
        "## Applying labeling functions: dawn vs Snorkel 0.10",
        "",
        f"{n:,} generated YouTube-comment-like texts (seeded, 60–150 characters, a little "
        "non-ASCII), loaded from Parquet before timing on both sides. Snorkel: "
        "`PandasLFApplier(lfs).apply(df, progress_bar=False)` in its own venv with "
        "`torch.set_num_threads(1)`, keyword/regex LFs as `LabelingFunction`s with a "
        "pre-compiled `re` pattern as a resource. dawn: `np.asarray(apply_lfs(lfs, df, "
        "backend=...))`; `local` runs its keyword/regex kernels on threads over all cores, "
        "`local, 1 core` pins the process to one CPU (Snorkel and pandas use one), "
        "`processes` forks one worker per core. pandas: one `Series.str.contains` per LF, "
        "stacked. Medians of "
        f"{repeats} alternating runs (dawn, pandas, Snorkel, …); imports, data loading and "
        "the first call (numba compilation) not timed. All label matrices are asserted "
        "identical to Snorkel's.",
        "",
        "| case | dawn | dawn median (min–max) | Snorkel median (min–max) | Snorkel ÷ dawn "
        "| target | pandas `str.contains` | pandas ÷ dawn | runs |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        target = TARGETS.get((r["case"], r["side"]))
        met = "" if target is None else (
            f"≥{target:g}× {'✓' if r['speedup_vs_snorkel'] >= target else '✗'}")
        floor = ("—" if r["pandas_median_s"] is None
                 else _peers.fmt_seconds(r["pandas_median_s"]))
        vs_floor = "—" if r["speedup_vs_pandas"] is None else f"{r['speedup_vs_pandas']:.1f}×"
        lines.append(f"| {r['case']} | {r['side'].removeprefix('dawn ')} "
                     f"| {_peers.fmt_seconds(r['median_s'])} ({spread(r['all_s'])}) "
                     f"| {_peers.fmt_seconds(r['snorkel_median_s'])} "
                     f"({spread(r['snorkel_all_s'])}) "
                     f"| **{r['speedup_vs_snorkel']:.1f}×** | {met} | {floor} | {vs_floor} "
                     f"| {r['runs']} |")
    lines += ["", "Cases:", ""] + [f"- {DESCRIPTIONS[c]}" for c in
                                   dict.fromkeys(r["case"] for r in rows)]
    lines += [
        "",
        f"Machine: {_peers.machine_note()}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "Reproduce (builds `benchmarks/.venvs/snorkel` on first use):",
        "",
        "```bash",
        cmd,
        "```",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of "
                   + ", ".join(CASES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    # worker mode (inside a peer's venv)
    p.add_argument("--worker", choices=["snorkel"], help=argparse.SUPPRESS)
    p.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        print(json.dumps(snorkel_worker(args.case, args.data, args.out)))
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _peers
    import pandas as pd

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            p.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    _peers.ensure_venv("snorkel")
    tmp = Path(tempfile.mkdtemp(prefix="dawn-bench-label-"))
    try:
        data = tmp / "comments.parquet"
        write_data(data, args.rows, args.seed)
        df = pd.read_parquet(data)
        rows = []
        for case in cases:
            print(f"case {case} ...", file=sys.stderr)
            rows += run_case(case, df, data, args.repeats, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    import dawn

    versions = {"dawn": getattr(dawn, "__version__", "dev"),
                "Snorkel": _peers.peer_version("snorkel", "snorkel"),
                "pandas": pd.__version__, "numpy": np.__version__,
                "Python": sys.version.split()[0]}
    if args.json:
        print(json.dumps(rows, indent=2))
    text = render(rows, args.rows, args.repeats, argv, versions)
    print(text)
    if args.write:
        _peers.write_section("label", text)
        print(f"updated {_peers.BENCHMARKS_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
