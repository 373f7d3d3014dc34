"""Every example runs, on the real data it is written for."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.conftest import shared_data_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_youtube_spam_example_labels_real_comments(capsys):
    folder = shared_data_path("youtube-spam")
    example = _load("youtube_spam")
    summary = example.main(folder)
    out = capsys.readouterr().out
    assert "1956 comments" in out
    assert list(summary.index) == [lf.name for lf in example.LFS]
    # the classic spam cues are precise on this collection; broad ham cues less so
    acc = summary["Emp. Acc."]
    assert acc["link"] > 0.9 and acc["check_out"] > 0.9 and acc["my_channel"] > 0.9
    assert acc["song"] > 0.6
    assert summary["Coverage"].between(0, 1).all()
    assert (summary["Correct"] + summary["Incorrect"]).gt(0).all()
    assert summary["Learned Acc."].between(0.5, 1).all()


def test_youtube_default_label_model_beats_majority_vote():
    folder = shared_data_path("youtube-spam")
    example = _load("youtube_spam")
    df = example.load(folder)
    y = df["label"].to_numpy()
    L = example.apply_lfs(example.LFS, df, classes=example.CLASSES)
    assert example.label_model_accuracy(L, y, "auto") >= example.label_model_accuracy(
        L, y, "majority")
