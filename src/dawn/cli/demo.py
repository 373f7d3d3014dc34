"""``dawn demo``: the one-command tour."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console, print_json, print_lf_summary


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
    run = run_demo(folder, n=rows, seed=seed, progress=not as_json)
    if as_json:
        print_json({"folder": str(folder), **run.to_dict()})
        return
    title = (f"{len(run.lfs)} labeling functions over {run.n_rows} comments "
             f"— label coverage {run.label_coverage:.1%}")
    print_lf_summary(run.summary, run.warnings, title)
    console.print(
        f"\nNext: edit [cyan]{folder}/dawn.toml[/] or [cyan]{folder}/lfs.py[/] and run "
        f"[bold]dawn label --lfs {folder}/dawn.toml[/] to see how coverage and accuracy change.",
        highlight=False,
    )
