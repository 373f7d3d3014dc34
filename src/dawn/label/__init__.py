"""Data programming: labeling functions, applying them fast, and analysing them.

>>> from dawn.label import keyword_lf, apply_lfs
"""

from __future__ import annotations

from dawn._lazy import lazy_exports

# public name -> module that defines it (imported on first use)
_EXPORTS = {
    "ABSTAIN": "dawn.label.base",
    "LabelingFunction": "dawn.label.base",
    "LabelMatrix": "dawn.label.matrix",
    "labeling_function": "dawn.label.lf",
    "preprocessor": "dawn.label.lf",
    "Row": "dawn.label.lf",
    "keyword_lf": "dawn.label.keyword",
    "regex_lf": "dawn.label.regex",
    "threshold_lf": "dawn.label.threshold",
    "model_lf": "dawn.label.model_lf",
    "apply_lfs": "dawn.label.apply",
    "LFAnalysis": "dawn.label.analysis",
    "LabelModel": "dawn.label.model",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
