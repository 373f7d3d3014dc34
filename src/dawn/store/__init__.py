"""The project store: a folder's database, model registry, history, runs and outbox.

>>> import tempfile, numpy as np
>>> from dawn.store import Project
>>> with Project.init(tempfile.mkdtemp()) as project:
...     v = project.registry.register_model("spam", {"coef": np.ones(2)}, {"k": 2},
...                                         promote=True)
...     project.registry.get("spam").stage
'current'
"""

from dawn.store.artefacts import load_artefact, save_artefact
from dawn.store.history import History, Run, Runs
from dawn.store.outbox import Outbox, OutboxItem
from dawn.store.project import Project, find_root
from dawn.store.registry import ModelVersion, Registry
from dawn.store.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "History",
    "ModelVersion",
    "Outbox",
    "OutboxItem",
    "Project",
    "Registry",
    "Run",
    "Runs",
    "find_root",
    "load_artefact",
    "save_artefact",
]
