"""Explain outliers: which attribute combinations make them abnormally likely (MacroBase DIFF).

>>> from dawn.explain import explain, diff
"""

from __future__ import annotations

from dawn._lazy import lazy_exports

# ``explain`` is both a submodule and a function: import the function eagerly so the
# package attribute is the function (importing the submodule later would not rebind it).
from dawn.explain.explain import diff as diff
from dawn.explain.explain import explain as explain

# public name -> module that defines it (imported on first use)
_EXPORTS = {
    "score_itemsets": "dawn.explain.scoring",
    "PercentileClassifier": "dawn.explain.classify",
    "MADClassifier": "dawn.explain.classify",
    "MCDClassifier": "dawn.explain.classify",
    "StreamingExplainer": "dawn.explain.streaming",
}

__getattr__, _dir, _lazy_all = lazy_exports(__name__, _EXPORTS)
__all__ = sorted([*_lazy_all, "diff", "explain"])


def __dir__() -> list[str]:
    return list(__all__)
