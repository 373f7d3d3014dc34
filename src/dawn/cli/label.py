"""``dawn label``: apply labeling functions to data and print their analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console, print_json, print_lf_summary


def label(
    data: Annotated[str | None, typer.Argument(
        help="CSV / Parquet file with the rows to label (default: [data] of dawn.toml).")] = None,
    lfs: Annotated[Path | None, typer.Option(
        "--lfs", help="lfs.py (top-level LFs) or dawn.toml ([[lf]] tables); default ./dawn.toml."
    )] = None,
    classes: Annotated[str | None, typer.Option(
        "--classes", help="Comma-separated class names, e.g. ham,spam.")] = None,
    gold: Annotated[str | None, typer.Option(
        "--gold", help="Column with true labels, to show accuracies.")] = None,
    backend: Annotated[str, typer.Option(
        "--backend", help="auto, local, processes or dask.")] = "auto",
    fault_tolerant: Annotated[bool, typer.Option(
        "--fault-tolerant", help="Record LF errors and go on instead of stopping.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Apply labeling functions to DATA and print coverage, overlaps, conflicts and warnings."""
    from dawn.app.labeling import label_data

    result = label_data(data=data, lfs=lfs, classes=classes.split(",") if classes else None,
                        gold=gold, backend=backend, fault_tolerant=fault_tolerant,
                        progress=not as_json)
    if as_json:
        print_json(result.to_dict())
        return
    title = (f"{result.n_rows} rows × {len(result.summary)} labeling "
             f"functions — label coverage {result.label_coverage:.1%}")
    print_lf_summary(result.summary, result.warnings, title)
    if result.n_errors:
        console.print(f"[red]{result.n_errors} LF errors recorded[/]; see "
                      "LFAnalysis(...).examples(lf, kind='errors').")
