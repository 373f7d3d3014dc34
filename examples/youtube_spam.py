"""Labeling functions on real data: the UCI YouTube Spam Collection.

1,956 comments on five music videos, 49 % spam (Alberto, Lochter & Almeida, ICMLA 2015;
CC BY 4.0). The rules of thumb below are the kind a moderator writes in ten minutes;
``LFAnalysis`` then shows how often each fires, where they disagree and, against the
true labels, how accurate each one is.

Run it from the repository root::

    python examples/youtube_spam.py ../shared/data/youtube-spam
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from dawn.label import (
    LabelModel,
    LFAnalysis,
    apply_lfs,
    keyword_lf,
    labeling_function,
    regex_lf,
)

CLASSES = ["ham", "spam"]


@labeling_function()
def short_comment(x):
    """Ham comments are often short, such as 'good song' or 'lol'."""
    return "ham" if len(x.text.split()) < 5 else -1


@labeling_function()
def mostly_upper(x):
    """Whole comments in capitals are often spam ('PLEASE SUBSCRIBE')."""
    letters = [c for c in x.text if c.isalpha()]
    if len(letters) < 10:
        return -1
    return "spam" if sum(c.isupper() for c in letters) / len(letters) > 0.6 else -1


LFS = [
    keyword_lf("check_out", ["check out", "check it out"], "spam"),
    keyword_lf("my_channel", ["my channel", "my video", "my videos", "my page"], "spam"),
    keyword_lf("subscribe", ["subscribe", "sub"], "spam"),
    keyword_lf("please", ["please", "plz", "pls"], "spam"),
    keyword_lf("song", ["song", "songs"], "ham"),
    keyword_lf("love", ["love", "best", "beautiful", "amazing"], "ham"),
    regex_lf("link", r"https?://|www\.|\.com\b", "spam"),
    regex_lf("money", r"\$\d+|\bearn\b|\bfree\b|\bgift\b|\bwin\b", "spam"),
    regex_lf("views", r"\b\d+\s*(million|billion|mil)\b|\bviews\b", "ham"),
    short_comment,
    mostly_upper,
]


def load(folder: str | Path) -> pd.DataFrame:
    """All five videos' comments, with a ``text`` column and ``label`` (0 ham, 1 spam)."""
    files = sorted(Path(folder).glob("Youtube0*.csv"))
    if not files:
        raise FileNotFoundError(f"no Youtube0*.csv files in {folder}")
    df = pd.concat([pd.read_csv(f).assign(video=f.stem.split("-")[1]) for f in files],
                   ignore_index=True)
    return df.rename(columns={"CONTENT": "text", "CLASS": "label"})


def label_model_accuracy(L, y, method: str = "auto") -> float:
    """Accuracy on every row of a label model's predictions; abstains (no votes, ties) count
    as wrong, as for Snorkel's ``MajorityLabelVoter``."""
    return float((LabelModel(cardinality=2, method=method, seed=0).fit(L).predict(L) == y).mean())


def main(folder: str | Path) -> pd.DataFrame:
    """Apply the LFs to the collection, fit a label model, and return the LF analysis
    against the true labels (with the label model's estimated accuracies beside them)."""
    df = load(folder)
    y = df["label"].to_numpy()
    L = apply_lfs(LFS, df, classes=CLASSES)
    model = LabelModel(cardinality=2, seed=0).fit(L)
    analysis = LFAnalysis(L, LFS, data=df)
    summary = analysis.summary(Y=y, est_weights=model)
    print(f"label model: {model.method_} ({model.method_reason_})")
    for method in ("majority", "auto"):
        print(f"  {method:>8} accuracy on all rows: {label_model_accuracy(L, y, method):.3f}")
    print(f"{len(df)} comments, label coverage {analysis.label_coverage():.1%}")
    print(summary.drop(columns=[c for c in ("Warnings",) if c in summary]).round(3).to_string())
    for w in analysis.warnings(Y=df["label"].to_numpy()):
        print("warning:", getattr(w, "message", w))
    return summary


if __name__ == "__main__":
    pd.set_option("display.width", 160)
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/youtube-spam")
