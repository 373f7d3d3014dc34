"""Which sensor model and firmware explain high power drain? (MacroBase's sensor demo)

Readings from 10,479 sensors: device, model, firmware version, temperature and power
drain. The readings in the top 1% of power drain are the outliers; ``dawn.explain`` finds
the attribute combination that makes them abnormally likely. MacroBase's demo answers
"model M104 on firmware 0.3.1"; so does dawn, as one minimal explanation (model alone and
firmware alone are explained away by their combination).

Run: ``python examples/macrobase_sensors.py [../shared/data/macrobase]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from dawn.explain import explain

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "macrobase"


def load(folder: Path = DEFAULT) -> pd.DataFrame:
    """The sensor readings, with ``high_drain`` marking the top 1% of power drain."""
    df = pd.read_csv(Path(folder) / "sensor10k.csv.gz")
    df["high_drain"] = df.power_drain > df.power_drain.quantile(0.99)
    return df


def main(folder: Path = DEFAULT) -> pd.DataFrame:
    """Explain high power drain by model and firmware; print and return the table."""
    df = load(folder)
    res = explain(df, outlier="high_drain", attributes=["model", "firmware_version"])
    print(f"{len(df)} readings, {int(df.high_drain.sum())} with high power drain")
    with pd.option_context("display.width", 120, "display.max_colwidth", 60):
        print(res.to_string(index=False))
    return res


def sample(folder: Path = DEFAULT) -> pd.DataFrame:
    """MacroBase's small demo: which location/version explains outlying usage (MAD)?"""
    df = pd.read_csv(Path(folder) / "sample.csv")
    return explain(df, metric="usage", attributes=["location", "version"])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
