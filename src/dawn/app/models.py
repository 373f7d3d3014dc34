"""Load a registered model and score rows with it: ``dawn.load(name).predict(df)``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Model", "load"]


@dataclass
class Model:
    """A registered end model, ready to score raw rows."""

    name: str
    version: int
    classifier: Any  # dawn.train.Classifier
    lineage: dict

    @property
    def classes(self) -> list[str] | None:
        return self.classifier.classes

    def predict_proba(self, data: Any) -> np.ndarray:
        """Calibrated class probabilities ``(n, k)``."""
        return self.classifier.predict_proba(data)

    def predict(self, data: Any) -> np.ndarray:
        """The predicted class of each row (class names when the model has them)."""
        return self.classifier.predict_labels(data)

    def score(self, data: Any) -> pd.DataFrame:
        """One row per input row: ``prediction``, ``confidence`` and one probability column
        per class (``p_<class>``)."""
        proba = self.predict_proba(data)
        names = self.classes or [str(i) for i in range(proba.shape[1])]
        ids = proba.argmax(axis=1)
        out = pd.DataFrame({"prediction": np.asarray(names, dtype=object)[ids],
                            "confidence": proba[np.arange(len(ids)), ids]})
        for j, c in enumerate(names):
            out[f"p_{c}"] = proba[:, j]
        return out

    def __repr__(self) -> str:
        return f"Model({self.name!r}, version={self.version}, {self.classifier!r})"


def load(name: str | None = None, version: int | str | None = None,
         project: str | Path = ".") -> Model:
    """Load model ``name`` (default: the project's app name) at ``version`` (default: current)
    from the project at or above ``project``."""
    from dawn.store import Project
    from dawn.train import Classifier

    with Project.open(project, create=False) as proj:
        if name is None:
            from dawn.app.config import load_config

            name = load_config(proj.config_path).name
        mv = proj.registry.get(name, version)
        arrays, meta = mv.load()
    model_arrays = {k: v for k, v in arrays.items() if not k.startswith("label_model.")}
    return Model(name, mv.version, Classifier.from_arrays(model_arrays, meta), mv.lineage)
