"""Reading data into the one column view every stage uses (:class:`Frame`).

>>> from dawn.data import read
>>> read({"text": ["hi", "yo"]}).strings("text").tolist()
['hi', 'yo']
"""

from dawn.data.frame import Frame, as_frame
from dawn.data.read import FORMATS, check_schema, fingerprint, read

__all__ = ["FORMATS", "Frame", "as_frame", "check_schema", "fingerprint", "read"]
