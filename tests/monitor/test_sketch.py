"""Sketches: the numba kernel agrees with numpy, and merging equals sketching the whole."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.errors import SchemaError
from dawn.monitor import sketch as sketch_mod
from dawn.monitor._drift_kernels import bin_column, bin_column_reference
from dawn.monitor.sketch import (
    CategoricalSketch,
    NumericSketch,
    categorical_sketch,
    numeric_sketch,
    reference_edges,
)

_values = st.lists(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, 1.0, 2.0]),
                             st.just(np.nan), st.just(np.inf), st.just(-np.inf)),
                   max_size=400)


@settings(max_examples=80, deadline=None)
@given(values=_values, n_edges=st.integers(1, 40), discrete=st.booleans(),
       seed=st.integers(0, 1000), center=st.floats(-10, 10))
def test_kernel_matches_numpy_reference(values, n_edges, discrete, seed, center):
    rng = np.random.default_rng(seed)
    x = np.array(values, dtype=np.float64)
    if discrete:  # values sitting exactly on the edges
        edges = np.arange(float(n_edges))
        x = np.concatenate([x, rng.integers(-1, n_edges + 1, size=50).astype(float)])
    else:
        edges = np.unique(rng.normal(0, 1e3, size=n_edges))
    got = bin_column(x, edges, center)
    want = bin_column_reference(x, edges, center)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-9, atol=1e-6)


def test_kernel_many_blocks_matches_reference():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.lognormal(0, 2, 150_000), [np.nan] * 10])  # skewed: crowded cells
    edges = reference_edges(x)
    got, want = bin_column(x, edges, 1.0), bin_column_reference(x, edges, 1.0)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[2], want[2], rtol=1e-9)


def test_reference_edges_are_bounded_quantiles():
    x = np.random.default_rng(1).normal(size=100_000)
    edges = reference_edges(x)
    assert 100 <= len(edges) <= 257
    assert np.all(np.diff(edges) > 0)
    assert abs(np.median(edges)) < 0.05  # quantiles, not a uniform grid
    assert reference_edges(np.full(10, np.nan)).size == 0
    np.testing.assert_array_equal(reference_edges(np.array([3.0, 1.0, 3.0])), [1.0, 3.0])


@pytest.mark.parametrize("kernel", [True, False])
def test_numeric_merge_equals_whole(kernel):
    rng = np.random.default_rng(2)
    ref = numeric_sketch(rng.normal(size=5000))
    x = np.concatenate([rng.normal(1, 2, size=3000), [np.nan] * 7])
    whole = numeric_sketch(x, like=ref, kernel=kernel)
    merged = numeric_sketch(x[:1234], like=ref, kernel=kernel).merge(
        numeric_sketch(x[1234:], like=ref, kernel=kernel))
    np.testing.assert_array_equal(merged.counts, whole.counts)
    np.testing.assert_allclose(merged.sums, whole.sums, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(merged.moments, whole.moments, rtol=1e-9)
    assert (merged.n, merged.n_missing, merged.min, merged.max) == \
        (whole.n, whole.n_missing, whole.min, whole.max)
    assert merged.mean == pytest.approx(np.nanmean(x))
    assert merged.std == pytest.approx(np.nanstd(x))


def test_numeric_sketch_keeps_tails_and_round_trips():
    rng = np.random.default_rng(3)
    ref = numeric_sketch(rng.normal(size=2000))
    cur = numeric_sketch(np.r_[rng.normal(size=1000), [50.0] * 10], like=ref)
    locs, shares = cur.points()
    assert locs.max() == pytest.approx(50.0)  # the spike keeps its size
    assert shares.sum() == pytest.approx(1.0)
    back = NumericSketch.from_arrays(cur.to_arrays("p"), "p")
    np.testing.assert_array_equal(back.counts, cur.counts)
    assert back.mean == cur.mean and back.max == 50.0


def test_numeric_merge_needs_same_edges():
    a = numeric_sketch(np.arange(10.0))
    b = numeric_sketch(np.arange(100.0))
    with pytest.raises(SchemaError, match="different edges"):
        a.merge(b)


def test_categorical_counts_and_missing():
    sk = categorical_sketch(pa.array(["b", "a", None, "a", "c"]))
    assert sk.values == ["a", "b", "c"] and sk.counts.tolist() == [2, 1, 1]
    assert sk.n_missing == 1 and sk.n == 5
    floats = categorical_sketch(np.array([1.0, np.nan, 1.0, 2.0]))
    assert floats.n_missing == 1 and floats.counts.tolist() == [2, 1]


def test_dictionary_arrays_count_like_plain_ones():
    values = ["x", "y", None, "x", "z", "x"]
    plain = categorical_sketch(pa.array(values))
    enc = categorical_sketch(pa.array(values).dictionary_encode())
    assert (plain.values, plain.counts.tolist(), plain.n_missing) == \
        (enc.values, enc.counts.tolist(), enc.n_missing)
    # a current dictionary column is counted on the reference's vocabulary
    cur = categorical_sketch(pa.array(["z", "new", "x"]).dictionary_encode(), like=plain)
    assert cur.counts.tolist() == [1, 0, 1] and cur.extra == {"new": 1}


def test_categorical_merge_equals_whole():
    rng = np.random.default_rng(4)
    ref = categorical_sketch(pa.array(rng.choice(list("abcd"), 1000).tolist()))
    cur_values = rng.choice(list("abcdefg"), 3000).tolist() + [None] * 5
    whole = categorical_sketch(pa.array(cur_values), like=ref)
    merged = categorical_sketch(pa.array(cur_values[:777]), like=ref).merge(
        categorical_sketch(pa.array(cur_values[777:]), like=ref))
    assert merged.counts.tolist() == whole.counts.tolist()
    assert merged.extra == whole.extra and merged.n_missing == whole.n_missing == 5
    back = CategoricalSketch.from_arrays(*whole.to_arrays("q"), "q")
    assert back.values == whole.values and back.extra == whole.extra


def test_vocabulary_is_capped(monkeypatch):
    monkeypatch.setattr(sketch_mod, "MAX_CATEGORIES", 3)
    ref = categorical_sketch(pa.array(list("aaabbbccdde")))
    assert ref.values == ["a", "b", "c"] and ref.other == 3
    cur = categorical_sketch(pa.array(list("vvwwxxyyz")), like=ref)
    assert len(cur.extra) == 3 and cur.other == 3 and cur.n_values == 9
    merged = cur.merge(cur)
    assert len(merged.extra) == 3 and merged.n_values == 18


def test_categorical_type_change_is_a_schema_error():
    ref = categorical_sketch(pa.array(["a", "b"]))
    with pytest.raises(SchemaError, match=r"'city'.*string"):
        categorical_sketch(pa.array([1, 2]), like=ref, name="city")
    ints = categorical_sketch(pa.array([1, 2, 2]))
    cur = categorical_sketch(pa.array([2.0, 3.0]), like=ints)  # numbers compare as numbers
    assert ints.values == [2, 1] and cur.counts.tolist() == [1, 0] and cur.extra == {3: 1}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n_edges=st.integers(1, 300), scale=st.floats(1e-6, 1e6))
def test_kernel_exact_at_and_next_to_the_edges(seed, n_edges, scale):
    rng = np.random.default_rng(seed)
    edges = np.unique(rng.standard_t(2, size=n_edges) * scale)
    near = np.concatenate([edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    x = np.concatenate([near, rng.standard_t(2, size=500) * scale, [np.nan, -np.inf]])
    got, want = bin_column(x, edges, 0.0), bin_column_reference(x, edges, 0.0)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[2], want[2], rtol=1e-9, atol=1e-6 * scale ** 4)


def test_serial_and_parallel_kernels_give_identical_results():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.lognormal(0, 1, 200_000), [np.nan] * 3])
    edges = reference_edges(x)
    threads = bin_column(x, edges, 1.0, parallel=True)
    serial = bin_column(x, edges, 1.0, parallel=False)
    for a, b in zip(threads, serial, strict=True):
        np.testing.assert_array_equal(a, b)
