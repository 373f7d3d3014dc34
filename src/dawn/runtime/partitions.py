"""Run a function over row partitions on one of several backends.

>>> from dawn.data import as_frame
>>> f = as_frame({"x": list(range(10))})
>>> map_partitions(lambda part: int(part.numpy("x").sum()), f, backend="local", n_partitions=3)
[3, 18, 24]
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from dawn.errors import BackendError, ConfigError

__all__ = ["BACKENDS", "map_partitions", "resolve_backend"]

BACKENDS = ("auto", "local", "processes", "dask")
T = TypeVar("T")

# The function and data a forked worker runs on; set in the parent just before the fork,
# so neither is pickled (closures and interactively defined functions work as they are).
_FORK_JOB: tuple[Callable[[Any], Any], Any] | None = None


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def resolve_backend(backend: str, *, work: float = 0.0, client: Any = None,
                    parallel_threshold: float = 2e5) -> str:
    """The concrete backend for ``backend`` given the amount of ``work`` (row × function calls).

    ``auto`` picks ``dask`` when a client is given, ``processes`` when there is enough
    Python-level work and more than one core, and ``local`` otherwise.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend={backend!r} is not one of {list(BACKENDS)}.")
    if backend != "auto":
        return backend
    if client is not None:
        return "dask"
    if work >= parallel_threshold and cpu_count() > 1 and _can_fork():
        return "processes"
    return "local"


def _can_fork() -> bool:
    return sys.platform != "win32" and hasattr(os, "fork")


def _bounds(n: int, parts: int) -> list[tuple[int, int]]:
    parts = max(1, min(parts, n)) if n else 1
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _slice(data: Any, start: int, stop: int) -> Any:
    if hasattr(data, "slice") and not isinstance(data, np.ndarray):
        return data.slice(start, stop)
    if hasattr(data, "iloc"):
        return data.iloc[start:stop]
    return data[start:stop]


def _run_forked(bounds: tuple[int, int]) -> Any:
    assert _FORK_JOB is not None
    func, data = _FORK_JOB
    return func(_slice(data, *bounds))


def map_partitions(
    func: Callable[[Any], T],
    data: Any,
    *,
    backend: str = "auto",
    client: Any = None,
    n_partitions: int | None = None,
    n_jobs: int | None = None,
    work: float | None = None,
    progress: bool = False,
    description: str = "working",
) -> list[T]:
    """Apply ``func`` to consecutive row slices of ``data`` and return the results in order.

    Parameters
    ----------
    func : callable
        Takes a slice of ``data`` (same type) and returns a partial result.
    data : Frame, pandas.DataFrame or array
        Anything with ``len`` and ``.slice(start, stop)``, ``.iloc`` or ``[start:stop]``.
    backend : {"auto", "local", "processes", "dask"}
        ``local`` runs here; ``processes`` forks one worker per core (no pickling of
        ``func``); ``dask`` ships partitions to ``client`` (or the current
        ``distributed`` client).
    n_partitions : int, optional
        How many slices; defaults to one per worker (several for progress reporting).
    work : float, optional
        Estimated row × function calls, used by ``auto``; defaults to ``len(data)``.
    progress : bool
        Show a progress bar on stderr.
    """
    n = len(data)
    chosen = resolve_backend(backend, work=float(n if work is None else work), client=client)
    if chosen == "local":
        parts = _bounds(n, n_partitions or (20 if progress else 1))
        return list(_progress(map(lambda b: func(_slice(data, *b)), parts), len(parts),
                              progress, description))
    if chosen == "processes":
        return _map_processes(func, data, n, n_partitions, n_jobs, progress, description)
    return _map_dask(func, data, n, n_partitions, client, progress, description)


def _map_processes(func, data, n, n_partitions, n_jobs, progress, description):
    global _FORK_JOB
    if not _can_fork():  # pragma: no cover - platform without fork
        raise BackendError("backend='processes' needs os.fork (Linux/macOS); "
                           "use 'local' or 'dask'.")
    import multiprocessing as mp

    jobs = max(1, n_jobs or cpu_count())
    parts = _bounds(n, n_partitions or jobs * (8 if progress else 2))
    ctx = mp.get_context("fork")
    _FORK_JOB = (func, data)
    # Objects that exist before the fork go to the permanent GC generation, so the workers'
    # collections do not touch (and copy-on-write) every page of the parent's heap.
    already_frozen = gc.get_freeze_count() > 0  # the caller froze objects itself
    gc.freeze()
    try:
        with ctx.Pool(processes=min(jobs, len(parts))) as pool:
            results = list(_progress(pool.imap(_run_forked, parts), len(parts), progress,
                                     description))
    finally:
        if not already_frozen:
            gc.unfreeze()
        _FORK_JOB = None
    return results


def _map_dask(func, data, n, n_partitions, client, progress, description):
    try:
        from distributed import get_client
    except ImportError:
        raise BackendError(
            "backend='dask' needs dask.distributed; install it with pip install 'dawn[scale]'."
        ) from None
    if client is None:
        try:
            client = get_client()
        except ValueError:
            raise BackendError(
                "backend='dask' found no running distributed Client; start one "
                "(distributed.Client()) or pass client=."
            ) from None
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    parts = _bounds(n, n_partitions or workers * 4)
    # A Frame slice pickles only its own rows (Frame.__getstate__ writes Arrow IPC).
    # hash=False: unique keys, so releasing an earlier call's identical partitions (same
    # content, same hashed key) cannot drop this call's data ("lost dependencies")
    chunks = client.scatter([_slice(data, a, b) for a, b in parts], hash=False)
    futures = client.map(func, chunks, pure=False)
    if progress:
        from distributed import as_completed

        for _ in _progress(as_completed(futures), len(futures), True, description):
            pass
    return client.gather(futures)


def _progress(items, total: int, show: bool, description: str):
    if not show or total <= 1:
        yield from items
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
