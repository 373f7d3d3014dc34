"""Write the demo project and run it end to end.

>>> import tempfile
>>> run = run_demo(tempfile.mkdtemp(), n=400, seed=0)
>>> run.labels.n_rows, run.version
(400, 1)
"""

from __future__ import annotations

from pathlib import Path

from dawn.demo.data import generate_comments

__all__ = ["run_demo", "write_demo_project"]

DAWN_TOML = '''\
# The demo's app file: where the data is, the classes, and the rules of thumb (labeling
# functions). Edit it and run `dawn label` in this folder to see what changes.
name = "comment-spam"

[data]
path = "comments.csv"
text = "text"          # the column keyword and regex LFs read
gold = "label"         # true labels, used only to evaluate

[labels]
classes = ["ham", "spam"]

[label_model]
method = "auto"        # or majority, weighted_majority, dawid_skene, pooled, metal, triplet

[model]
type = "auto"          # a seeded search over a linear model and boosted trees
columns = ["account_age_days", "n_links"]   # tabular features beside the text

[[lf]]
name = "promo_channel"
keywords = ["my channel", "subscribe", "sub to me", "check my"]
label = "spam"

[[lf]]
name = "check_out"
keywords = ["check out"]
label = "spam"

[[lf]]
name = "has_link"
regex = "https?://|www\\\\.|\\\\.com\\\\b"
label = "spam"

[[lf]]
name = "money_offer"
regex = "\\\\$\\\\d+|\\\\bfree\\\\b|gift card|\\\\bwin\\\\b"
label = "spam"

[[lf]]
name = "song_talk"
keywords = ["song", "love", "lyrics", "chorus", "beat", "dance"]
label = "ham"

[[lf]]
name = "new_account"
column = "account_age_days"
lt = 30
label = "spam"

[[lf]]
name = "old_account"
column = "account_age_days"
ge = 365
label = "ham"

[[lf]]
name = "short_no_link"
python = "lfs.py:short_without_link"
label = "ham"

[[lf]]
name = "shouting"
python = "lfs.py:shouting"
label = "spam"
'''

LFS_PY = '''\
"""Rules of thumb that need a little Python: each gets one row, `x.text` or `x["text"]`."""


def short_without_link(x):
    """Short comments without a link are usually fans reacting."""
    return len(x.text.split()) <= 5 and "http" not in x.text


def shouting(x):
    """Mostly capital letters: spammers shout (so do excited fans)."""
    letters = [c for c in x.text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7
'''


def write_demo_project(folder: str | Path, *, n: int = 5000, seed: int = 0) -> Path:
    """Write the demo's data, ``dawn.toml`` and ``lfs.py`` into ``folder``; return its path."""
    from dawn.store import Project

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    generate_comments(n, seed=seed).to_csv(folder / "comments.csv", index=False)
    (folder / "dawn.toml").write_text(DAWN_TOML, encoding="utf-8")
    (folder / "lfs.py").write_text(LFS_PY, encoding="utf-8")
    Project.init(folder).close()
    return folder


def run_demo(folder: str | Path, *, n: int = 5000, seed: int = 0, progress: bool = False):
    """Write the demo project into ``folder`` and run it: LFs, their analysis, the label
    model, the end model, evaluation on held-out gold labels, and registration.

    Returns the :class:`dawn.app.training.TrainRun` (its ``labels`` is the LF analysis).
    """
    from dawn.app.training import train_project

    folder = write_demo_project(folder, n=n, seed=seed)
    return train_project(folder / "dawn.toml", progress=progress)
