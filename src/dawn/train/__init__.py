"""End models trained on probabilistic labels: features, models, calibration, evaluation.

>>> from dawn.train import train, evaluate
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Classifier": "dawn.train.classifier",
    "train": "dawn.train.classifier",
    "Featurizer": "dawn.train.features",
    "TextFeaturizer": "dawn.train.features",
    "TabularFeaturizer": "dawn.train.features",
    "LinearModel": "dawn.train.linear",
    "BoostedTrees": "dawn.train.trees",
    "TemperatureScaling": "dawn.train.calibrate",
    "evaluate": "dawn.train.metrics",
    "find_label_errors": "dawn.train.label_errors",
    "out_of_fold_proba": "dawn.train.label_errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dawn.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
