"""How many threads dawn's numba kernels use for a piece of work.

Waking a thread team costs more than small work saves, and on a busy machine the team's
threads spin while they wait: a label model on 2,000 rows took 50 ms with 2 threads and
10 ms with 1 while other processes kept both cores busy. Kernels therefore run on one
thread below a work threshold and on all of numba's threads above it.

>>> with kernel_threads(work=1_000):
...     import numba
...     numba.get_num_threads()
1
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PARALLEL_WORK", "kernel_threads"]

PARALLEL_WORK = 2_000_000  # cells (rows × columns) from which kernels use all threads


@contextmanager
def kernel_threads(work: float, threshold: float = PARALLEL_WORK) -> Iterator[None]:
    """Within the block, numba kernels run on one thread when ``work < threshold``.

    The setting is numba's per-thread one, so other threads are not affected.
    """
    if work >= threshold:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)
