"""StreamingExplainer: planted segments over a stream, decay, bounded memory, bad inputs;
the streaming counting kernels against their numpy references."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dawn.errors import ColumnNotFoundError, ConfigError, NotFittedError, SchemaError
from dawn.explain import explain
from dawn.explain._stream_kernels import (
    count_pairs,
    count_pairs_reference,
    count_triples,
    count_triples_reference,
)
from dawn.explain.streaming import StreamingExplainer


def _batch(rng, n=4000, segment=("a1", "b2"), rate=0.5, base=0.01, users=0):
    a = rng.choice(["a0", "a1", "a2", "a3"], n)
    b = rng.choice(["b0", "b1", "b2"], n)
    c = rng.choice(["c0", "c1"], n)
    seg = (a == segment[0]) & (b == segment[1]) if segment else np.zeros(n, dtype=bool)
    bad = rng.random(n) < np.where(seg, rate, base)
    df = pd.DataFrame({"a": a, "b": b, "c": c, "bad": bad,
                       "latency": np.where(bad, 900.0, 100.0) + rng.normal(0, 5, n)})
    if users:
        df["user"] = rng.integers(0, users, n).astype(str)
    return df


def _items(result):
    return [r for r in result["items"]]


def test_recovers_a_planted_segment_in_the_batch_format():
    rng = np.random.default_rng(0)
    se = StreamingExplainer(outlier="bad", attributes=["a", "b", "c"])
    batches = [_batch(rng) for _ in range(6)]
    for df in batches:
        assert se.update(df) is se
    res = se.explain()
    assert _items(res) == [{"a": "a1", "b": "b2"}]
    batch = explain(pd.concat(batches), outlier="bad", attributes=["a", "b", "c"])
    assert list(res.columns) == list(batch.columns)
    assert _items(batch) == _items(res)


def test_counts_without_decay_equal_the_exact_counts_since_tracked():
    rng = np.random.default_rng(1)
    batches = [_batch(rng) for _ in range(3)]
    se = StreamingExplainer(outlier="bad", attributes=["a", "b", "c"], decay=1.0,
                            min_support=0.001)
    first: dict[frozenset, int] = {}          # batch in which each combination was tracked
    for i, df in enumerate(batches):
        se.update(df)
        for items in se.counters()["items"]:
            first.setdefault(frozenset(items.items()), i)
    full = pd.concat(batches)
    row = se.explain().iloc[0]
    seg = (full.a == "a1") & (full.b == "b2")
    assert row["items"] == {"a": "a1", "b": "b2"}
    assert row["outliers"] == (seg & full.bad).sum() and row["count"] == seg.sum()
    assert se.n_total_ == len(full) and se.n_outliers_ == full.bad.sum()
    # every tracked combination counts exactly the rows since it was first tracked
    counters = se.counters()
    assert len(counters) > 20 and max(first.values()) > 0
    for items, o, c in counters[["items", "outliers", "count"]].itertuples(index=False):
        part = pd.concat(batches[first[frozenset(items.items())]:])
        mask = np.logical_and.reduce([part[k] == v for k, v in items.items()])
        assert (o, c) == ((mask & part.bad).sum(), mask.sum()), items


def test_a_segment_that_stops_being_anomalous_fades_out():
    rng = np.random.default_rng(2)
    se = StreamingExplainer(outlier="bad", attributes=["a", "b", "c"], decay=0.7)
    for _ in range(5):
        se.update(_batch(rng, segment=("a1", "b2")))
    assert _items(se.explain()) == [{"a": "a1", "b": "b2"}]
    for _ in range(15):
        se.update(_batch(rng, segment=("a3", "b0")))
    assert _items(se.explain()) == [{"a": "a3", "b": "b0"}]


def test_memory_stays_within_capacity():
    rng = np.random.default_rng(3)
    se = StreamingExplainer(outlier="bad", attributes=["user", "a", "b", "c"], capacity=60,
                            min_support=0.05)
    for _ in range(8):
        se.update(_batch(rng, users=2000, base=0.05))
        assert se.n_counters_ <= 60
    assert _items(se.explain()) == [{"a": "a1", "b": "b2"}]


def test_too_many_values_are_lumped_into_other():
    rng = np.random.default_rng(4)
    se = StreamingExplainer(outlier="bad", attributes=["user", "a"], max_values=50)
    se.update(_batch(rng, users=500))
    labels = {next(iter(it.values())) for it in se.counters()["items"] if "user" in it}
    assert "other" in labels and len(labels) <= 50


def test_metric_is_classified_by_the_streaming_classifier():
    rng = np.random.default_rng(5)
    se = StreamingExplainer(metric="latency", attributes=["a", "b", "c"], classifier="mad")
    for _ in range(4):
        se.update(_batch(rng))
    assert se.classifier_.median_ == pytest.approx(100.0, abs=2.0)
    assert _items(se.explain()) == [{"a": "a1", "b": "b2"}]


def test_numeric_attributes_get_fixed_bins():
    rng = np.random.default_rng(6)
    n = 5000
    x = rng.uniform(0, 30, n)
    bad = rng.random(n) < np.where(x >= 20, 0.3, 0.01)
    se = StreamingExplainer(outlier="bad", bins={"x": [10, 20]}, max_order=1)
    se.update(pd.DataFrame({"x": x, "bad": bad}))
    assert _items(se.explain()) == [{"x": "[20, inf)"}]
    auto = StreamingExplainer(outlier="bad", bins=3).update(pd.DataFrame({"x": x, "bad": bad}))
    labels = {it["x"] for it in auto.counters()["items"]}
    assert any(lab.startswith("(-inf, ") for lab in labels)
    few = StreamingExplainer(outlier="bad").update(
        pd.DataFrame({"v": rng.integers(1, 4, n), "bad": bad}))
    assert {it["v"] for it in few.counters()["items"]} <= {"1", "2", "3"}


def test_nulls_are_the_value_missing():
    df = pd.DataFrame({"a": ["x", None, "x", None] * 50, "bad": [False, True] * 100})
    se = StreamingExplainer(outlier="bad", max_order=1).update(df)
    assert _items(se.explain()) == [{"a": "missing"}]


def test_nothing_qualifies_gives_an_empty_frame_with_the_columns():
    rng = np.random.default_rng(7)
    se = StreamingExplainer(outlier="bad", attributes=["a", "b"])
    se.update(_batch(rng, segment=None))
    res = se.explain()
    assert res.empty and "risk_ratio" in res.columns


# -- bad inputs ---------------------------------------------------------------------------
def test_empty_batch_is_a_no_op():
    rng = np.random.default_rng(8)
    se = StreamingExplainer(outlier="bad", attributes=["a", "b"])
    se.update(_batch(rng).iloc[:0])
    assert not hasattr(se, "n_updates_")
    se.update(_batch(rng))
    before = (se.n_updates_, se.n_total_, se.counters())
    se.update(_batch(rng).iloc[:0])
    assert (se.n_updates_, se.n_total_) == before[:2]
    pd.testing.assert_frame_equal(se.counters(), before[2])


def test_unknown_attribute():
    rng = np.random.default_rng(9)
    with pytest.raises(ColumnNotFoundError, match=r"'colour'.*Did you mean 'color'"):
        StreamingExplainer(outlier="bad", attributes=["colour"]).update(
            _batch(rng).assign(color="red"))


def test_attribute_missing_from_a_later_batch():
    rng = np.random.default_rng(9)
    se = StreamingExplainer(outlier="bad", attributes=["a", "b"]).update(_batch(rng))
    with pytest.raises(ColumnNotFoundError, match="'b'"):
        se.update(_batch(rng).drop(columns="b"))


def test_non_boolean_outlier_column():
    rng = np.random.default_rng(10)
    df = _batch(rng).assign(bad="yes")
    with pytest.raises(SchemaError, match="must be boolean"):
        StreamingExplainer(outlier="bad", attributes=["a"]).update(df)


def test_zero_one_outlier_column_is_accepted():
    rng = np.random.default_rng(10)
    df = _batch(rng)
    se = StreamingExplainer(outlier="bad", attributes=["a", "b"])
    se.update(df.assign(bad=df.bad.astype(int)))
    assert se.n_outliers_ == df.bad.sum()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"outlier": "bad", "metric": "latency"}, "exactly one of outlier= .* and metric="),
    ({}, "exactly one of"),
    ({"outlier": "bad", "max_order": 4}, "max_order"),
    ({"outlier": "bad", "decay": 1.5}, "decay"),
    ({"outlier": "bad", "capacity": 0}, "capacity"),
    ({"outlier": "bad", "bins": {"nope": [1, 2]}}, "not an attribute"),
    ({"outlier": "bad", "attributes": ["a", "bad"]}, "also the outlier"),
    ({"metric": "latency", "classifier": "zscore"}, "unknown classifier"),
])
def test_bad_parameters(kwargs, match):
    rng = np.random.default_rng(11)
    with pytest.raises(ConfigError, match=match):
        StreamingExplainer(**kwargs).update(_batch(rng))


def test_explain_before_any_update():
    with pytest.raises(NotFittedError, match=r"update\(batch\)"):
        StreamingExplainer(outlier="bad").explain()


# -- kernels agree with their numpy references --------------------------------------------
@st.composite
def _heavy_rows(draw):
    m = draw(st.integers(2, 5))
    n = draw(st.integers(0, 60))
    h = draw(st.lists(st.integers(1, 4), min_size=m, max_size=m))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    HT = np.stack([rng.integers(-1, hj, n) for hj in h]).astype(np.int32)
    out = rng.random(n) < 0.3
    return HT, out, np.array(h), rng


@settings(max_examples=60, deadline=None)
@given(_heavy_rows())
def test_kernels_agree_with_references(case):
    HT, out, h, rng = case
    m = len(h)
    pa, pb = (np.array(c) for c in zip(*combinations(range(m), 2), strict=True))
    phb = h[pb]
    sizes = h[pa] * phb
    poff = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    size2 = int(sizes.sum())
    got, want = count_pairs(HT, out, pa, pb, phb, poff, size2), \
        count_pairs_reference(HT, out, pa, pb, phb, poff, size2)
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    # a random set of heavy pairs; triples over every attribute triple
    pmap = np.full(size2, -1, dtype=np.int64)
    npairs = np.zeros(len(pa), dtype=np.int64)
    for p in range(len(pa)):
        chosen = np.flatnonzero(rng.random(sizes[p]) < 0.6)
        pmap[poff[p] + chosen] = np.arange(len(chosen))
        npairs[p] = len(chosen)
    pid = {(int(a), int(b)): p for p, (a, b) in enumerate(zip(pa, pb, strict=True))}
    trip = [(pid[a, b], pid[a, c], pid[b, c], c) for a, b, c in combinations(range(m), 3)]
    if not trip:
        return
    tab, tac, tbc, tcol = (np.array(col) for col in zip(*trip, strict=True))
    thc = h[tcol]
    tsz = npairs[tab] * thc
    toff = np.concatenate([[0], np.cumsum(tsz)[:-1]])
    args = (HT, out, pa, pb, phb, poff, pmap, tab, tac, tbc, tcol, thc, toff, int(tsz.sum()))
    got, want = count_triples(*args), count_triples_reference(*args)
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


@pytest.mark.shared_data
def test_macrobase_sensor_stream_finds_the_bad_model_and_firmware():
    from tests.conftest import shared_data_path

    df = pd.read_csv(shared_data_path("macrobase", "sensor10k.csv.gz"))
    se = StreamingExplainer(metric="power_drain", attributes=["model", "firmware_version"],
                            classifier="percentile", decay=1.0)
    for i in range(0, len(df), 1000):
        se.update(df.iloc[i:i + 1000])
    assert _items(se.explain()) == [{"firmware_version": "0.3.1", "model": "M104"}]
