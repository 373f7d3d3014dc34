"""Helpers shared by dawn's side-by-side benchmarks.

Peers (Snorkel, ...) never enter dawn's own environment. Each gets a venv under
``benchmarks/.venvs/<name>`` (ignored by git), built on first use with ``python -m venv``
and the pip installs listed in ``PEERS``. A benchmark runs its peer side as a worker
script inside that venv (one subprocess per timed run); the worker loads its data before
starting its own timer and prints one JSON object as the last line of its stdout.

Also here: medians, the machine note, and ``write_section`` which replaces one marked
section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
BENCHMARKS_MD = HERE.parent / "BENCHMARKS.md"

# name -> pip install steps (run in order) and a smoke import that proves the venv works.
# Snorkel: torch first, pinned to the CPU build on this machine's disk (a plain `torch`
# pulls a multi-GB CUDA build). snorkel 0.10.0 installs and imports as is with
# pandas 3.1.1 / numpy 2.4.6 / pyarrow 26 on Python 3.11 (no extra pins needed).
# Evidently 0.7 needs pandas<3 (it fails to import with pandas 3).
PEERS: dict[str, dict[str, Any]] = {
    "snorkel": {
        "steps": [["torch==2.13.0"], ["snorkel", "pyarrow"]],
        "check": "import snorkel, torch, pyarrow; print(snorkel.__version__)",
    },
    # crowd-kit pulls transformers (~750 MB). Its Wawa and ZeroBasedSkill break with
    # scikit-learn 1.9, so the venv pins scikit-learn<1.9 (DawidSkene, OneCoinDawidSkene,
    # GLAD and MajorityVote do not need the pin, but it keeps every aggregator usable).
    "crowdkit": {
        "steps": [["crowd-kit", "scikit-learn<1.9", "pyarrow"]],
        "check": "import crowdkit, crowdkit.aggregation, pyarrow; print(crowdkit.__version__)",
    },
    "evidently": {
        "steps": [["evidently", "pandas<3", "pyarrow"]],
        "check": "import evidently, pandas, pyarrow; print(evidently.__version__)",
    },
    # implicit 0.7.3 ships manylinux wheels (no compiler needed); its workers get
    # numpy/scipy arrays only, so nothing else is installed. One-core figures need
    # threadpoolctl.threadpool_limits(1) and AlternatingLeastSquares(num_threads=1).
    "implicit": {
        "steps": [["implicit", "threadpoolctl"]],
        "check": "import implicit, threadpoolctl, scipy; print(implicit.__version__)",
    },
}


def venv_python(name: str) -> Path:
    """Path of the Python interpreter of peer venv ``name``."""
    return VENVS / name / "bin" / "python"


def ensure_venv(name: str, *, quiet: bool = True) -> Path:
    """Build the venv of peer ``name`` if it is missing or unfinished; return its Python."""
    if name not in PEERS:
        raise KeyError(f"unknown peer {name!r}; known peers: {sorted(PEERS)}")
    spec = PEERS[name]
    root = VENVS / name
    ready = root / ".ready"
    python = venv_python(name)
    if ready.exists() and python.exists():
        return python
    if not python.exists():
        print(f"[peers] creating venv {root} ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
    for step in spec["steps"]:
        print(f"[peers] pip install {' '.join(step)} (into {name}) ...", file=sys.stderr)
        cmd = [str(python), "-m", "pip", "install", *(["-q"] if quiet else []), *step]
        subprocess.run(cmd, check=True)
    subprocess.run([str(python), "-c", spec["check"]], check=True)
    ready.write_text("ok\n")
    return python


def peer_version(name: str, dist: str) -> str:
    """Version of distribution ``dist`` installed in peer venv ``name`` ("?" if unknown)."""
    out = subprocess.run([str(venv_python(name)), "-c",
                          f"import importlib.metadata as m; print(m.version({dist!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def run_worker(name: str, script: Path | str, args: list[str], *,
               env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run ``script args`` with peer ``name``'s Python; return the JSON its last line prints."""
    python = ensure_venv(name)
    full_env = dict(os.environ)
    full_env.update(env or {})
    # The peer must not see dawn's source tree or this interpreter's site-packages.
    full_env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(python), str(script), *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=str(HERE))
    if proc.returncode != 0:
        raise RuntimeError(f"peer worker {name} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"peer worker {name} printed nothing; stderr:\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def fmt_seconds(s: float) -> str:
    """Seconds in a readable unit (``0.0123`` -> ``12.3 ms``)."""
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def machine_note() -> str:
    """A short description of the machine: cores, CPU model, and that it is shared."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return f"{cores} cores, shared" + (f" ({model})" if model else "")


def write_section(key: str, body: str, *, path: Path = BENCHMARKS_MD) -> None:
    """Replace the section marked ``key`` in ``BENCHMARKS.md`` with ``body`` (or append it).

    A section lies between ``<!-- bench:KEY:start -->`` and ``<!-- bench:KEY:end -->``;
    everything else in the file is kept as it is.
    """
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else (
        "# dawn benchmarks\n\nEach figure comes with the command that reproduces it. Ratios "
        "travel between machines; absolute times do not.\n\n")
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        tail = tail.lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text)


# -- memory of this process (Linux /proc; ru_maxrss elsewhere) ---------------------
def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """Current resident set size in MB (``ru_maxrss`` when /proc is not there)."""
    kb = _status_kb("VmRSS")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); True when it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """Peak RSS in MB since the last :func:`reset_peak` (``ru_maxrss`` when /proc is not there)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


# ---------------------------------------------------------------------------- workers


def dawn_commit() -> str:
    """The checkout's commit, with ``+ uncommitted changes`` when src/ differs from it."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=Path(__file__).resolve().parent.parent,
                                  capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    head = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--untracked-files=no", "src")
    return head + (" + uncommitted changes" if dirty else "")


def timed(fn):
    """Run ``fn()`` measuring wall time and peak RSS increase; returns (result, stats)."""
    base = rss_mb()
    reset = reset_peak()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    peak = peak_mb()
    return out, {"seconds": seconds, "rss_base_mb": base, "peak_mb": peak,
                 "peak_increase_mb": peak - base, "peak_reset": reset}


def warm_times(fn, k: int = 3) -> list[float]:
    """Wall times of ``k`` more calls of ``fn`` in this (now warm) process."""
    out = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out
