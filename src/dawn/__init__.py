"""dawn: machine learning usable end to end for domain experts.

Stages live in subpackages (``dawn.data``, ``dawn.store``, ``dawn.label``, ...); import
what you need from them, e.g. ``from dawn.label import keyword_lf, apply_lfs``.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load"]


def load(name=None, version=None, project="."):
    """Load a registered model: ``dawn.load("comment-spam").predict(df)``.

    See :func:`dawn.app.models.load`.
    """
    from dawn.app.models import load as _load

    return _load(name, version, project)
