"""``Project``: a folder holding ``dawn.toml`` and ``.dawn/`` (database and artefacts).

``.dawn/state.sqlite`` is the project's database (SQLite in WAL mode, migrated when
opened); ``.dawn/models/`` holds model artefacts. Open a project from its folder or any
folder below it, as git does.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> with Project.open(folder) as project:
...     (project.root / ".dawn" / "state.sqlite").is_file(), project.registry.list_models()
(True, [])
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from dawn.errors import SourceNotFoundError, StoreError
from dawn.store.history import History, Runs
from dawn.store.outbox import Outbox
from dawn.store.registry import Registry
from dawn.store.schema import Database

__all__ = ["CONFIG_FILE", "STATE_DIR", "Project"]

STATE_DIR = ".dawn"
CONFIG_FILE = "dawn.toml"
DB_FILE = "state.sqlite"


class Project:
    """A dawn project folder and its state. Build it with :meth:`open` or :meth:`init`.

    Attributes
    ----------
    root : Path
        The project folder (holding ``dawn.toml`` and ``.dawn/``).
    registry : Registry
        Model versions, lineage, current / previous.
    outbox : Outbox
        Actions waiting to be performed.
    history : History
        Monitoring metrics over time.
    runs : Runs
        Command runs and their summaries.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.state_dir = self.root / STATE_DIR
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {str(self.state_dir)!r}: {exc}; check the folder "
                             "is writable.") from None
        self._db = Database(self.state_dir / DB_FILE)
        self.registry = Registry(self._db, self.state_dir)
        self.outbox = Outbox(self._db)
        self.history = History(self._db)
        self.runs = Runs(self._db)

    # -- building ----------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path = ".", *, create: bool = True) -> Project:
        """Open the project at ``path`` or the nearest folder above it that is one.

        A folder is a project when it holds ``.dawn/`` or ``dawn.toml``. When none is
        found, ``create=True`` makes ``path`` one; ``create=False`` raises
        :class:`SourceNotFoundError`.
        """
        start = Path(path).expanduser()
        if start.name == CONFIG_FILE and start.is_file():
            start = start.parent
        found = find_root(start)
        if found is not None:
            if not (found / STATE_DIR).is_dir() and not create:
                raise SourceNotFoundError(
                    f"{str(found)!r} has a {CONFIG_FILE} but no {STATE_DIR}/ state yet; open "
                    "it with create=True (or run `dawn init`) to create it.")
            return cls(found)
        if not create:
            raise SourceNotFoundError(
                f"no dawn project at {str(start)!r} or any folder above it (none holds "
                f"{STATE_DIR}/ or {CONFIG_FILE}); create one with Project.init(path) or "
                "`dawn init`.")
        return cls(start)

    @classmethod
    def init(cls, path: str | Path = ".") -> Project:
        """Make ``path`` itself a project (creating folders as needed) and open it.

        Opening an existing project this way is harmless: it is opened as it is.
        """
        path = Path(path).expanduser()
        if path.exists() and not path.is_dir():
            raise StoreError(f"{str(path)!r} is a file; a project is a folder.")
        return cls(path)

    # -- state -------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        """``dawn.toml`` in the project folder (it may not exist)."""
        return self.root / CONFIG_FILE

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return self._db.path

    @property
    def schema_version(self) -> int:
        """The database's schema version."""
        return self._db.schema_version

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several changes (register + history + outbox, ...) into one transaction.

        Everything inside commits together when the block ends, or nothing does when it
        raises. Artefact files written inside stay on disk but are never referenced.
        """
        with self._db.transaction():
            yield

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"


def find_root(start: str | Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.dawn/`` or ``dawn.toml``."""
    here = Path(os.path.abspath(Path(start).expanduser()))
    for folder in (here, *here.parents):
        if (folder / STATE_DIR).is_dir() or (folder / CONFIG_FILE).is_file():
            return folder
    return None
