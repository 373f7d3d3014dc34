"""Artefacts: .npz + JSON round trips, no pickle, atomic replacement, damage detected."""

from __future__ import annotations

import io
import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from dawn.errors import ArtefactNotFoundError, StoreError
from dawn.store import load_artefact, save_artefact
from dawn.store.artefacts import jsonable

ARRAYS = {
    "f32": np.linspace(0, 1, 5, dtype=np.float32),
    "i8": np.array([-128, 0, 127], dtype=np.int8),
    "u64": np.array([2**64 - 1], dtype=np.uint64),
    "flags": np.array([True, False]),
    "c": np.array([1 + 2j]),
    "words": np.array(["ham", "spam", "ünïcode"]),
    "when": np.array(["2024-01-01T00:00:00"], dtype="datetime64[ns]"),
    "matrix": np.arange(12, dtype=np.float64).reshape(3, 4),
    "fortran": np.asfortranarray(np.arange(6).reshape(2, 3)),
    "scalar": np.float64(3.5),
    "empty": np.zeros((0, 4)),
    "from_list": [1, 2, 3],
}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_round_trip_keeps_dtypes_shapes_and_values(tmp_path):
    meta = {"n": np.int64(3), "w": np.array([0.5, 1.5]), "classes": ("ham", "spam"),
            "tags": {"b", "a"}, "path": tmp_path / "x", "day": date(2024, 5, 1),
            "nested": {1: [np.float32(0.25), None, True]}, "nan": float("nan")}
    base = save_artefact(tmp_path / "model.npz", ARRAYS, meta)
    assert base == tmp_path / "model"
    assert (tmp_path / "model.npz").is_file() and (tmp_path / "model.json").is_file()
    arrays, back = load_artefact(tmp_path / "model")
    assert set(arrays) == set(ARRAYS)
    for name, want in ARRAYS.items():
        want = np.asarray(want)
        assert arrays[name].dtype == want.dtype and arrays[name].shape == want.shape, name
        np.testing.assert_array_equal(arrays[name], want)
    assert back["n"] == 3 and back["w"] == [0.5, 1.5] and back["classes"] == ["ham", "spam"]
    assert back["tags"] == ["a", "b"] and back["path"] == str(tmp_path / "x")
    assert back["day"] == "2024-05-01" and back["nested"] == {"1": [0.25, None, True]}
    assert np.isnan(back["nan"])
    assert leftovers(tmp_path) == []
    doc = json.loads((tmp_path / "model.json").read_text())  # readable by people and tools
    assert doc["arrays"]["f32"] == {"dtype": "<f4", "shape": [5]}


def test_object_arrays_are_refused_with_the_fix(tmp_path):
    with pytest.raises(StoreError, match=r"array 'vocab' has dtype object.*np\.asarray\(values, "
                                         r"dtype=str\)"):
        save_artefact(tmp_path / "m", {"vocab": np.array(["a", 1], dtype=object)}, {})
    with pytest.raises(StoreError, match=r"ragged"):
        save_artefact(tmp_path / "m", {"rows": np.array([[1, 2], [3]], dtype=object)}, {})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("arrays", "meta", "message"), [
    ({"a/b": np.ones(1)}, {}, "array name 'a/b' is not usable"),
    ({"": np.ones(1)}, {}, "array name '' is not usable"),
    ([np.ones(1)], {}, "must be a dict"),
    ({"a": np.ones(1)}, {"f": object()}, r"meta\['f'\] is a object, which JSON cannot hold"),
    ({"a": np.ones(1)}, {"deep": [1, {"x": print}]},
     r"meta\['deep'\]\[1\]\['x'\] is a builtin_function_or_method"),
])
def test_bad_arrays_and_meta(tmp_path, arrays, meta, message):
    with pytest.raises(StoreError, match=message):
        save_artefact(tmp_path / "m", arrays, meta)


def test_failed_save_leaves_the_old_artefact_intact(tmp_path, monkeypatch):
    save_artefact(tmp_path / "m", {"w": np.ones(3)}, {"v": 1})
    with pytest.raises(StoreError):  # refused before anything is written
        save_artefact(tmp_path / "m", {"w": np.array([None])}, {"v": 2})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match=r"disk full"):
        save_artefact(tmp_path / "m", {"w": np.zeros(3)}, {"v": 3})
    monkeypatch.undo()
    arrays, meta = load_artefact(tmp_path / "m")
    np.testing.assert_array_equal(arrays["w"], np.ones(3))
    assert meta == {"v": 1} and leftovers(tmp_path) == []


def test_overwrite_replaces_both_files(tmp_path):
    save_artefact(tmp_path / "m", {"w": np.ones(3)}, {"v": 1})
    save_artefact(tmp_path / "m", {"b": np.zeros(2)}, {"v": 2})
    arrays, meta = load_artefact(tmp_path / "m.json")
    assert list(arrays) == ["b"] and meta == {"v": 2}


def test_missing_artefact(tmp_path):
    with pytest.raises(ArtefactNotFoundError, match=r"no artefact at .*nope.*nope\.json"):
        load_artefact(tmp_path / "nope")
    save_artefact(tmp_path / "m", {"w": np.ones(1)})
    (tmp_path / "m.npz").unlink()
    with pytest.raises(ArtefactNotFoundError, match=r"m\.npz' does not exist"):
        load_artefact(tmp_path / "m")


def test_torn_and_corrupt_artefacts_name_the_file(tmp_path):
    save_artefact(tmp_path / "m", {"w": np.ones(3)}, {"v": 1})
    good_json = (tmp_path / "m.json").read_text()
    # a crash between the two renames: new .npz, old .json
    buf = io.BytesIO()
    np.savez(buf, w=np.zeros(3))
    (tmp_path / "m.npz").write_bytes(buf.getvalue())
    with pytest.raises(StoreError, match=r"m\.npz' does not match its metadata"):
        load_artefact(tmp_path / "m")
    (tmp_path / "m.json").write_text(good_json[: len(good_json) // 2])
    with pytest.raises(StoreError, match=r"m\.json' is corrupt"):
        load_artefact(tmp_path / "m")
    (tmp_path / "m.json").write_text('{"format": "something-else"}')
    with pytest.raises(StoreError, match=r"not a dawn artefact"):
        load_artefact(tmp_path / "m")


def test_truncated_npz_with_matching_checksum_is_reported(tmp_path):
    save_artefact(tmp_path / "m", {"w": np.ones(100)})
    payload = (tmp_path / "m.npz").read_bytes()[:50]
    _rewrite_checksum(tmp_path, payload)
    with pytest.raises(StoreError, match=r"m\.npz' is corrupt"):
        load_artefact(tmp_path / "m")


def test_a_pickled_array_is_never_loaded(tmp_path):
    save_artefact(tmp_path / "m", {"w": np.ones(1)})
    buf = io.BytesIO()
    np.savez(buf, w=np.array([{"evil": 1}], dtype=object))  # what a hostile file would hold
    _rewrite_checksum(tmp_path, buf.getvalue())
    with pytest.raises(StoreError, match=r"needs pickle"):
        load_artefact(tmp_path / "m")


def test_newer_format_is_refused(tmp_path):
    save_artefact(tmp_path / "m", {"w": np.ones(1)})
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["format_version"] = 99
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(StoreError, match=r"newer dawn"):
        load_artefact(tmp_path / "m")


def test_jsonable_keeps_plain_values():
    assert jsonable({"a": [1, 2.5, "x", None, True]}) == {"a": [1, 2.5, "x", None, True]}
    assert type(jsonable(np.bool_(True))) is bool and type(jsonable(np.int32(3))) is int


def _rewrite_checksum(folder: Path, payload: bytes) -> None:
    import hashlib

    (folder / "m.npz").write_bytes(payload)
    doc = json.loads((folder / "m.json").read_text())
    doc["sha256"] = hashlib.sha256(payload).hexdigest()
    (folder / "m.json").write_text(json.dumps(doc))
