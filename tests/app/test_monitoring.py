"""What monitoring sees of scored rows: the same columns at training time and in the server."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from dawn.app.monitoring import monitor_features
from dawn.errors import ColumnNotFoundError, SchemaError

ROWS = {"text": ["win a FREE prize now", "héllo  wörld", None, ""],
        "age": [3, 40, 7, 12], "country": ["fr", "de", "fr", None]}
PROBA = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5], [0.3, 0.7]])


def test_text_becomes_length_and_word_count_not_raw_text():
    out = monitor_features(pd.DataFrame(ROWS), PROBA, ["ham", "spam"], text_columns=["text"],
                           feature_columns=["age", "country"])
    assert list(out.columns) == ["age", "country", "text.length", "text.words", "prediction",
                                 "confidence"]
    assert out["text.length"].tolist() == [20, 12, 0, 0]  # characters, not bytes
    assert out["text.words"].tolist() == [5, 2, 0, 0]  # runs of whitespace split once
    assert "text" not in out  # raw text is not kept by default


def test_tabular_columns_are_kept_as_they_are():
    out = monitor_features(pd.DataFrame(ROWS), PROBA, ["ham", "spam"], feature_columns=["age",
                                                                                      "country"])
    assert out["age"].tolist() == [3, 40, 7, 12]
    assert out["country"].iloc[:3].tolist() == ["fr", "de", "fr"] and pd.isna(out["country"][3])


def test_prediction_is_the_class_name_and_confidence_the_top_probability():
    out = monitor_features(pd.DataFrame(ROWS), PROBA, ["ham", "spam"])
    assert out["prediction"].tolist() == ["spam", "ham", "ham", "spam"]
    assert out["confidence"].tolist() == [0.9, 0.8, 0.5, 0.7]
    unnamed = monitor_features(pd.DataFrame(ROWS), PROBA, None)
    assert unnamed["prediction"].tolist() == ["1", "0", "0", "1"]


def test_log_raw_keeps_the_text_too():
    out = monitor_features(pd.DataFrame(ROWS), PROBA, ["ham", "spam"], text_columns=["text"],
                           log_raw=True)
    assert out["text"].tolist() == ["win a FREE prize now", "héllo  wörld", "", ""]
    assert out["text.words"].tolist() == [5, 2, 0, 0]


@pytest.mark.parametrize("convert", [pd.DataFrame, pl.DataFrame, pa.table, dict])
def test_any_table_type_gives_the_same_columns(convert):
    expected = monitor_features(pd.DataFrame(ROWS), PROBA, ["ham", "spam"],
                                text_columns=["text"], feature_columns=["age"])
    out = monitor_features(convert(ROWS), PROBA, ["ham", "spam"], text_columns=["text"],
                           feature_columns=["age"])
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)


def test_a_text_column_named_as_a_feature_is_only_summarised():
    out = monitor_features(pd.DataFrame(ROWS), PROBA, ["ham", "spam"], text_columns=["text"],
                           feature_columns=["text", "age"])
    assert "text" not in out and "text.length" in out and "age" in out


def test_non_string_text_is_cast_and_no_rows_is_fine():
    out = monitor_features({"code": [12345, 7]}, PROBA[:2], ["a", "b"], text_columns=["code"])
    assert out["code.length"].tolist() == [5, 1]
    empty = monitor_features({"text": pa.array([], pa.string())}, np.zeros((0, 2)), ["a", "b"],
                             text_columns=["text"])
    assert len(empty) == 0 and list(empty.columns) == ["text.length", "text.words", "prediction",
                                                       "confidence"]


def test_bad_inputs_say_what_to_pass():
    df = pd.DataFrame(ROWS)
    with pytest.raises(ColumnNotFoundError, match=r"'txt'.*monitoring.*Did you mean 'text'"):
        monitor_features(df, PROBA, ["ham", "spam"], text_columns=["txt"])
    with pytest.raises(SchemaError, match=r"shape \(rows, classes\) = \(4, k\).*\(3, 2\)"):
        monitor_features(df, PROBA[:3], ["ham", "spam"])
    with pytest.raises(SchemaError, match=r"3 class names.*2 probability columns"):
        monitor_features(df, PROBA, ["a", "b", "c"])
