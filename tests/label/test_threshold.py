"""threshold_lf: votes where a number is within bounds; NaN and null abstain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dawn.data import as_frame
from dawn.errors import ColumnNotFoundError, LabelError, LabelingFunctionError, SchemaError
from dawn.label.threshold import threshold_lf


@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6), st.just(float("nan"))), max_size=20),
       st.floats(-100, 100), st.floats(0, 100))
def test_vectorised_equals_per_row(values, low, width):
    lf = threshold_lf("band", "x", 1, gt=low, le=low + width + 1)
    votes = lf.apply_frame(as_frame({"x": pd.array(values, dtype="Float64")}))
    assert votes.dtype == np.int8
    assert votes.tolist() == [lf({"x": v}) for v in values]


def test_bounds_and_class_names():
    frame = as_frame({"age": [1, 7, 30, None], "flag": [True, False, True, None]})
    assert threshold_lf("young", "age", "spam", lt=7).apply_frame(
        frame, ["ham", "spam"]).tolist() == [1, -1, -1, -1]
    assert threshold_lf("mid", "age", 0, ge=7, le=30).apply_frame(frame).tolist() == [-1, 0, 0, -1]
    assert threshold_lf("f", "flag", 0, ge=1).apply_frame(frame).tolist() == [0, -1, 0, -1]
    assert threshold_lf("e", "age", 0, gt=0).apply_frame(frame.slice(0, 0)).shape == (0,)
    assert "age < 7" in repr(threshold_lf("young", "age", 1, lt=7))


def test_errors_when_applied():
    lf = threshold_lf("young", "age", 1, lt=7)
    with pytest.raises(SchemaError, match=r"column 'text' has type string.*numeric"):
        threshold_lf("t", "text", 1, gt=0).apply_frame(as_frame({"text": ["a"]}))
    with pytest.raises(ColumnNotFoundError, match=r"labeling function 'young'.*Did you mean"):
        lf.apply_frame(as_frame({"agee": [1]}))
    with pytest.raises(LabelError, match="'young'"):
        threshold_lf("young", "age", "spma", lt=7).apply_frame(as_frame({"age": [1]}), ["spam"])
    with pytest.raises(SchemaError, match="needs a number"):
        lf({"age": "3"})


@pytest.mark.parametrize(("bounds", "match"), [
    ({}, "at least one bound"),
    ({"gt": "5"}, "bound gt='5' must be a number"),
    ({"lt": float("nan")}, "must be a number"),
    ({"ge": True}, "must be a number"),
    ({"gt": 5, "lt": 3}, "exclude every value"),
    ({"gt": 5, "le": 5}, "exclude every value"),
])
def test_bad_bounds(bounds, match):
    with pytest.raises(LabelingFunctionError, match=match):
        threshold_lf("lf", "x", 1, **bounds)


def test_equal_inclusive_bounds_are_allowed():
    assert threshold_lf("eq", "x", 1, ge=5, le=5).apply_frame(
        as_frame({"x": [5.0, 5.1]})).tolist() == [1, -1]
