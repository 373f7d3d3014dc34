"""End models trained on probabilistic labels: features, models, calibration, evaluation.

>>> from dawn.train import train, evaluate
"""

from __future__ import annotations

from dawn._lazy import lazy_exports

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

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
