"""Encoding attributes: categories, bins, 'missing', 'other'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from dawn.errors import ColumnNotFoundError, ConfigError
from dawn.explain.encode import MISSING, OTHER, encode


def decoded(enc, j):
    return [enc.labels[j][c] for c in enc.codes[:, j]]


def test_categorical_values_and_nulls_become_missing():
    enc = encode(pd.DataFrame({"v": ["a", None, "b", "a"]}), ["v"])
    assert decoded(enc, 0) == ["a", MISSING, "b", "a"]
    assert enc.codes.dtype == np.int8 and enc.codes.flags.c_contiguous


def test_numeric_columns_are_binned_into_labelled_quantile_intervals():
    x = np.arange(100, dtype=float)
    x[5] = np.nan
    enc = encode({"x": x}, ["x"], bins=4)
    labels = decoded(enc, 0)
    assert labels[5] == MISSING
    assert enc.labels[0][:-1] == ["[0, 25.5)", "[25.5, 50)", "[50, 74.5)", "[74.5, 99]"]
    assert labels[0] == "[0, 25.5)" and labels[99] == "[74.5, 99]" and labels[50] == "[50, 74.5)"
    counts = np.bincount(enc.codes[:, 0])
    assert counts[:4].min() >= 24  # quantile bins are balanced


def test_numeric_with_few_values_stays_categorical():
    enc = encode(pd.DataFrame({"v": [1, 2, 2, 3]}), ["v"], bins=5)
    assert decoded(enc, 0) == ["1", "2", "2", "3"]


def test_booleans_and_polars_input():
    enc = encode(pl.DataFrame({"b": [True, False, None]}), ["b"])
    assert decoded(enc, 0) == ["True", "False", MISSING]


def test_high_cardinality_keeps_top_values_and_lumps_the_rest_as_other():
    v = np.array(["a"] * 50 + ["b"] * 30 + [f"u{i}" for i in range(20)], dtype=object)
    enc = encode({"v": v}, ["v"], max_values=2)
    labels = decoded(enc, 0)
    assert enc.labels[0] == ["a", "b", OTHER]
    assert labels[-1] == OTHER and labels.count(OTHER) == 20


def test_rank_rows_keep_values_frequent_among_outliers_first():
    v = np.array(["a"] * 50 + ["b"] * 30 + ["rare"] * 3, dtype=object)
    rank = v == "rare"
    enc = encode({"v": v}, ["v"], max_values=2, rank_rows=rank)
    assert set(enc.labels[0]) == {"a", "rare", OTHER}


def test_many_values_use_int16_codes():
    enc = encode({"v": np.arange(500).astype(str)}, ["v"], max_values=1000)
    assert enc.codes.dtype == np.int16 and enc.cardinality[0] == 500


def test_bad_inputs():
    df = pd.DataFrame({"country": ["a"]})
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'country'"):
        encode(df, ["contry"])
    with pytest.raises(ConfigError, match="bins=1"):
        encode(df, ["country"], bins=1)
    with pytest.raises(ConfigError, match="max_values=0"):
        encode(df, ["country"], max_values=0)


def test_pandas_categorical_keeps_its_categories():
    df = pd.DataFrame({"c": pd.Categorical(["a", None, "b"], categories=["z", "a", "b"])})
    enc = encode(df, ["c"])
    assert decoded(enc, 0) == ["a", MISSING, "b"]
