"""Artefacts: named numpy arrays in ``.npz`` plus JSON metadata, written atomically.

An artefact at ``path`` is two files: ``path.npz`` (the arrays, loaded back with
``allow_pickle=False``) and ``path.json`` (the metadata, plus each array's dtype and shape
and the ``.npz`` file's SHA-256). Each file is written to a temporary file in the same
folder, flushed and fsynced, then renamed over the old one, and the folder is fsynced; so
a reader sees the old artefact or the new one, never half of one, and a crash between the
two renames is caught on load by the checksum. Nothing is ever pickled.

>>> import tempfile, pathlib, numpy as np
>>> where = pathlib.Path(tempfile.mkdtemp()) / "model"
>>> _ = save_artefact(where, {"w": np.arange(3.0)}, {"classes": ["ham", "spam"]})
>>> arrays, meta = load_artefact(where)
>>> arrays["w"], meta["classes"]
(array([0., 1., 2.]), ['ham', 'spam'])
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from dawn.errors import ArtefactNotFoundError, StoreError

__all__ = ["dumps", "jsonable", "load_artefact", "save_artefact"]

FORMAT = "dawn-artefact"
FORMAT_VERSION = 1


def save_artefact(path: str | Path, arrays: Mapping[str, Any], meta: Mapping[str, Any] | None =
                  None) -> Path:
    """Write ``arrays`` and ``meta`` as the artefact ``path`` (``.npz`` + ``.json``).

    Parameters
    ----------
    path
        Where to write, without extension (a trailing ``.npz`` / ``.json`` is ignored).
    arrays
        Array name → array (anything ``numpy.asarray`` turns into a non-object array).
    meta
        JSON-able metadata; numpy scalars and arrays, tuples, sets, paths and dates are
        converted (dict keys become text, as in JSON).

    Returns
    -------
    Path
        ``path`` without extension.

    Raises
    ------
    StoreError
        An object array (it would need pickle), a bad array name, or metadata JSON cannot
        hold. Nothing is written then, and an existing artefact is left as it was.
    """
    base = _base(path)
    checked = _check_arrays(arrays)
    meta_json = jsonable(dict(meta or {}), "meta")
    buf = io.BytesIO()
    np.savez(buf, **checked)
    payload = buf.getvalue()
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "npz": base.name + ".npz",
        "sha256": hashlib.sha256(payload).hexdigest(),
        "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in checked.items()},
        "meta": meta_json,
    }
    base.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(base.with_name(base.name + ".npz"), payload)
    atomic_write(base.with_name(base.name + ".json"), dumps(doc, indent=1).encode())
    return base


def load_artefact(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read the artefact ``path``; return ``(arrays, meta)``.

    Raises
    ------
    ArtefactNotFoundError
        No artefact at ``path``.
    StoreError
        A torn, corrupt or foreign file (named in the message).
    """
    base = _base(path)
    meta_path = base.with_name(base.name + ".json")
    npz_path = base.with_name(base.name + ".npz")
    if not meta_path.is_file() or not npz_path.is_file():
        missing = meta_path if not meta_path.is_file() else npz_path
        raise ArtefactNotFoundError(f"no artefact at {str(base)!r}: {str(missing)!r} does not "
                                    "exist.")
    try:
        doc = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a dawn artefact description")
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"artefact metadata {str(meta_path)!r} is corrupt or not a dawn "
                         f"artefact ({exc}); register or save the model again.") from None
    if int(doc.get("format_version", 0)) > FORMAT_VERSION:
        raise StoreError(f"artefact {str(meta_path)!r} was written by a newer dawn (format "
                         f"{doc['format_version']}); upgrade dawn to load it.")
    payload = npz_path.read_bytes()
    if hashlib.sha256(payload).hexdigest() != doc.get("sha256"):
        raise StoreError(f"artefact {str(npz_path)!r} does not match its metadata "
                         f"{str(meta_path)!r} (a torn or changed write); register or save "
                         "the model again.")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as exc:
        raise StoreError(f"artefact {str(npz_path)!r} holds an array that needs pickle ({exc}); "
                         "dawn never unpickles files.") from None
    except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError, ...
        raise StoreError(f"artefact {str(npz_path)!r} is corrupt ({type(exc).__name__}: {exc}); "
                         "register or save the model again.") from None
    expected = doc.get("arrays", {})
    if set(expected) != set(arrays):
        raise StoreError(f"artefact {str(npz_path)!r} holds arrays {sorted(arrays)}, but its "
                         f"metadata lists {sorted(expected)}; save it again.")
    return arrays, doc.get("meta", {})


# -- helpers -----------------------------------------------------------------------
def _base(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".npz", ".json") else p


def _check_arrays(arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(arrays, Mapping):
        raise StoreError(f"arrays must be a dict of name → numpy array, got "
                         f"{type(arrays).__name__}.")
    out: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or "/" in name or "\\" in name:
            raise StoreError(f"array name {name!r} is not usable; use non-empty text without "
                             "slashes.")
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise StoreError(
                f"array {name!r} has dtype {arr.dtype}, which would need pickle to store; "
                "convert it first: np.asarray(values, dtype=str) for text, .astype(float) "
                "for numbers, or split ragged data into a flat values array plus an offsets "
                "array.")
        out[name] = arr
    return out


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old content or the new, never a mix."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: folders cannot be opened; renames are durable there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def jsonable(obj: Any, where: str = "value") -> Any:
    """``obj`` with numpy values, tuples, sets, paths and dates turned into JSON types.

    >>> jsonable({"n": np.int64(3), "w": np.array([0.5]), 1: (True, None)})
    {'n': 3, 'w': [0.5], '1': [True, None]}
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, np.generic):
        return jsonable(obj.item(), where)
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), where)
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, (set, frozenset)):
        return sorted(jsonable(v, where) for v in obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    raise StoreError(f"{where} is a {type(obj).__name__}, which JSON cannot hold; keep plain "
                     "numbers, text, lists and dicts in metadata and put arrays in `arrays`.")


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """JSON text of ``obj`` after :func:`jsonable` (keys sorted; NaN and inf kept)."""
    return json.dumps(jsonable(obj), sort_keys=True, indent=indent, allow_nan=True)
