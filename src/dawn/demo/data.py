"""A realistic, seeded comment stream with spam: the demo's data set.

Comments on a music video, as in the YouTube spam collection: ``ham`` (opinions,
questions, jokes) and ``spam`` (channel promotion, links, money offers). The two
overlap on purpose — fans share links and say "check out the bridge at 2:10",
spammers write short comments with no give-away words — so rules of thumb over it are
imperfect (accuracies of roughly 60–95 %, conflicts, partial coverage), as on real data.

>>> df = generate_comments(200, seed=1)
>>> sorted(df.columns)
['account_age_days', 'author', 'comment_id', 'label', 'n_links', 'text']
>>> set(df["label"]) == {"ham", "spam"}
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CLASSES", "generate_comments"]

CLASSES = ["ham", "spam"]

# (template, weight); {a}..{e} are filled from the slot vocabularies below.
_HAM = [
    ("i love this song so much", 3), ("this song never gets old", 2),
    ("who is still listening in {year}?", 3), ("{artist} is the best, {emo}", 2),
    ("the beat at {time} is insane", 2), ("check out the guitar at {time}, so good", 1),
    ("lyrics here {url} if anyone needs them", 1), ("my little sister dances to this every day", 1),
    ("{emo} {emo}", 1), ("this reminds me of summer {year}", 2),
    ("anyone else here after the concert?", 1), ("best video on youtube", 1),
    ("SO GOOD!!! {artist} FOREVER", 1), ("the dancer in the red dress is amazing", 1),
    ("came back to hear this again", 2), ("love the chorus", 1), ("lol the horse dance", 1),
    ("i can't stop watching this", 1), ("this song is free therapy", 1),
    ("my favorite song of all time", 2), ("who else is watching at {time} am", 1),
    ("everyone subscribe to {artist}, she deserves it", 1),
    ("i play this on my channel every friday {emo}", 1),
]
_SPAM = [
    ("check out my channel for {content}", 3), ("please subscribe to my channel {emo}", 3),
    ("hey guys check out my new video {url}", 2), ("{content} here {url}", 2),
    ("earn ${money} a day from home, visit {url}", 2),
    ("free {prize} for the first 100 people {url}", 2),
    ("win a {prize} now!!! {url}", 1), ("sub to me and i sub back", 2),
    ("i make music too, give me a chance {emo}", 2), ("like this comment if you want a {prize}", 1),
    ("CLICK HERE FOR FREE {prize}!!!", 1),
    ("follow me on instagram @{handle}", 1),
    ("please check my covers, it would mean a lot", 1),
    ("we are a new band from {city}, listen to us", 1),
    ("go to {url} for {content}", 1), ("need views for my channel plz", 1),
    ("love this song! also subscribe to me for {content}", 1),
]
_SLOTS = {
    "year": ["2014", "2015", "2019", "2023", "2026"],
    "artist": ["psy", "katy", "shakira", "eminem", "lmfao", "she"],
    "emo": [":)", "<3", "haha", "omg", "!!", "lol", "xD", "♥"],
    "time": ["1:02", "2:10", "0:45", "3:30", "2"],
    "url": ["http://bit.ly/2xq9", "www.freegift.com", "https://goo.gl/aa1", "lyricsworld.com/psy",
            "http://my-channel.tv"],
    "content": ["minecraft videos", "funny pranks", "makeup tutorials", "beats", "covers"],
    "money": ["200", "500", "1000"],
    "prize": ["iphone", "gift card", "ipad", "robux", "cash"],
    "handle": ["beatz_kid", "lia.sings", "promo4you"],
    "city": ["Lisbon", "Austin", "Lagos", "Manila"],
}


def _render(templates: list[tuple[str, int]], n: int, rng: np.random.Generator) -> np.ndarray:
    texts = np.array([t for t, _ in templates], dtype=object)
    weights = np.array([w for _, w in templates], dtype=float)
    out = texts[rng.choice(len(texts), size=n, p=weights / weights.sum())]
    for slot, values in _SLOTS.items():
        token = "{" + slot + "}"
        for _ in range(2):  # a template may use a slot twice (e.g. "{emo} {emo}")
            has = np.flatnonzero([token in t for t in out])
            if not len(has):
                break
            picks = np.array(values, dtype=object)[rng.integers(0, len(values), len(has))]
            out[has] = [t.replace(token, p, 1) for t, p in zip(out[has], picks, strict=True)]
    return out


def generate_comments(n: int = 5000, *, spam_rate: float = 0.4, seed: int = 0) -> pd.DataFrame:
    """Generate ``n`` labelled comments (columns: comment_id, author, text, n_links,
    account_age_days, label) with a planted, imperfect relation between text and label."""
    if n < 1:
        from dawn.errors import DataError

        raise DataError(f"n={n}: the demo needs at least one row.")
    rng = np.random.default_rng(seed)
    spam = rng.random(n) < spam_rate
    text = np.empty(n, dtype=object)
    text[~spam] = _render(_HAM, int((~spam).sum()), rng)
    text[spam] = _render(_SPAM, int(spam.sum()), rng)
    # noise a rule of thumb cannot see through: shouting, trailing emoji, capitalised starts
    shout = rng.random(n) < np.where(spam, 0.2, 0.07)
    text[shout] = [t.upper() + "!!" for t in text[shout]]
    cap = rng.random(n) < 0.5
    text[cap] = [t[:1].upper() + t[1:] for t in text[cap]]
    tail = rng.random(n) < 0.2
    text[tail] = [t + " " + e for t, e in zip(text[tail], rng.choice(_SLOTS["emo"], tail.sum()),
                                               strict=True)]
    lower = np.char.lower(text.astype(str))
    n_links = (np.char.count(lower, "http") + np.char.count(lower, "www.")
               + np.char.count(lower, ".com")).astype(np.int64)
    # spammers use new accounts more often, but some hijack old ones and fans join daily
    fresh = rng.random(n) < np.where(spam, 0.8, 0.06)
    age = np.where(fresh, rng.gamma(1.2, 30.0, n), rng.gamma(2.0, 400.0, n))
    age = age.round().astype(np.int64)
    authors = np.array(["user" + str(i) for i in rng.integers(1000, 99999, n)], dtype=object)
    return pd.DataFrame({
        "comment_id": np.arange(1, n + 1),
        "author": authors,
        "text": text.astype(str),
        "n_links": n_links,
        "account_age_days": age,
        "label": np.where(spam, "spam", "ham"),
    })
