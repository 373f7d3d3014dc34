"""Write the demo project and run it end to end: the whole tour of dawn.

Generate comments, write ``dawn.toml``, ``dawn run`` it (LFs → label model → end model →
evaluation → registered version with a monitoring reference), then score a later wave of
traffic that has drifted (a spam campaign), check it against the reference, explain where
it drifted, and deliver the action the drift triggers.

>>> import tempfile
>>> run = run_demo(tempfile.mkdtemp(), n=400, seed=0, traffic=400)
>>> run.labels.n_rows, run.version, run.drift.drifted, run.delivered
(400, 1, True, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dawn.demo.data import generate_comments

__all__ = ["DemoRun", "run_demo", "write_demo_project"]

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

# Actions run when monitoring finds something: here a log line (try a webhook:
# webhook = "http://127.0.0.1:9000/hook", or command = ["python", "notify.py"]).
[[action]]
name = "log-drift"
on = "drift"
log = true

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


@dataclass
class DemoRun:
    """What the tour did: the app run, and the check of the drifted traffic."""

    folder: Path
    app: Any  # dawn.app.run.AppRun
    drift: Any = None  # dawn.monitor.DriftReport of the traffic (None without traffic)
    traffic: int = 0  # rows of drifted traffic scored
    delivered: int = 0  # actions the drift triggered and the worker delivered

    @property
    def train(self) -> Any:
        """The :class:`dawn.app.training.TrainRun`: label model, end model, metrics."""
        return self.app.train

    @property
    def labels(self) -> Any:
        """The :class:`dawn.app.labeling.LabelRun`: the LFs and their analysis."""
        return self.app.train.labels

    @property
    def version(self) -> int:
        return self.app.version


def run_demo(folder: str | Path, *, n: int = 5000, seed: int = 0, progress: bool = False,
             traffic: int = 0) -> DemoRun:
    """Write the demo project into ``folder`` and run it: LFs, their analysis, the label
    model, the end model, evaluation on held-out gold labels, registration with a
    monitoring reference (what ``dawn run`` does, always retraining).

    With ``traffic`` rows, go on: score that many comments from a later, drifted stream
    (a spam campaign: far more spam, with links, from new accounts), check them against the
    reference (stored in the project's history), and deliver the actions it triggers.
    """
    from dawn.app.run import run_project

    folder = write_demo_project(folder, n=n, seed=seed)
    run = DemoRun(folder, run_project(folder / "dawn.toml", force=True, progress=progress))
    if traffic:
        run.drift, run.delivered = _drifted_traffic(folder, run.app.name, traffic, seed)
        run.traffic = traffic
    return run


def _drifted_traffic(folder: Path, name: str, n: int, seed: int) -> tuple[Any, int]:
    from dawn.act import actions_from_config, deliver
    from dawn.app.config import load_config
    from dawn.app.models import load
    from dawn.app.monitoring import check_live
    from dawn.store import Project

    model = load(name, project=folder)
    wave = generate_comments(n, spam_rate=0.8, seed=seed + 1)
    rows = model.monitor_features(wave, model.predict_proba(wave))
    with Project.open(folder, create=False) as project:
        report = check_live(project, name, rows)
        config = load_config(folder / "dawn.toml")
        actions = actions_from_config(config.raw.get("action", []), config.base_dir)
        stats = deliver(project, actions, once=True)
    return report, stats.delivered
