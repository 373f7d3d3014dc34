"""diff(): what distinguishes test rows from control rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dawn.errors import ColumnNotFoundError, ConfigError, EmptyDataError, SchemaError
from dawn.explain import diff
from dawn.explain.scoring import columns_for


def frames(seed=0, n=5_000):
    rng = np.random.default_rng(seed)
    control = pd.DataFrame({"os": rng.choice(["ios", "android", "web"], n),
                            "app": rng.choice(["1.0", "1.1", "2.0"], n)})
    test = pd.DataFrame({"os": rng.choice(["ios", "android", "web"], n),
                         "app": rng.choice(["1.0", "1.1", "2.0"], n)})
    # the test period has many extra android 2.0 rows
    extra = pd.DataFrame({"os": ["android"] * 1500, "app": ["2.0"] * 1500})
    return pd.concat([test, extra], ignore_index=True), control


def test_two_frames():
    test, control = frames()
    res = diff(test, control, min_risk_ratio=1.5)
    assert list(res.columns) == columns_for("risk_ratio")
    assert res["items"].tolist() == [{"app": "2.0", "os": "android"}]
    assert res.outliers[0] == int(((test.os == "android") & (test.app == "2.0")).sum())


def test_prevalence_ratio_metric():
    test, control = frames()
    res = diff(test, control, metric="prevalence_ratio", min_risk_ratio=2)
    assert list(res.columns) == columns_for("prevalence_ratio")
    assert res["items"].tolist() == [{"app": "2.0", "os": "android"}]
    seg_t = ((test.os == "android") & (test.app == "2.0")).mean()
    seg_c = ((control.os == "android") & (control.app == "2.0")).mean()
    assert res.prevalence_ratio[0] == pytest.approx(seg_t / seg_c)


def test_two_time_windows_of_one_frame():
    test, control = frames()
    df = pd.concat([control, test], ignore_index=True)
    df["ts"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(df)), unit="s")
    split = df.ts[len(control)]
    res = diff(test=(split, df.ts.max() + pd.Timedelta(1, "s")),
               control=(df.ts.min(), split), data=df, time="ts", min_risk_ratio=1.5)
    assert res["items"].tolist() == [{"app": "2.0", "os": "android"}]
    res2 = diff(test=(len(control), len(df)), control=(0, len(control)),
                data=df.assign(ts=np.arange(len(df))), time="ts", min_risk_ratio=1.5)
    assert res2["items"].tolist() == res["items"].tolist()


def test_identical_sides_report_nothing():
    _, control = frames()
    assert diff(control, control.sample(frac=1, random_state=0)).empty


def test_bad_inputs():
    test, control = frames()
    with pytest.raises(ConfigError, match=r"metric='mean_shift'.*target="):
        diff(test, control, metric="mean_shift")
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'os'"):
        diff(test, control, attributes=["oss"])
    with pytest.raises(EmptyDataError, match="test side"):
        diff(test.iloc[:0], control)
    with pytest.raises(ConfigError, match=r"both data= .* and time="):
        diff((0, 1), (1, 2), time="ts")
    df = test.assign(ts=np.arange(len(test)))
    with pytest.raises(ConfigError, match=r"\(start, end\)"):
        diff(5, (0, 1), data=df, time="ts")
    with pytest.raises(EmptyDataError, match="control side"):
        diff((0, 10), (10**9, 10**9 + 1), data=df, time="ts")
    with pytest.raises(ConfigError, match="share no column"):
        diff(pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [1]}))
    with pytest.raises(SchemaError, match="incompatible"):
        diff(pd.DataFrame({"a": ["x"]}), pd.DataFrame({"a": [1.5]}))
