"""``dawn recommend``: fit a recommender from an events file, evaluate it, recommend.

``dawn recommend fit EVENTS.csv --name N`` registers the fitted recommender in the project;
``dawn recommend evaluate EVENTS.csv`` fits on the earlier events and scores the later
ones; ``dawn recommend for USER --name N`` prints a user's recommendations.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from dawn.cli._output import console, print_frame, print_json

recommend_app = typer.Typer(
    name="recommend",
    help="Recommendations from interaction events: fit, evaluate, recommend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_PROJECT = typer.Option("--project", help="The project folder (default: here or above).")
_JSON = typer.Option("--json", help="Machine-readable output.")
_USER = typer.Option("--user", help="Column with user ids.")
_ITEM = typer.Option("--item", help="Column with item ids.")
_VALUE = typer.Option("--value", help="Column with ratings or weights (default: 'value' "
                      "if present).")
_TIME = typer.Option("--timestamp", help="Column with event times (default: 'timestamp' if "
                     "present).")
_MODEL = typer.Option("--model", help="auto (tuned), als, bpr, mf, popular, knn or ease.")
_FEEDBACK = typer.Option("--feedback", help="implicit (weights add up) or explicit (ratings).")


def _recommender(model: str, feedback: str, user: str, item: str, value: str | None,
                 timestamp: str | None, seed: int) -> Any:
    from dawn.recommend import Recommender

    return Recommender(model, feedback=feedback, user=user, item=item, value=value,
                       timestamp=timestamp, seed=seed)


@recommend_app.command("fit")
def fit(
    events: Annotated[Path, typer.Argument(help="Events file (CSV, Parquet, ...).")],
    name: Annotated[str, typer.Option("--name", help="Register it under this name.")],
    user: Annotated[str, _USER] = "user",
    item: Annotated[str, _ITEM] = "item",
    value: Annotated[str | None, _VALUE] = None,
    timestamp: Annotated[str | None, _TIME] = None,
    model: Annotated[str, _MODEL] = "auto",
    feedback: Annotated[str, _FEEDBACK] = "implicit",
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    project: Annotated[Path, _PROJECT] = Path("."),
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Fit a recommender on EVENTS and register it in the project as NAME."""
    from dawn.data import read
    from dawn.store import Project

    frame = read(events)
    with console.status("fitting the recommender…") if not as_json else nullcontext():
        rec = _recommender(model, feedback, user, item, value, timestamp, seed).fit(frame)
    with Project.open(project) as proj:
        mv = rec.save(proj, name)
    summary = {"name": name, "version": mv.version, "family": rec.family_,
               "params": rec.params_, "users": rec.n_users, "items": rec.n_items,
               "events": rec.n_events}
    if as_json:
        summary["tuning"] = rec.tuning_ if rec.tuning_ is not None else []
        print_json(summary)
        return
    console.print(f"registered recommender [bold]{name}[/] v{mv.version}: {rec.family_} "
                  f"{rec.params_ or ''} on {rec.n_events} events ({rec.n_users} users, "
                  f"{rec.n_items} items)", highlight=False)
    if rec.tuning_ is not None:
        table = rec.tuning_.copy()
        table["params"] = table["params"].map(str)
        print_frame(table.head(10), title="model search (validation on the latest events)")


@recommend_app.command("evaluate")
def evaluate(
    events: Annotated[Path, typer.Argument(help="Events file (CSV, Parquet, ...).")],
    test_fraction: Annotated[float, typer.Option(
        "--test-fraction", help="Share of the time span held out as the test period.")] = 0.2,
    k: Annotated[int, typer.Option("-k", help="Cut-off rank of the metrics.")] = 10,
    user: Annotated[str, _USER] = "user",
    item: Annotated[str, _ITEM] = "item",
    value: Annotated[str | None, _VALUE] = None,
    timestamp: Annotated[str | None, _TIME] = None,
    model: Annotated[str, _MODEL] = "auto",
    feedback: Annotated[str, _FEEDBACK] = "implicit",
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Fit on the earlier events of EVENTS and score recommendations on the later ones."""
    import pandas as pd

    from dawn.data import read
    from dawn.recommend import evaluate as evaluate_rec
    from dawn.recommend.events import read_events
    from dawn.recommend.tuning import time_split

    frame = read(events)
    rec = _recommender(model, feedback, user, item, value, timestamp, seed)
    ev = read_events(frame, **rec.event_columns())
    order = ev.timestamps if ev.timestamps is not None else pd.RangeIndex(len(ev)).to_numpy()
    test = time_split(order, test_fraction)
    with console.status("fitting on the earlier events…") if not as_json else nullcontext():
        rec.fit(frame.take(~test))
    metrics = evaluate_rec(rec, frame.take(test), k=k)
    out = {"family": rec.family_, "params": rec.params_, "train_events": int((~test).sum()),
           "test_events": int(test.sum()), "metrics": metrics}
    if as_json:
        print_json(out)
        return
    console.print(f"{rec.family_} {rec.params_ or ''}: trained on {out['train_events']} "
                  f"events, tested on {out['test_events']} later ones "
                  f"({metrics['users']} returning users)", highlight=False)
    table = pd.DataFrame({"value": {m: v for m, v in metrics.items() if m != "users"}})
    table.index.name = "metric"
    print_frame(table, title=f"metrics at k={k}")


@recommend_app.command("for")
def for_user(
    user: Annotated[str, typer.Argument(help="The user's id.")],
    name: Annotated[str | None, typer.Option(
        "--name", help="The recommender (default: the project's only one).")] = None,
    n: Annotated[int, typer.Option("-n", help="How many items.")] = 10,
    project: Annotated[Path, _PROJECT] = Path("."),
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Recommend items for USER with a registered recommender."""
    from dawn.errors import ArtefactNotFoundError
    from dawn.recommend import Recommender
    from dawn.store import Project

    with Project.open(project, create=False) as proj:
        if name is None:
            names = [m for m in proj.registry.list_models()
                     if _is_recommender(proj.registry, m)]
            if len(names) != 1:
                raise ArtefactNotFoundError(
                    "pass --name: the project has " + (f"recommenders {names}" if names else
                                                       "no recommender (run `dawn recommend "
                                                       "fit EVENTS.csv --name NAME`)") + ".")
            name = names[0]
        rec = Recommender.load(proj, name)
    items = rec.recommend(user, n=n)
    source = rec.explain_source(user)
    if as_json:
        print_json({"user": user, "name": name, "items": items, "source": source})
        return
    console.print(f"{name} for {user} ({source}): " + ", ".join(str(i) for i in items),
                  highlight=False)


def _is_recommender(registry: Any, name: str) -> bool:
    from dawn.errors import ArtefactNotFoundError

    try:
        return registry.get(name).meta.get("format") == "dawn-recommender"
    except ArtefactNotFoundError:
        return False

