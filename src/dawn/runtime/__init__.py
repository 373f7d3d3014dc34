"""Where work runs: in this process, on all cores, or on a Dask cluster.

``dawn.runtime`` is the one module that knows about processes and Dask. A stage hands
:func:`map_partitions` a function over a slice of rows and gets back one result per
slice, in order; combining them (stacking label-matrix blocks, adding counts) stays with
the stage.
"""

from dawn.runtime.partitions import BACKENDS, map_partitions, resolve_backend
from dawn.runtime.threads import kernel_threads

__all__ = ["BACKENDS", "kernel_threads", "map_partitions", "resolve_backend"]
