"""``dawn run``: the app file end to end — label, train, evaluate, register, reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console, print_frame, print_json


def run(
    app: Annotated[Path, typer.Argument(
        help="The app file, or the folder holding dawn.toml.")] = Path("dawn.toml"),
    check: Annotated[bool, typer.Option(
        "--check", help="Only check the app file, its data, LFs and actions; print ok.")
    ] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Retrain even when the current version is up to date.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run the app file: apply LFs, fit the label and end models, evaluate on held-out gold
    labels, register a new version with its lineage and a monitoring reference."""
    if check:
        from dawn.app.config import check_app

        checked = check_app(app)
        if as_json:
            print_json({"ok": True, "model": checked.config.name, "rows": len(checked.frame),
                        "lfs": [lf.name for lf in checked.lfs],
                        "actions": [a.name for a in checked.actions]})
        else:
            console.print("ok", highlight=False)
        return
    from dawn.app.run import run_project

    result = run_project(app, force=force, progress=not as_json)
    if as_json:
        print_json(result.to_dict())
        return
    if result.up_to_date:
        console.print(f"up to date: {result.name} v{result.version} (same data, app file and "
                      "dawn version; --force retrains)", highlight=False)
        return
    print_run(result)


def print_run(result) -> None:
    """The human-readable report of a ``dawn run``."""
    import pandas as pd

    if result.cached:
        console.print(f"LF votes reused from the cache: {', '.join(result.cached)}",
                      highlight=False)
    if result.applied:
        console.print(f"LFs applied: {', '.join(result.applied)}", highlight=False)
    train = result.train
    lm, chosen = train.label_model, train.classifier.info["chosen"]
    console.print(f"label model: [bold]{lm.method_}[/] — {lm.method_reason_}", highlight=False)
    console.print(f"end model: [bold]{chosen['model']}[/] {chosen['params']}", highlight=False)
    m = result.metrics
    for part, title in (("label_model", "label model"), ("end_model", "end model")):
        if part not in m:
            continue
        table = pd.DataFrame({stat: m[part][stat] for stat in ("precision", "recall", "f1")})
        table.index.name = "class"
        print_frame(table, title=f"{title} on {m['evaluated_rows']} held-out gold rows: "
                    f"accuracy {m[part]['accuracy']:.1%}, macro F1 {m[part]['macro_f1']:.3f}")
    console.print(f"registered [bold]{result.name}[/] version {result.version} (current), "
                  "with a monitoring reference", highlight=False)
