"""Data fusion: which sources to trust, what is true, which sources to improve (SLiMFast).

>>> import pandas as pd
>>> claims = pd.DataFrame({"object": ["a", "a", "a", "b", "b"],
...                        "source": ["s1", "s2", "s3", "s1", "s2"],
...                        "value": ["x", "x", "y", "z", "z"]})
>>> Fusion(method="majority").fit(claims).truth_.tolist()
['x', 'z']
"""

from __future__ import annotations

from dawn.fuse.fusion import METHODS, Fusion
from dawn.fuse.synthetic import SyntheticClaims, synthetic_claims

__all__ = ["METHODS", "Fusion", "SyntheticClaims", "synthetic_claims"]
