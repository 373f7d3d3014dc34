"""Data programming: labeling functions, applying them fast, and analysing them.

>>> from dawn.label import keyword_lf, apply_lfs
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it (imported on first use, so `import dawn.label`
# stays cheap and numba kernels compile only when needed)
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

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dawn.label' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
