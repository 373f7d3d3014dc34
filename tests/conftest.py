"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data_path(*parts: str) -> Path:
    """Path under ``../shared/data``; skips when absent, fails in CI (where it must exist)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing in CI, where ../shared/data must be present.")
        pytest.skip(f"{path} is absent (../shared/data is not part of the project).")
    return path


@pytest.fixture
def shared_data():
    """The ``shared_data_path`` helper as a fixture."""
    return shared_data_path


def dawn_in_process(args, monkeypatch, capsys) -> tuple[int, str, str]:
    """Run ``dawn ARGS...`` in this process as the entry point does: (code, out, err)."""
    import sys

    from dawn.cli import app
    from dawn.cli._output import run_cli

    monkeypatch.setattr(sys, "argv", ["dawn", *args])
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        run_cli(app)
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err
