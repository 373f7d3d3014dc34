"""Monitor deployed models: is the model still right, and if not, where?

- :class:`DriftMonitor` — drift of inputs or predictions, column by column, decided by
  effect size (normalised Wasserstein, Jensen–Shannon, missing-value rate) from compact,
  mergeable sketches; segments the drift is concentrated in via :mod:`dawn.explain`;
  history in a project's store. Its result is a :class:`DriftReport`.
- :func:`lf_drift_frame` — a label matrix as a table, so LF coverage and vote rates are
  monitored the same way.
- :class:`PerformanceEstimator` — accuracy / F1 without labels from calibrated
  probabilities; :class:`BiasMonitor` — sequential (CUSUM / Page–Hinkley) detection of a
  biased model against delayed truth.

>>> from dawn.monitor import DriftMonitor, DriftReport, lf_drift_frame
"""

from __future__ import annotations

from dawn._lazy import lazy_exports

# public name -> module that defines it (imported on first use)
_EXPORTS = {
    "DriftMonitor": "dawn.monitor.drift",
    "DriftReport": "dawn.monitor.report",
    "lf_drift_frame": "dawn.monitor.lf",
    "PerformanceEstimator": "dawn.monitor.performance",
    "PerformanceEstimate": "dawn.monitor.performance",
    "BiasMonitor": "dawn.monitor.sequential",
    "record_check": "dawn.monitor.alerts",
    "record_estimate": "dawn.monitor.alerts",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
