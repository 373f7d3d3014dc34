"""The README's Python examples run as written, and the public surface is what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert len(python_blocks()) >= 2


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in python_blocks():  # later blocks build on earlier ones, as a reader's session
        exec(compile(block, str(README), "exec"), namespace)


@pytest.mark.parametrize("module", ["dawn.data", "dawn.store", "dawn.label", "dawn.errors",
                                    "dawn.runtime", "dawn.app", "dawn.demo", "dawn.monitor",
                                    "dawn.act", "dawn.fuse", "dawn.recommend"])
def test_public_names_exist_and_are_listed(module):
    import importlib

    mod = importlib.import_module(module)
    assert len(set(mod.__all__)) == len(mod.__all__)
    for name in mod.__all__:  # every advertised name imports (lazy ones included)
        getattr(mod, name)
