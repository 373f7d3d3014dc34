"""Reading events, mapping ids, and building the interaction matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from dawn.errors import ColumnNotFoundError, DataError, EmptyDataError, SchemaError
from dawn.recommend.events import IdIndex, interaction_matrix, read_events


def test_reads_pandas_polars_arrow_and_dicts_alike():
    data = {"user": ["a", "b"], "item": [1, 2]}
    for obj in (pd.DataFrame(data), pl.DataFrame(data), pa.table(data), data,
                [{"user": "a", "item": 1}, {"user": "b", "item": 2}]):
        ev = read_events(obj)
        assert ev.users.tolist() == ["a", "b"]
        assert ev.items.tolist() == [1, 2]
        assert ev.values.tolist() == [1.0, 1.0]
        assert ev.timestamps is None


def test_optional_columns_are_picked_up_and_renamable():
    df = pd.DataFrame({"uid": [1, 2], "mid": [5, 6], "rating": [4.0, 2.5],
                       "when": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    ev = read_events(df, user="uid", item="mid", value="rating", timestamp="when")
    assert ev.values.tolist() == [4.0, 2.5]
    assert ev.timestamps[1] - ev.timestamps[0] == pytest.approx(86400.0)
    ev = read_events({"user": [1], "item": [2], "value": [3.0], "timestamp": ["2024-01-01"],
                      "type": ["buy"]})
    assert ev.values.tolist() == [3.0] and ev.types.tolist() == ["buy"]
    assert ev.timestamps[0] == pytest.approx(1704067200.0)


def test_type_weights_multiply_values():
    ev = read_events({"user": [1, 1], "item": [2, 3], "type": ["view", "buy"]},
                     type_weights={"buy": 5.0})
    assert ev.values.tolist() == [1.0, 5.0]


@pytest.mark.parametrize("data, kwargs, error, match", [
    ({"usr": [1], "item": [2]}, {}, ColumnNotFoundError, "'user'.*Did you mean 'usr'"),
    ({"user": [1], "item": [2]}, {"value": "rating"}, ColumnNotFoundError, "'rating'"),
    ({"user": [], "item": []}, {}, EmptyDataError, "no events"),
    ({"user": ["a", None], "item": [1, 2]}, {}, DataError, "missing id at row 1"),
    ({"user": [1], "item": [2], "value": ["high"]}, {}, SchemaError, "numeric"),
    ({"user": [1, 2], "item": [2, 3], "value": [1.0, float("nan")]}, {}, DataError,
     "non-finite value at row 1"),
    ({"user": [1.5], "item": [2]}, {}, SchemaError, "fractional"),
    ({"user": [1], "item": [2], "timestamp": ["not a date"]}, {}, DataError, "timestamps"),
    ({"user": [1], "item": [2]}, {"type_weights": {"buy": 2}}, ColumnNotFoundError, "type"),
    ([1, 2], {}, DataError, "must be dicts"),
])
def test_malformed_events_raise_clear_errors(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        read_events(data, **kwargs)


def test_id_index_grows_and_accepts_either_spelling():
    idx = IdIndex()
    assert idx.add(np.array([10, 20, 10])).tolist() == [0, 1, 0]
    assert idx.add(np.array([30, 10])).tolist() == [2, 0]
    assert idx.lookup(["20", 30, "x", 99]).tolist() == [1, 2, -1, -1]
    assert idx.get("10") == 0 and "30" in idx and 99 not in idx
    with pytest.raises(DataError, match=r"'abc'.*all text or all integers"):
        idx.add(np.array(["abc"], dtype=object))
    text = IdIndex()
    text.add(np.array(["a", "7"], dtype=object))
    assert text.lookup([7, "a"]).tolist() == [1, 0]
    big = IdIndex()
    big.add(np.arange(1000))
    assert big.lookup(np.array([999, 5, 2000])).tolist() == [999, 5, -1]
    assert big.lookup([str(i) for i in (999, 5)]).tolist() == [999, 5]


def test_id_index_round_trips_through_arrays():
    for ids in (np.array([3, 1]), np.array(["b", "a"], dtype=object)):
        idx = IdIndex()
        idx.add(ids)
        back = IdIndex.from_array(idx.to_array())
        assert back.ids == idx.ids and back.kind == idx.kind


def test_duplicates_sum_for_implicit_and_last_wins_for_explicit():
    u, i = np.array([0, 0, 1]), np.array([1, 1, 0])
    v = np.array([2.0, 3.0, 1.0], np.float32)
    assert interaction_matrix(u, i, v, (2, 2)).toarray().tolist() == [[0, 5], [1, 0]]
    t = np.array([10.0, 5.0, 0.0])  # the 2.0 rating is the later one
    R = interaction_matrix(u, i, v, (2, 2), last_wins=True, order=t)
    assert R.toarray().tolist() == [[0, 2], [1, 0]]
    R = interaction_matrix(u, i, v, (2, 2), last_wins=True)  # row order
    assert R.toarray().tolist() == [[0, 3], [1, 0]]
