"""Plug-and-play recommendations: events in, fresh top-k out, tuned and persisted by itself.

>>> from dawn.recommend import Recommender, evaluate, OnlineMetrics
"""

from __future__ import annotations

from dawn._lazy import lazy_exports

# public name -> module that defines it (imported on first use)
_EXPORTS = {
    "Recommender": "dawn.recommend.recommender",
    "read_events": "dawn.recommend.events",
    "evaluate": "dawn.recommend.metrics",
    "ranking_metrics": "dawn.recommend.metrics",
    "OnlineMetrics": "dawn.recommend.metrics",
    "tune": "dawn.recommend.tuning",
    "time_split": "dawn.recommend.tuning",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
