"""dawn: machine learning usable end to end for domain experts.

Stages live in subpackages (``dawn.data``, ``dawn.store``, ``dawn.label``, ...); import
what you need from them, e.g. ``from dawn.label import keyword_lf, apply_lfs``.
"""

import os as _os

__version__ = "0.1.0"

# dawn's numba kernels (and scikit-learn's) run OpenMP thread teams many times per fit; with
# the default wait policy idle team threads spin, and on a busy or shared machine each
# parallel region then cost ~8 ms instead of ~0.01 ms. An explicit setting is respected.
_os.environ.setdefault("OMP_WAIT_POLICY", "passive")

__all__ = ["__version__", "load"]


def load(name=None, version=None, project="."):
    """Load a registered model: ``dawn.load("comment-spam").predict(df)``.

    See :func:`dawn.app.models.load`.
    """
    from dawn.app.models import load as _load

    return _load(name, version, project)
