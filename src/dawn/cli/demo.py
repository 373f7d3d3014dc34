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
    traffic: Annotated[int, typer.Option(
        "--traffic", help="Rows of later, drifted traffic to score and monitor (0: none).")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generated data.")] = 0,
    serve: Annotated[bool, typer.Option(
        "--serve", help="Then keep serving the model and the dashboard until Ctrl-C.")] = False,
    port: Annotated[int, typer.Option("--port", help="Port for --serve.")] = 8000,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The tour: generate comments with spam, write a dawn.toml, run it (label, label model,
    end model, evaluate, register), then score drifted traffic, monitor it, explain the
    drift and act on it."""
    from dawn.demo import run_demo

    if not as_json:
        console.print(f"[bold]dawn demo[/] — writing a project with {rows} generated comments "
                      f"to [cyan]{folder}/[/]")
    result = run_demo(folder, n=rows, seed=seed, progress=not as_json, traffic=traffic)
    if as_json:
        payload = {"folder": str(folder), **result.labels.to_dict(),
                   "train": result.train.to_dict(), "run": result.app.to_dict()}
        if result.drift is not None:
            payload["drift"] = {**result.drift.summary(), "traffic_rows": result.traffic,
                                "actions_delivered": result.delivered}
        print_json(payload)
    else:
        _print_tour(folder, result)
    if serve:
        _serve(folder, port)


def _print_tour(folder: Path, result) -> None:
    from dawn.cli.monitor import print_report
    from dawn.cli.run import print_run

    run = result.labels
    title = (f"{len(run.lfs)} labeling functions over {run.n_rows} comments "
             f"— label coverage {run.label_coverage:.1%}")
    print_lf_summary(run.summary, run.warnings, title)
    console.print()
    print_run(result.app)
    if result.drift is not None:
        console.print(f"\n[bold]A week later[/]: {result.traffic} new comments arrive — a spam "
                      "campaign. What monitoring sees of them against the reference:",
                      highlight=False)
        print_report(result.drift, result.app.lineage.get("data", {}).get("rows", 0),
                     result.traffic, None)
        console.print(f"actions triggered and delivered: {result.delivered} (see [[action]] in "
                      "dawn.toml; history and deliveries are in the dashboard)", highlight=False,
                      markup=False)
    console.print(
        f"\nNext: edit [cyan]{folder}/dawn.toml[/] or [cyan]{folder}/lfs.py[/], then in "
        f"[cyan]{folder}/[/] run [bold]dawn label --label-model auto[/] to see how the rules "
        "change, [bold]dawn run[/] to retrain and register a new version, "
        "[bold]dawn predict comments.csv[/] to score rows with it, and [bold]dawn serve[/] "
        "for the API and the dashboard (or [bold]dawn demo --serve[/]).",
        highlight=False,
    )


def _serve(folder: Path, port: int) -> None:
    from dawn.serve.app import run

    console.print(f"\nserving at [bold]http://127.0.0.1:{port}/dashboard[/] (dashboard) and "
                  f"http://127.0.0.1:{port}/docs (API); Ctrl-C stops", highlight=False)
    run(folder, host="127.0.0.1", port=port)
