"""``dawn demo``: the one-command tour."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console, print_json, print_lf_summary
from dawn.cli.train import print_train


def demo(
    folder: Annotated[Path, typer.Argument(
        help="Folder to write the demo project into.")] = Path("dawn-demo"),
    rows: Annotated[int, typer.Option("--rows", help="How many comments to generate.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generated data.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Generate a labelled comment stream with spam, write a project, label it and analyse it."""
    from dawn.demo import run_demo

    if not as_json:
        console.print(f"[bold]dawn demo[/] — writing a project with {rows} generated comments "
                      f"to [cyan]{folder}/[/]")
    result = run_demo(folder, n=rows, seed=seed, progress=not as_json)
    run = result.labels
    if as_json:
        print_json({"folder": str(folder), **run.to_dict(), "train": result.to_dict()})
        return
    title = (f"{len(run.lfs)} labeling functions over {run.n_rows} comments "
             f"— label coverage {run.label_coverage:.1%}")
    print_lf_summary(run.summary, run.warnings, title)
    console.print()
    print_train(result)
    console.print(
        f"\nNext: edit [cyan]{folder}/dawn.toml[/] or [cyan]{folder}/lfs.py[/], then in "
        f"[cyan]{folder}/[/] run [bold]dawn label --label-model auto[/] to see how the rules "
        "change, [bold]dawn train[/] to retrain and register a new version, and "
        "[bold]dawn predict comments.csv[/] to score rows with it.",
        highlight=False,
    )
