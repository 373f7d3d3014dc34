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

__all__ = ["TABLE_KEYS", "AppConfig", "CheckedApp", "check_app", "load_config"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOP_KEYS = {"name", "data", "labels", "lf", "label_model", "model", "monitor", "action", "serve"}

#: The keys each table of ``dawn.toml`` may hold (``[[lf]]`` and ``[[action]]`` are checked
#: per kind by :func:`dawn.label.spec.lf_from_spec` and ``dawn.act.actions_from_config``).
TABLE_KEYS: dict[str, set[str]] = {
    "data": {"path", "query", "text", "gold"},
    "labels": {"classes"},
    "lf": {"name", "label", "keywords", "regex", "python", "column", "whole_word",
           "case_sensitive", "flags", "ignore_case", "gt", "ge", "lt", "le"},
    "label_model": {"method", "seed"},
    "model": {"type", "columns", "text", "seed", "test_fraction", "holdout", "calibrate"},
    "monitor": {"columns", "categorical", "threshold", "alpha", "sample_size", "explain", "lfs"},
    "serve": {"host", "port", "log_raw", "log_max_rows", "log_max_days", "monitor_interval",
              "monitor_min_rows"},
}
_ARRAYS = {"lf", "action"}  # [[...]] arrays of tables


@dataclass(frozen=True)
class AppConfig:
    """A checked ``dawn.toml``: where the data is, the classes and the LF declarations."""

    path: Path
    name: str
    data: dict[str, Any]
    classes: list[str] | None
    lf_specs: list[dict[str, Any]]
    raw: dict[str, Any] = field(repr=False)
    text: str = field(default="", repr=False)  # the file's text, to point at lines

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

    def table(self, key: str) -> dict[str, Any]:
        """The table ``[key]`` (empty when the file has none)."""
        return self.raw.get(key, {})

    def where(self, table: str | None = None, key: str | None = None,
              index: int | None = None) -> str:
        """``"dawn.toml, line 7: [data] path"``: where a table or key is, for messages."""
        return _where(self.path, self.text, table, key, index)

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
        source = self.base_dir / self.data["path"]
        if not source.exists():
            raise SourceNotFoundError(
                f"{self.where('data', 'path')} = {self.data['path']!r}: {str(source)!r} does not "
                "exist; fix the path (it is relative to dawn.toml) or use query = \"...\".")
        return read(source)

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
    """Read and check the app file at ``path`` (a file, or a folder holding ``dawn.toml``).

    Checks what the file alone can tell: TOML syntax, unknown keys in every table (with
    the line and a close-match hint), the name, ``[data]`` and the classes. What needs the
    data or other files (columns, LF labels and patterns, ``python =`` files, actions) is
    checked by :func:`check_app`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "dawn.toml"
    if not path.is_file():
        raise SourceNotFoundError(f"app file {str(path)!r} does not exist; create one (see "
                                  "README, 'The app file') or run `dawn demo` for an example.")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    raw = _substitute(raw, path.name)
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        at = _where(path, text, None, unknown[0])
        raise ConfigError(f"{at}: unknown top-level key(s) {unknown}; known are "
                          f"{sorted(_TOP_KEYS)}.{close_matches(unknown[0], sorted(_TOP_KEYS))}")
    _check_tables(path, text, raw)
    name = raw.get("name", path.parent.resolve().name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{_where(path, text, None, 'name')}: name = {name!r} must be 1–64 "
                          "letters, digits, '_', '.' or '-', starting with a letter or digit "
                          "(it is used in URLs).")
    data = raw.get("data", {})
    if data and ("path" in data) == ("query" in data):
        raise ConfigError(f"{_where(path, text, 'data')}: [data] needs exactly one of "
                          "path = \"...\" or query = \"...\".")
    classes = raw.get("labels", {}).get("classes")
    if classes is not None and (not isinstance(classes, list) or len(classes) < 2
                                or not all(isinstance(c, str) for c in classes)
                                or len(set(classes)) != len(classes)):
        raise ConfigError(f"{_where(path, text, 'labels', 'classes')}: [labels] classes = "
                          f"{classes!r} must list at least two distinct class names.")
    return AppConfig(path=path.resolve(), name=name, data=data, classes=classes,
                     lf_specs=raw.get("lf", []), raw=raw, text=text)


def _check_tables(path: Path, text: str, raw: dict[str, Any]) -> None:
    """Each table is a table (or an array of them) holding only keys dawn knows."""
    for table, allowed in TABLE_KEYS.items():
        if table not in raw:
            continue
        value = raw[table]
        if table in _ARRAYS:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{_where(path, text, None, table)}: {table} must be [[{table}]] "
                                  f"tables (one per item), got {type(value).__name__}.")
            items = list(enumerate(value))
        else:
            if not isinstance(value, dict):
                raise ConfigError(f"{_where(path, text, None, table)}: {table} must be a "
                                  f"[{table}] table, got {type(value).__name__}.")
            items = [(None, value)]
        for index, item in items:
            unknown = sorted(set(item) - allowed)
            if unknown:
                at = _where(path, text, table, unknown[0], index)
                raise ConfigError(
                    f"{at}: unknown key {unknown[0]!r}{_named(item)}; known keys are "
                    f"{sorted(allowed)}.{close_matches(unknown[0], sorted(allowed))}")
    actions = raw.get("action", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise ConfigError(f"{_where(path, text, None, 'action')}: actions are [[action]] tables.")


def _named(item: dict[str, Any]) -> str:
    return f" (in {item['name']!r})" if isinstance(item.get("name"), str) else ""


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]")


def _locate(text: str, table: str | None, key: str | None, index: int | None) -> int | None:
    """The line of ``key`` in ``[table]`` (the ``index``-th ``[[table]]``), or of the table's
    header when the key is not written there; ``None`` when not found."""
    current: tuple[str, int | None] | None = None
    counts: dict[str, int] = {}
    header = None
    key_re = None if key is None else re.compile(
        rf"""^\s*(["']?){re.escape(key)}\1\s*=""")
    for no, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            name = m.group(2).strip("\"' ")
            if m.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                current = (name, counts[name])
            else:
                current = (name, None)
            if (table is not None and current == (table, index)) or \
                    (table is None and name == key and header is None):
                header = no
            continue
        here = current is None if table is None else current == (table, index)
        if here and key_re is not None and key_re.match(line):
            return no
    return header


def _where(path: Path, text: str, table: str | None = None, key: str | None = None,
           index: int | None = None) -> str:
    line = _locate(text, table, key, index) if text else None
    at = f"{Path(path).name}, line {line}" if line else Path(path).name
    if table is None:
        return f"{at}: {key}" if key else at
    what = f"[[{table}]] #{index + 1}" if index is not None else f"[{table}]"
    return f"{at}: {what}" + (f" {key}" if key else "")


@dataclass
class CheckedApp:
    """An app file checked against its data: the rows, the built LFs and the actions."""

    config: AppConfig
    frame: Any  # dawn.data.Frame
    lfs: list
    actions: list


def check_app(config: AppConfig | str | Path = "dawn.toml", *, frame: Any = None) -> CheckedApp:
    """Check everything the app file refers to before any work starts.

    Builds every ``[[lf]]`` (bad regexes, ``python =`` files that are missing, unknown
    classes in ``label``), the ``[[action]]`` tables, reads the data (unless ``frame`` is
    given) and checks that every column the file names is in it. Errors name the file,
    the line and the key, and say the fix.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "rows.csv").write_text("text,label\\nwin a prize,spam\\nhello,ham\\n")
    >>> _ = (d / "dawn.toml").write_text('''
    ... [data]
    ... path = "rows.csv"
    ... gold = "lable"
    ... ''')
    >>> try:
    ...     check_app(d)
    ... except KeyError as exc:
    ...     print(exc)
    dawn.toml, line 4: [data] gold = 'lable': column 'lable' is not in the data; columns are \
['text', 'label']. Did you mean 'label'?
    """
    from dawn.errors import ColumnNotFoundError, DawnError, LabelError, RegexError
    from dawn.label.base import resolve_label
    from dawn.label.spec import lf_from_spec

    if not isinstance(config, AppConfig):
        config = load_config(config)
    lfs = []
    names: dict[str, int] = {}
    for i, spec in enumerate(config.lf_specs):
        label = f" of {spec['name']!r}" if isinstance(spec.get("name"), str) else ""
        try:
            lf = lf_from_spec(spec, base_dir=config.base_dir, text_column=config.text_column)
        except DawnError as exc:
            key = next((k for k in ("regex", "python") if k in spec), None) \
                if isinstance(exc, (RegexError, SourceNotFoundError)) else None
            fix = " Fix python = \"file.py:function\" (the file is relative to dawn.toml)." \
                if isinstance(exc, SourceNotFoundError) else ""
            raise type(exc)(f"{config.where('lf', key, i)}{label}: {exc}{fix}") from None
        if lf.name in names:
            raise ConfigError(f"{config.where('lf', 'name', i)}: two labeling functions are named "
                              f"{lf.name!r} (#{names[lf.name] + 1} and #{i + 1}); give each a "
                              "unique name.")
        names[lf.name] = i
        if "label" in spec:
            try:
                resolve_label(spec["label"], config.classes, lf.name)
            except LabelError as exc:
                raise LabelError(f"{config.where('lf', 'label', i)}: {exc}") from None
        lfs.append(lf)
    actions = _check_actions(config)
    if frame is None:
        if not config.data:
            raise ConfigError(f"{config.where('data')}: the app file has no [data] table; add "
                              "[data] with path = \"rows.csv\" (or query = \"...\").")
        frame = config.read_data()
    columns = list(frame.columns)

    def need(column: Any, where: str) -> None:
        if column not in columns:
            raise ColumnNotFoundError(
                f"{where} = {column!r}: column {column!r} is not in the data; columns are "
                f"{columns}.{close_matches(str(column), columns)}")

    for key in ("text", "gold"):
        if key in config.data:
            need(config.data[key], config.where("data", key))
    for i, (spec, lf) in enumerate(zip(config.lf_specs, lfs, strict=True)):
        column = spec.get("column")
        if column is None and ("keywords" in spec or "regex" in spec):
            column = config.text_column
            where = config.where("data", "text") if "text" in config.data else \
                f"{config.where('lf', None, i)} {lf.name!r} reads the default text column; " \
                "set [data] text or column"
        else:
            where = f"{config.where('lf', 'column', i)} of {lf.name!r}"
        if column is not None:
            need(column, where)
    for table, keys in (("model", ("columns", "text")), ("monitor", ("columns", "categorical"))):
        for key in keys:
            value = config.table(table).get(key)
            for column in [value] if isinstance(value, str) else (value or []):
                need(column, config.where(table, key))
    return CheckedApp(config, frame, lfs, actions)


def _check_actions(config: AppConfig) -> list:
    """The ``[[action]]`` tables built by ``dawn.act``; errors point at the action's line."""
    raw = config.raw.get("action", [])
    if not raw:
        return []
    from dawn.act import actions_from_config

    try:
        return list(actions_from_config(raw, config.base_dir))
    except ConfigError as exc:
        message = str(exc)
        m = re.match(r"^.*?dawn\.toml(?: \[\[action\]\] #(\d+))?", message)
        if m is None:
            raise
        at = config.where("action", None, int(m.group(1)) - 1) if m.group(1) else \
            config.path.name
        raise ConfigError(at + message[m.end():]) from None
