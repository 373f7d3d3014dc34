"""DriftMonitor: planted drift is found, unchanged columns stay quiet, at 1k to 1M rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dawn.errors import (
    ColumnNotFoundError,
    ConfigError,
    DataError,
    EmptyDataError,
    NotFittedError,
    SchemaError,
)
from dawn.monitor import DriftMonitor
from dawn.store import Project, load_artefact, save_artefact

DRIFTING = ["shift", "variance", "spikes", "new_category", "null_rate"]


def _frame(n: int, rng: np.random.Generator, drift: bool) -> pd.DataFrame:
    """Unchanged columns of several shapes, plus (when ``drift``) one planted change each."""
    cities = np.array(["paris", "lyon", "nice", "lille", "brest"])
    df = pd.DataFrame({
        "normal": rng.normal(10, 3, n),
        "lognormal": rng.lognormal(0, 1, n),
        "counts": rng.poisson(3, n),
        "city": cities[rng.integers(0, 5, n)],
        "flag": rng.random(n) < 0.3,
        "sparse": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
        "empty": np.full(n, np.nan),
        "shift": rng.normal(0, 2, n) + (0.4 if drift else 0.0),  # 0.2σ
        "variance": 5 + rng.normal(0, 1, n) * (np.sqrt(1.5) if drift else 1.0),  # var × 1.5
        "spikes": rng.normal(0, 1, n),
        "new_category": np.array(["a", "b", "c"])[rng.integers(0, 3, n)],
        "null_rate": rng.normal(size=n),
    })
    if drift:
        spike = rng.random(n) < 0.03
        df.loc[spike, "spikes"] = 8.0
        new = rng.random(n) < 0.2
        df.loc[new, "new_category"] = "zz"
        df.loc[rng.random(n) < 0.1, "null_rate"] = np.nan
    return df


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_planted_drift_found_and_unchanged_quiet(n):
    rng = np.random.default_rng(n)
    ref, cur, same = _frame(n, rng, False), _frame(n, rng, True), _frame(n, rng, False)
    mon = DriftMonitor(explain=False).fit(ref)
    report = mon.check(cur)
    assert report.drifted_columns == DRIFTING
    assert not mon.check(same).drifted
    rows = report.to_pandas().set_index("column")
    assert rows.loc["null_rate", "test"] == "missing_rate"
    assert rows.loc["empty", "kind"] == "missing"
    assert rows.loc["new_category", "details"]["new_categories"]["zz"] == pytest.approx(0.2,
                                                                                          abs=0.05)


@pytest.mark.slow
def test_planted_drift_at_a_million_rows():
    rng = np.random.default_rng(7)
    ref, cur = _frame(1_000_000, rng, False), _frame(1_000_000, rng, True)
    report = DriftMonitor(explain=False).fit(ref).check(cur)
    assert report.drifted_columns == DRIFTING


@pytest.mark.parametrize("n", [1_000, 1_000_000])
def test_effect_size_draws_the_line_between_0_02_and_0_2_sigma(n):
    rng = np.random.default_rng(11)
    ref = {"x": rng.normal(0, 1, n)}
    mon = DriftMonitor(explain=False).fit(ref)
    small = mon.check({"x": rng.normal(0.02, 1, n)}).to_pandas().iloc[0]
    large = mon.check({"x": rng.normal(0.2, 1, n)}).to_pandas().iloc[0]
    assert not small.drifted and small.effect_size < 0.05
    assert large.drifted and 0.15 < large.effect_size < 0.25
    if n == 1_000_000:
        assert small.p_value < 0.01  # significant, but too small to matter


def test_variance_and_spikes_move_the_effect_size():
    rng = np.random.default_rng(5)
    mon = DriftMonitor(explain=False).fit({"x": rng.normal(size=50_000)})
    wide = mon.check({"x": rng.normal(0, 1.5, 50_000)}).to_pandas().iloc[0]
    assert wide.drifted and wide.effect_size == pytest.approx(0.4, abs=0.05)
    x = rng.normal(size=50_000)
    x[:1500] = 10.0
    spiky = mon.check({"x": x}).to_pandas().iloc[0]
    assert spiky.drifted and spiky.effect_size == pytest.approx(0.3, abs=0.05)
    assert spiky.details["mean_current"] > spiky.details["mean_reference"]


def test_vanished_category_is_reported():
    rng = np.random.default_rng(6)
    ref = {"c": rng.choice(["a", "b", "c"], 5000)}
    cur = {"c": rng.choice(["a", "b"], 5000)}
    row = DriftMonitor(explain=False).fit(ref).check(cur).to_pandas().iloc[0]
    assert row.drifted and row.details["vanished_categories"] == ["c"]
    assert row.details["new_categories"] == {}


def test_streaming_window_equals_one_check():
    rng = np.random.default_rng(8)
    ref, cur = _frame(20_000, rng, False), _frame(30_000, rng, True)
    mon = DriftMonitor(explain=False).fit(ref)
    whole = mon.check(cur).to_pandas()
    for part in np.array_split(np.arange(len(cur)), 3):
        assert mon.update(cur.iloc[part]) is mon
    streamed = mon.check().to_pandas()
    pd.testing.assert_frame_equal(whole.drop(columns="details"),
                                  streamed.drop(columns="details"), rtol=1e-9)
    with pytest.raises(EmptyDataError, match="update"):
        mon.check()  # the window was reset


def test_round_trip_through_the_store(tmp_path):
    rng = np.random.default_rng(9)
    ref, cur = _frame(5000, rng, False), _frame(5000, rng, True)
    mon = DriftMonitor(categorical=["counts"], threshold={"shift": 0.15}, seed=3).fit(ref)
    save_artefact(tmp_path / "monitor", *mon.to_arrays())
    back = DriftMonitor.from_arrays(*load_artefact(tmp_path / "monitor"))
    a, b = mon.check(cur), back.check(cur)
    pd.testing.assert_frame_equal(a.to_pandas().drop(columns="details"),
                                  b.to_pandas().drop(columns="details"))
    assert back.kinds_["counts"] == "categorical"
    assert back.thresholds_["shift"] == 0.15
    assert len(back.reference_rows_) == len(mon.reference_rows_)


def test_column_kinds_and_per_column_threshold():
    rng = np.random.default_rng(10)
    n = 5000
    ref = pd.DataFrame({"code": rng.integers(0, 4, n), "x": rng.normal(size=n),
                        "when": pd.date_range("2024-01-01", periods=n, freq="min"),
                        "ok": rng.random(n) < 0.5})
    mon = DriftMonitor(categorical=["code"], threshold={"x": 0.5}, explain=False).fit(ref)
    assert mon.kinds_ == {"code": "categorical", "x": "numeric", "ok": "categorical"}
    assert mon.skipped_ == ["when"]
    cur = ref.assign(x=ref.x + 0.3)
    assert not mon.check(cur).drifted  # 0.3σ is under this column's threshold
    assert DriftMonitor(threshold=0.25, explain=False).fit(ref).check(cur).drifted_columns == \
        ["x"]
    dated = DriftMonitor(columns=["when"], explain=False).fit(ref)
    assert dated.kinds_ == {"when": "numeric"}


def test_segments_name_where_the_drift_is():
    rng = np.random.default_rng(12)
    n = 20_000
    ref = pd.DataFrame({"device": rng.choice(["ios", "android"], n), "x": rng.normal(size=n)})
    cur = ref.copy()
    cur.loc[: n // 2, "device"] = "android"
    cur.loc[cur.device == "android", "x"] += 1.0
    report = DriftMonitor(sample_size=5000).fit(ref).check(cur)
    assert set(report.drifted_columns) == {"device", "x"}
    top = report.segments.iloc[0]["items"]
    assert top.get("device") == "android" or "x" in top
    quiet = DriftMonitor(explain=False).fit(ref).check(cur)
    assert quiet.segments.empty


def test_streamed_window_keeps_a_sample_for_segments():
    rng = np.random.default_rng(16)
    ref = pd.DataFrame({"os": rng.choice(["ios", "android"], 6000)})
    mon = DriftMonitor(sample_size=1000).fit(ref)
    mon.update(ref.iloc[:0])  # an empty batch changes nothing
    for _ in range(3):
        mon.update(pd.DataFrame({"os": rng.choice(["ios", "android", "web"], 2000)}))
    assert len(mon._window["rows"]) == 1000 and mon._window["n"] == 6000
    report = mon.check()
    assert report.drifted_columns == ["os"]
    assert {"os": "web"} in report.segments["items"].tolist()


def test_history_is_recorded_in_a_project(tmp_path):
    rng = np.random.default_rng(13)
    ref, cur = _frame(3000, rng, False), _frame(3000, rng, True)
    mon = DriftMonitor(project=tmp_path, model="churn", explain=False).fit(ref)
    mon.check(cur)
    mon.check(ref)
    with Project.open(tmp_path) as project:
        share = project.history.query("churn", metric="drift_share")
        shift = project.history.query("churn", metric="effect.shift")
    assert share["value"].tolist() == [pytest.approx(5 / 12), 0.0]
    assert shift["value"].iloc[0] > 0.1
    assert share["details"].iloc[0]["drifted_columns"] == DRIFTING


def test_polars_and_arrow_inputs():
    pl = pytest.importorskip("polars")
    rng = np.random.default_rng(14)
    ref = pl.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    cur = pa.table({"x": rng.normal(1, 1, 2000), "c": rng.choice(["a", "b"], 2000)})
    assert DriftMonitor(explain=False).fit(ref).check(cur).drifted_columns == ["x"]


# -- bad inputs ----------------------------------------------------------------------------
@pytest.fixture
def fitted():
    rng = np.random.default_rng(15)
    return DriftMonitor(explain=False).fit(pd.DataFrame({"age": rng.normal(40, 5, 500),
                                                         "city": rng.choice(["a", "b"], 500)}))


def test_missing_column_in_current(fitted):
    with pytest.raises(ColumnNotFoundError, match=r"'age'.*Did you mean 'Age'"):
        fitted.check(pd.DataFrame({"Age": [1.0], "city": ["a"]}))


def test_numeric_column_became_text(fitted):
    with pytest.raises(SchemaError, match=r"'age' was numeric.*string"):
        fitted.check(pd.DataFrame({"age": ["forty"], "city": ["a"]}))


def test_empty_inputs(fitted):
    with pytest.raises(EmptyDataError, match="current table has no rows"):
        fitted.check(pd.DataFrame({"age": pd.Series([], dtype=float), "city": []}))
    with pytest.raises(EmptyDataError, match="reference table has no rows"):
        DriftMonitor().fit(pd.DataFrame({"age": pd.Series([], dtype=float)}))
    with pytest.raises(EmptyDataError, match="no rows were fed"):
        fitted.check()


def test_not_fitted():
    for call in (lambda m: m.check({"a": [1.0]}), lambda m: m.update({"a": [1.0]}),
                 lambda m: m.to_arrays()):
        with pytest.raises(NotFittedError, match=r"call \.fit\(reference\) first"):
            call(DriftMonitor())


@pytest.mark.parametrize("threshold, match", [
    (-0.1, "threshold=-0.1 must be a positive number"),
    ("high", "threshold='high' must be a positive number"),
    ({"age": 0}, r"threshold\['age'\]=0 must be a positive number"),
    ({"agee": 0.2}, "threshold names column 'agee'.*Did you mean 'age'"),
])
def test_bad_threshold(threshold, match):
    with pytest.raises(ConfigError, match=match):
        DriftMonitor(threshold=threshold).fit({"age": [1.0, 2.0, 3.0]})


def test_bad_parameters():
    with pytest.raises(ConfigError, match="alpha=2"):
        DriftMonitor(alpha=2).fit({"a": [1.0]})
    with pytest.raises(ConfigError, match="sample_size=0"):
        DriftMonitor(sample_size=0).fit({"a": [1.0]})
    with pytest.raises(ColumnNotFoundError, match="categorical= names 'b'"):
        DriftMonitor(categorical=["b"]).fit({"a": [1.0]})
    with pytest.raises(ColumnNotFoundError, match="'z'"):
        DriftMonitor(columns=["z"]).fit({"a": [1.0]})


def test_all_null_column_named_explicitly():
    df = pd.DataFrame({"a": [1.0, 2.0], "gone": [np.nan, np.nan]})
    with pytest.raises(DataError, match=r"'gone' is entirely missing.*drop it from columns="):
        DriftMonitor(columns=["a", "gone"]).fit(df)
    assert DriftMonitor().fit(df).kinds_["gone"] == "missing"


# -- speed paths give the same answers ------------------------------------------------------
def _mixed(n: int, rng: np.random.Generator, shift: float) -> pd.DataFrame:
    x = rng.normal(shift, 1, n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "x": x, "ints": rng.integers(0, 50, n), "flag": rng.random(n) < 0.3,
        "city": pd.Series(rng.choice(["a", "b", "c"], n), dtype="str"),
        "note": pd.Series(np.where(rng.random(n) < 0.2, None, "ok"), dtype=object),
        "level": pd.Categorical(rng.choice(["lo", "hi"], n)),
    })


def test_pandas_columns_read_directly_match_arrow_input():
    rng = np.random.default_rng(20)
    ref, cur = _mixed(3000, rng, 0.0), _mixed(3000, rng, 0.5)
    direct = DriftMonitor(explain=False).fit(ref).check(cur).to_pandas()
    arrow = DriftMonitor(explain=False).fit(pa.Table.from_pandas(ref)).check(
        pa.Table.from_pandas(cur)).to_pandas()
    pd.testing.assert_frame_equal(direct.drop(columns="details"),
                                  arrow.drop(columns="details"))
    assert direct.set_index("column").loc["x", "drifted"]


def test_columns_sketched_on_threads_match_one_by_one(monkeypatch):
    from dawn.monitor import drift

    rng = np.random.default_rng(21)
    ref, cur = _frame(20_000, rng, False), _frame(20_000, rng, True)
    monkeypatch.setattr(drift, "_PARALLEL_CELLS", 1)  # threads
    threaded = DriftMonitor(explain=False).fit(ref).check(cur).to_pandas()
    monkeypatch.setattr(drift, "_PARALLEL_CELLS", 10 ** 18)  # one by one
    serial = DriftMonitor(explain=False).fit(ref).check(cur).to_pandas()
    pd.testing.assert_frame_equal(threaded.drop(columns="details"),
                                  serial.drop(columns="details"))
    assert threaded.drifted.sum() == len(DRIFTING)


def test_errors_raised_on_threads_reach_the_caller(monkeypatch):
    from dawn.monitor import drift

    monkeypatch.setattr(drift, "_PARALLEL_CELLS", 1)
    rng = np.random.default_rng(22)
    mon = DriftMonitor(explain=False).fit({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    with pytest.raises(SchemaError, match=r"'b' was numeric"):
        mon.check({"a": rng.normal(size=100), "b": ["x"] * 100})


def test_segments_use_a_bounded_set_of_columns():
    from dawn.monitor.drift import SEGMENT_ATTRIBUTES, _segment_attributes

    rng = np.random.default_rng(23)
    n = 4000
    cols = {f"q{j}": rng.normal(size=n) for j in range(12)}
    ref = pd.DataFrame({**cols, "device": rng.choice(["ios", "web"], n),
                        "moved": rng.normal(size=n)})
    cur = ref.assign(moved=ref.moved + 1.0)
    mon = DriftMonitor(sample_size=2000).fit(ref)
    report = mon.check(cur)
    attrs = _segment_attributes(report.to_pandas().to_dict("records"), mon.kinds_)
    assert len(attrs) == SEGMENT_ATTRIBUTES
    assert attrs[:2] == ["moved", "device"]  # drifted first, then quiet categories
    assert {k for items in report.segments["items"] for k in items} <= set(attrs)
    assert "moved" in report.segments["items"].iloc[0]


def test_select_checks_a_subset_without_touching_the_original():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000),
                        "c": rng.choice(["x", "y"], 3000)})
    monitor = DriftMonitor().fit(ref)
    sub = monitor.select(["c", "a"])
    assert sub.columns_ == ["a", "c"] and monitor.columns_ == ["a", "b", "c"]
    cur = ref[["a", "c"]].assign(a=ref["a"] + 1.0)
    assert sub.check(cur).drifted_columns == ["a"]
    with pytest.raises(ColumnNotFoundError, match="'d' is not monitored"):
        monitor.select(["d"])
