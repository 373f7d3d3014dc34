"""Frame: the column view every stage reads, and as_frame for every table type."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames

from dawn.data import Frame, as_frame
from dawn.errors import ColumnNotFoundError, DataError, SchemaError


@pytest.fixture
def frame():
    return as_frame(pd.DataFrame({
        "text": ["a", None, "c", "d"],
        "n": pd.array([1, None, 3, 4], dtype="Int64"),
        "x": [0.5, 1.5, np.nan, 3.5],
        "flag": [True, False, True, False],
        "cat": pd.Categorical(["u", "v", "u", "v"]),
    }))


def test_shape_and_columns(frame):
    assert len(frame) == 4 and frame.columns == ["text", "n", "x", "flag", "cat"]
    assert "text" in frame and "nope" not in frame
    assert "4 rows" in repr(frame) and isinstance(frame.table, pa.Table)


def test_numpy_numeric_and_strings_handle_nulls(frame):
    n = frame.numpy("n")
    assert n.dtype == np.float64 and np.isnan(n[1]) and n[3] == 4
    assert frame.numpy("flag").dtype == bool
    np.testing.assert_array_equal(frame.numeric("flag"), [1.0, 0.0, 1.0, 0.0])
    assert frame.strings("text").tolist() == ["a", "", "c", "d"]
    assert frame.strings("n").tolist() == ["1", "", "3", "4"]  # any column reads as text
    assert frame.strings("cat").tolist() == ["u", "v", "u", "v"]


def test_conversions_are_cached(frame):
    assert frame.strings("text") is frame.strings("text")
    assert frame.numpy("x") is frame.numpy("x")


def test_numeric_rejects_text_with_the_fix(frame):
    with pytest.raises(SchemaError, match=r"column 'text' has type .*numeric column is needed "
                                          r"for scoring; convert it"):
        frame.numeric("text", purpose="scoring")


def test_missing_column_suggests_the_close_one(frame):
    with pytest.raises(ColumnNotFoundError, match=r"'txt' \(needed by my LF\).*Did you mean "
                                                  r"'text'"):
        frame.strings("txt", purpose="my LF")
    with pytest.raises(KeyError):  # still a KeyError for existing handlers
        frame.select(["n", "nope"])


def test_slice_take_select(frame):
    s = frame.slice(1, 3)
    assert len(s) == 2 and s.numpy("x")[0] == 1.5
    assert len(frame.slice(3, 100)) == 1 and len(frame.slice(5, 2)) == 0
    t = frame.take(np.array([3, 0]))
    assert t.strings("text").tolist() == ["d", "a"]
    assert frame.select(["x", "text"]).columns == ["x", "text"]
    assert frame.take([-1]).strings("text").tolist() == ["d"]
    assert len(frame.take([])) == 0
    mask = np.array([True, False, False, True])
    assert frame.take(mask).strings("text").tolist() == ["a", "d"]  # a mask, not indices 1/0


@pytest.mark.parametrize(("indices", "error", "message"), [
    ([4], DataError, "row index 4 is out of range for a table of 4 rows"),
    ([-5], DataError, "row index -5 is out of range"),
    (np.array([True, False]), SchemaError, r"one value per row \(4\), got shape \(2,\)"),
    ([0.5], SchemaError, "must be integers, got dtype float64"),
])
def test_take_bad_indices(frame, indices, error, message):
    with pytest.raises(error, match=message):
        frame.take(indices)


def test_pickling_keeps_data_and_drops_cache(frame):
    frame.strings("text")
    payload = pickle.dumps(frame)
    assert len(payload) < 10_000  # the table travels, not the cached conversions
    back = pickle.loads(payload)
    assert back.columns == frame.columns and back.strings("text").tolist() == ["a", "", "c", "d"]
    assert back.numpy("n")[3] == 4


def test_as_frame_accepts_every_table_type():
    want = {"a": [1, 2], "b": ["x", "y"]}
    for obj in (pd.DataFrame(want), pl.DataFrame(want), pa.table(want), want,
                pa.record_batch(pa.table(want).to_batches()[0].columns, names=["a", "b"])):
        f = as_frame(obj)
        assert f.columns == ["a", "b"] and f.numpy("a").tolist() == [1, 2]
    frame = as_frame(want)
    assert as_frame(frame) is frame
    s = as_frame(pd.Series([1, 2], name="score"))
    assert s.columns == ["score"]
    assert as_frame(pd.Series([1, 2])).columns == ["value"]
    assert as_frame(pd.DataFrame({0: [1], 1: [2]})).columns == ["0", "1"]


def test_as_frame_bad_inputs():
    with pytest.raises(SchemaError, match=r"duplicate column names \['a'\]"):
        as_frame(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(SchemaError, match=r"one-dimensional, got shape \(2, 2\)"):
        as_frame({"a": np.zeros((2, 2))})
    with pytest.raises(SchemaError, match=r"could not build a table"):
        as_frame({"a": [1, 2], "b": [1]})
    with pytest.raises(DataError, match=r"cannot read an object of type list"):
        as_frame([1, 2])
    with pytest.raises(SchemaError, match=r"wraps a pyarrow.Table"):
        Frame(pd.DataFrame())


def test_null_only_column():
    f = as_frame(pa.table({"z": pa.nulls(3)}))
    assert np.isnan(f.numpy("z")).all() and np.isnan(f.numeric("z")).all()
    assert f.strings("z").tolist() == ["", "", ""]


@settings(max_examples=40, deadline=None)
@given(data_frames([
    column("i", dtype=np.int64),
    column("f", elements=st.floats(allow_nan=False, allow_infinity=False, width=64)),
    column("s", elements=st.text(max_size=8)),
    column("b", dtype=bool),
]))
def test_as_frame_to_pandas_keeps_values(df):
    back = as_frame(df).to_pandas()
    assert list(back.columns) == ["i", "f", "s", "b"]
    np.testing.assert_array_equal(back["i"].to_numpy(), df["i"].to_numpy())
    np.testing.assert_array_equal(back["f"].to_numpy(), df["f"].to_numpy())
    assert back["s"].tolist() == df["s"].tolist()
    assert back["b"].tolist() == df["b"].tolist()
