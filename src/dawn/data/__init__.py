"""Reading data into the one column view every stage uses (:class:`Frame`)."""

from dawn.data.frame import Frame, as_frame

__all__ = ["Frame", "as_frame"]
