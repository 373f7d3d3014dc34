"""The MacroBase sensor example runs on the real demo data and finds M104 on 0.3.1."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.conftest import shared_data_path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "macrobase_sensors.py"


def _load():
    spec = importlib.util.spec_from_file_location("macrobase_sensors", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_and_firmware_explain_high_power_drain(capsys):
    folder = shared_data_path("macrobase")
    res = _load().main(folder)
    assert "10479 readings, 105 with high power drain" in capsys.readouterr().out
    assert res["items"].tolist() == [{"firmware_version": "0.3.1", "model": "M104"}]
    row = res.iloc[0]
    assert row.outliers == 105 and row.support == 1.0 and row["count"] == 1121
    assert row.ci_low > 50 and row.p_value < 1e-50


def test_sample_usage_outliers_are_explained_by_location():
    folder = shared_data_path("macrobase")
    res = _load().sample(folder)
    assert res["items"][0] == {"location": "CAN"}
    assert res.support[0] > 0.9 and res.risk_ratio[0] > 10
