"""Read and check a ``dawn.toml`` app file.

``${NAME}`` anywhere in a string reads the environment variable ``NAME`` (for secrets);
a variable that is not set is an error naming it.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "dawn.toml").write_text('''
... name = "spam"
... [data]
... path = "comments.csv"
... [labels]
... classes = ["ham", "spam"]
... [[lf]]
... name = "free"
... keywords = ["free"]
... label = "spam"
... ''')
>>> cfg = load_config(d / "dawn.toml")
>>> cfg.name, cfg.classes, cfg.text_column, [s["name"] for s in cfg.lf_specs]
('spam', ['ham', 'spam'], 'text', ['free'])
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dawn.errors import ConfigError, SourceNotFoundError, close_matches

__all__ = ["AppConfig", "load_config"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOP_KEYS = {"name", "data", "labels", "lf", "label_model", "model", "monitor", "action", "serve"}


@dataclass(frozen=True)
class AppConfig:
    """A checked ``dawn.toml``: where the data is, the classes and the LF declarations."""

    path: Path
    name: str
    data: dict[str, Any]
    classes: list[str] | None
    lf_specs: list[dict[str, Any]]
    raw: dict[str, Any] = field(repr=False)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the file are resolved against."""
        return self.path.parent

    @property
    def text_column(self) -> str:
        return str(self.data.get("text", "text"))

    @property
    def gold_column(self) -> str | None:
        gold = self.data.get("gold")
        return None if gold is None else str(gold)

    def read_data(self):
        """The ``[data]`` table's rows as a :class:`dawn.data.Frame`."""
        from dawn.data import read

        if "query" in self.data:
            cwd = os.getcwd()
            os.chdir(self.base_dir)  # relative file names in the query resolve next to dawn.toml
            try:
                return read(query=self.data["query"])
            finally:
                os.chdir(cwd)
        return read(self.base_dir / self.data["path"])

    def labeling_functions(self) -> list:
        """The ``[[lf]]`` declarations built into labeling functions."""
        from dawn.label.spec import lf_from_spec

        return [lf_from_spec(s, base_dir=self.base_dir, text_column=self.text_column)
                for s in self.lf_specs]


def _substitute(value: Any, where: str) -> Any:
    if isinstance(value, str):
        def env(m: re.Match) -> str:
            if m.group(1) not in os.environ:
                raise ConfigError(f"{where} uses ${{{m.group(1)}}}, but the environment variable "
                                  f"{m.group(1)} is not set; export it before running dawn.")
            return os.environ[m.group(1)]

        return _ENV.sub(env, value)
    if isinstance(value, dict):
        return {k: _substitute(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def load_config(path: str | Path = "dawn.toml") -> AppConfig:
    """Read and check the app file at ``path`` (a file, or a folder holding ``dawn.toml``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "dawn.toml"
    if not path.is_file():
        raise SourceNotFoundError(f"app file {str(path)!r} does not exist; create one (see "
                                  "README, 'The app file') or run `dawn demo` for an example.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    raw = _substitute(raw, path.name)
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {unknown}; known are "
                          f"{sorted(_TOP_KEYS)}.{close_matches(unknown[0], sorted(_TOP_KEYS))}")
    name = raw.get("name", path.parent.resolve().name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{path}: name = {name!r} must be 1–64 letters, digits, '_', '.' or "
                          "'-', starting with a letter or digit (it is used in URLs).")
    data = raw.get("data", {})
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [data] must be a table.")
    if data and ("path" in data) == ("query" in data):
        raise ConfigError(f"{path}: [data] needs exactly one of path = \"...\" or query = \"...\".")
    classes = raw.get("labels", {}).get("classes")
    if classes is not None and (not isinstance(classes, list) or len(classes) < 2
                                or not all(isinstance(c, str) for c in classes)
                                or len(set(classes)) != len(classes)):
        raise ConfigError(f"{path}: [labels] classes = {classes!r} must list at least two "
                          "distinct class names.")
    lfs = raw.get("lf", [])
    if not isinstance(lfs, list) or not all(isinstance(s, dict) for s in lfs):
        raise ConfigError(f"{path}: labeling functions are [[lf]] tables.")
    return AppConfig(path=path.resolve(), name=name, data=data, classes=classes,
                     lf_specs=lfs, raw=raw)
