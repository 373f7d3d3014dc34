"""map_partitions: the same ordered results on every backend."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from dawn.data import as_frame
from dawn.errors import BackendError, ConfigError
from dawn.runtime import BACKENDS, map_partitions, resolve_backend


def first_and_sum(part):
    x = part.numpy("x")
    return (int(x[0]) if len(x) else None, int(x.sum()), len(x))


@pytest.fixture(scope="module")
def frame():
    return as_frame({"x": np.arange(1000)})


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as c:
        yield c


def check_partitioning(results, n):
    """Consecutive slices covering 0..n-1 exactly once, in order."""
    starts = [first for first, _, _ in results]
    assert starts == sorted(starts) and starts[0] == 0
    assert sum(length for _, _, length in results) == n
    assert sum(total for _, total, _ in results) == n * (n - 1) // 2


def test_dask_without_a_client_is_a_backend_error(frame):
    # first in the file: the module's dask client fixture is not started yet
    try:
        from distributed import get_client

        get_client()
    except ImportError:
        pass  # without distributed the error says how to install it
    except ValueError:
        pass  # no client running: the case under test
    else:  # pragma: no cover - a client left running by another test
        pytest.skip("a distributed client is running in this process")
    with pytest.raises(BackendError, match=r"backend='dask' (found no running|needs)"):
        map_partitions(first_and_sum, frame, backend="dask")


@pytest.mark.parametrize("backend", ["local", "processes"])
def test_results_come_back_in_order(frame, backend):
    results = map_partitions(first_and_sum, frame, backend=backend, n_partitions=7, n_jobs=2)
    assert len(results) == 7
    check_partitioning(results, len(frame))
    assert results == map_partitions(first_and_sum, frame, backend="local", n_partitions=7)


def test_dask_matches_local(frame, client):
    local = map_partitions(first_and_sum, frame, backend="local", n_partitions=5)
    assert map_partitions(first_and_sum, frame, backend="dask", client=client,
                          n_partitions=5) == local
    assert map_partitions(first_and_sum, frame, backend="dask", n_partitions=5) == local
    default = map_partitions(first_and_sum, frame, backend="dask", client=client)
    check_partitioning(default, len(frame))
    assert map_partitions(first_and_sum, frame, client=client, n_partitions=5) == local  # auto
    with_bar = map_partitions(first_and_sum, frame, backend="dask", client=client,
                              n_partitions=5, progress=True)
    assert with_bar == local


def test_processes_run_closures_without_pickling(frame):
    seen = {"offset": 10}  # a closure over local state: not picklable by pickle

    results = map_partitions(lambda p: int(p.numpy("x").sum()) + seen["offset"], frame,
                             backend="processes", n_partitions=4, n_jobs=2)
    assert sum(results) == 999 * 1000 // 2 + 40


def test_default_partitions_and_progress(frame):
    assert len(map_partitions(first_and_sum, frame, backend="local")) == 1
    shown = map_partitions(first_and_sum, frame, backend="local", progress=True)
    check_partitioning(shown, len(frame))
    procs = map_partitions(first_and_sum, frame, backend="processes", n_jobs=2,
                           progress=True)
    check_partitioning(procs, len(frame))


def test_pandas_and_numpy_data():
    df = pd.DataFrame({"x": np.arange(10)})
    assert map_partitions(lambda p: p["x"].tolist(), df, backend="local",
                          n_partitions=3) == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]
    arr = np.arange(10)
    assert map_partitions(lambda p: p.tolist(), arr, backend="processes", n_partitions=2,
                          n_jobs=2) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_more_partitions_than_rows():
    f = as_frame({"x": np.arange(3)})
    assert map_partitions(first_and_sum, f, backend="local", n_partitions=10) == [
        (0, 0, 1), (1, 1, 1), (2, 2, 1)]


@pytest.mark.parametrize("backend", ["local", "processes"])
def test_empty_data_gives_one_empty_partition(backend):
    empty = as_frame({"x": np.arange(0)})
    assert map_partitions(first_and_sum, empty, backend=backend, n_jobs=2) == [(None, 0, 0)]


def test_empty_data_on_dask(client):
    empty = as_frame({"x": np.arange(0)})
    assert map_partitions(first_and_sum, empty, backend="dask", client=client) == [
        (None, 0, 0)]


def test_bad_backend_name(frame):
    with pytest.raises(ConfigError, match=r"backend='threads' is not one of \['auto'"):
        map_partitions(first_and_sum, frame, backend="threads")
    with pytest.raises(ConfigError, match="not one of"):
        resolve_backend("gpu")


def test_errors_in_func_reach_the_caller(frame):
    def boom(part):
        raise ZeroDivisionError("partition failed")

    for backend in ("local", "processes"):
        with pytest.raises(ZeroDivisionError, match="partition failed"):
            map_partitions(boom, frame, backend=backend, n_partitions=2, n_jobs=2)


def test_resolve_backend_auto():
    assert resolve_backend("auto", work=10) == "local"
    assert resolve_backend("auto", work=10, client=object()) == "dask"
    assert resolve_backend("local", work=1e9) == "local"
    assert resolve_backend("auto", work=1e9) in ("local", "processes")
    assert set(BACKENDS) == {"auto", "local", "processes", "dask"}


def test_partitions_sent_to_a_cluster_carry_only_their_rows():
    f = as_frame({"x": np.arange(200_000)})
    part = f.slice(0, 10)
    assert len(pickle.dumps(part)) < len(pickle.dumps(f)) // 100
    assert pickle.loads(pickle.dumps(part)).numpy("x").tolist() == list(range(10))
