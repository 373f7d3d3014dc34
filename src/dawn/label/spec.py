"""Labeling functions from declarations: ``[[lf]]`` tables and Python files.

An ``[[lf]]`` table (``dawn.toml``) or dict names one LF and says what it does with
exactly one of ``keywords``, ``regex``, ``python`` (``"file.py:function"``) or a
threshold (``column`` plus ``gt``/``ge``/``lt``/``le``):

>>> lf = lf_from_spec({"name": "prize", "regex": r"\\b(free|prize)\\b", "label": "spam"})
>>> type(lf).__name__, lf.name
('RegexLF', 'prize')

A Python file's labeling functions are its top-level LF objects, in the order they are
defined; its top-level ``classes`` list, if any, gives the class names.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dawn.errors import ConfigError, SourceNotFoundError, close_matches
from dawn.label.base import LabelingFunction

__all__ = ["lf_from_spec", "lfs_from_file"]

_KINDS = ("keywords", "regex", "python", "threshold")
_OPTIONS = {
    "keywords": {"column", "whole_word", "case_sensitive"},
    "regex": {"column", "flags", "ignore_case"},
    "python": set(),
    "threshold": {"column", "gt", "ge", "lt", "le"},
}


def _kind(spec: Mapping[str, Any], where: str) -> str:
    kinds = [k for k in ("keywords", "regex", "python") if k in spec]
    if any(b in spec for b in ("gt", "ge", "lt", "le")):
        kinds.append("threshold")
    if len(kinds) != 1:
        found = kinds or "none of them"
        raise ConfigError(f"{where}: give exactly one of keywords=, regex=, python= or a threshold "
                          f"(column= with gt/ge/lt/le); found {found}.")
    return kinds[0]


def lf_from_spec(spec: Mapping[str, Any], *, base_dir: str | Path = ".",
                 text_column: str = "text") -> LabelingFunction:
    """Build one labeling function from a declaration (see the module docstring)."""
    name = spec.get("name")
    where = f"labeling function {name!r}" if name else f"labeling function {dict(spec)!r}"
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: every [[lf]] needs a name = \"...\".")
    kind = _kind(spec, where)
    allowed = {"name", "label", kind} | _OPTIONS[kind]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown} for a {kind} LF; allowed are "
                          f"{sorted(allowed)}.{close_matches(unknown[0], sorted(allowed))}")
    if kind != "python" and "label" not in spec:
        raise ConfigError(f"{where}: a {kind} LF needs label = <class name or id>.")
    label = spec.get("label")
    if kind == "keywords":
        from dawn.label.keyword import keyword_lf

        kws = spec["keywords"]
        return keyword_lf(name, [kws] if isinstance(kws, str) else list(kws), label,
                          column=spec.get("column", text_column),
                          whole_word=bool(spec.get("whole_word", True)),
                          case_sensitive=bool(spec.get("case_sensitive", False)))
    if kind == "regex":
        import re

        from dawn.label.regex import regex_lf

        flags = 0 if spec.get("ignore_case", True) is False else re.IGNORECASE
        return regex_lf(name, spec["regex"], label, column=spec.get("column", text_column),
                        flags=int(spec.get("flags", flags)))
    if kind == "threshold":
        from dawn.label.threshold import threshold_lf

        if "column" not in spec:
            raise ConfigError(f"{where}: a threshold LF needs column = \"...\".")
        bounds = {b: spec[b] for b in ("gt", "ge", "lt", "le") if b in spec}
        return threshold_lf(name, spec["column"], label, **bounds)
    return _python_lf(spec["python"], name, label, Path(base_dir), where)


def _python_lf(target: str, name: str, label: Any, base_dir: Path, where: str):
    if not isinstance(target, str) or ":" not in target:
        raise ConfigError(f"{where}: python = {target!r} must be \"file.py:function\".")
    file, func_name = target.rsplit(":", 1)
    module = _import_file(base_dir / file)
    if not hasattr(module, func_name):
        names = [n for n in vars(module) if not n.startswith("_")]
        raise ConfigError(f"{where}: {file} has no {func_name!r}.{close_matches(func_name, names)}")
    obj = getattr(module, func_name)
    if isinstance(obj, LabelingFunction):
        return obj
    if not callable(obj):
        raise ConfigError(f"{where}: {file}:{func_name} is not a function.")
    from dawn.label.lf import labeling_function

    if label is None:
        return labeling_function(name=name)(obj)
    # a predicate: vote `label` where it returns true, abstain elsewhere
    return labeling_function(name=name)(lambda x: label if obj(x) else -1)


def _import_file(path: Path):
    path = path.resolve()
    if not path.is_file():
        raise SourceNotFoundError(f"labeling-function file {str(path)!r} does not exist.")
    mod_name = f"dawn_user_lfs_{abs(hash(str(path)))}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{str(path)!r} is not an importable Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[mod_name]
        raise
    return module


def lfs_from_file(path: str | Path) -> tuple[list[LabelingFunction], list[str] | None]:
    """The top-level labeling functions of a Python file, and its ``classes`` list if any."""
    from dawn.label.lf import as_lf

    module = _import_file(Path(path))
    lfs = []
    for value in vars(module).values():
        if isinstance(value, LabelingFunction) or _looks_like_snorkel_lf(value):
            lfs.append(as_lf(value))
    if not lfs:
        raise ConfigError(f"{str(path)!r} defines no labeling functions at top level; decorate "
                          "functions with @labeling_function() or build them with keyword_lf(...).")
    classes = getattr(module, "classes", None)
    if classes is not None and (not isinstance(classes, (list, tuple))
                                or not all(isinstance(c, str) for c in classes)):
        raise ConfigError(f"{str(path)!r}: classes must be a list of strings, got {classes!r}.")
    return lfs, None if classes is None else list(classes)


def _looks_like_snorkel_lf(value: Any) -> bool:
    cls = type(value)
    return cls.__name__ == "LabelingFunction" and cls.__module__.startswith("snorkel")
