"""Load a registered model and score rows with it: ``dawn.load(name).predict(df)``."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    _reference: tuple[dict, dict] | None = field(default=None, repr=False)

    def reference(self) -> Any:
        """The drift-monitoring reference stored with this version (``dawn run`` fits it on
        what monitoring sees of the training rows): a fitted
        :class:`dawn.monitor.DriftMonitor`.

        Raises
        ------
        ArtefactNotFoundError
            The version was registered without a reference (e.g. by ``dawn train``).
        """
        from dawn.app.monitoring import reference_from_arrays
        from dawn.errors import ArtefactNotFoundError

        if self._reference is None:
            raise ArtefactNotFoundError(
                f"model {self.name!r} v{self.version} has no monitoring reference; register "
                "it with `dawn run` (which stores one) to monitor it.")
        return reference_from_arrays(*self._reference)

    def monitor_features(self, data: Any, proba: Any = None, *, log_raw: bool = False
                         ) -> pd.DataFrame:
        """What monitoring sees of scored rows (see :func:`dawn.app.monitoring.monitor_features`),
        with the text and feature columns this version's reference was fitted on."""
        from dawn.app.monitoring import monitor_features

        spec = (self._reference[1] if self._reference else {}).get("monitor_features", {})
        if proba is None:
            proba = self.predict_proba(data)
        return monitor_features(data, proba, self.classes,
                                text_columns=spec.get("text_columns", ()),
                                feature_columns=spec.get("feature_columns", ()),
                                log_raw=log_raw)

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
    model_arrays = {k: v for k, v in arrays.items()
                    if not k.startswith(("label_model.", "monitor."))}
    reference = None
    if "monitor" in meta:
        reference = ({k: v for k, v in arrays.items() if k.startswith("monitor.")},
                     {"monitor": meta["monitor"],
                      "monitor_features": meta.get("monitor_features", {})})
    return Model(name, mv.version, Classifier.from_arrays(model_arrays, meta), mv.lineage,
                 reference)
