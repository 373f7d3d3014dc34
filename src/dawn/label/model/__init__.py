"""Label models: from noisy LF votes to probabilistic labels.

>>> from dawn.label.model import LabelModel
>>> LabelModel(cardinality=2)
LabelModel(cardinality=2, method='auto')
"""

from __future__ import annotations

from dawn.label.model.label_model import METHODS, LabelModel
from dawn.label.model.synthetic import synthetic_label_matrix

__all__ = ["METHODS", "LabelModel", "synthetic_label_matrix"]
