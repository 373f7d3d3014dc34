"""Serve a project's models over HTTP: predict, explain, log, monitor and act.

``create_app(project)`` builds the FastAPI app (``dawn serve`` runs it with uvicorn);
``Service`` is the logic behind its routes, usable without HTTP.

>>> from dawn.serve import create_app, Service
"""

from __future__ import annotations

from dawn._lazy import lazy_exports

_EXPORTS = {
    "create_app": "dawn.serve.app",
    "run": "dawn.serve.app",
    "Service": "dawn.serve.service",
    "ServeSettings": "dawn.serve.service",
    "PredictionLog": "dawn.serve.predlog",
    "recent": "dawn.serve.predlog",
    "explain_rows": "dawn.serve.contrib",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
