"""``dawn label``: apply labeling functions to data and print their analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console, print_frame, print_json, print_lf_summary


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
    label_model: Annotated[str | None, typer.Option(
        "--label-model", help="Also fit a label model (auto, majority, weighted_majority, "
        "dawid_skene, pooled, metal, triplet) and show its estimated LF accuracies.")] = None,
    show: Annotated[str | None, typer.Option(
        "--show", help="Also print example rows of this labeling function.")] = None,
    kind: Annotated[str, typer.Option(
        "--kind", help="Which rows --show prints: fires, abstains, conflicts, errors, "
        "correct or incorrect.")] = "fires",
    n: Annotated[int, typer.Option("-n", help="How many example rows --show prints.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Apply labeling functions to DATA and print coverage, overlaps, conflicts and warnings."""
    from dawn.app.labeling import label_data

    result = label_data(data=data, lfs=lfs, classes=classes.split(",") if classes else None,
                        gold=gold, backend=backend, fault_tolerant=fault_tolerant,
                        progress=not as_json, label_model=label_model)
    examples = result.examples(show, kind=kind, n=n) if show else None
    if as_json:
        payload = result.to_dict()
        if examples is not None:
            payload["examples"] = examples.to_dict(orient="records")
        print_json(payload)
        return
    title = (f"{result.n_rows} rows × {len(result.summary)} labeling "
             f"functions — label coverage {result.label_coverage:.1%}")
    print_lf_summary(result.summary, result.warnings, title)
    if result.label_model is not None:
        lm = result.label_model
        acc = result.label_model_accuracy()
        shown = "" if acc is None else f"; accuracy on gold {acc:.1%}"
        reason = lm.method_reason_.rstrip(".")
        console.print(f"label model: [bold]{lm.method_}[/] — {reason}{shown}", highlight=False)
    if result.n_errors:
        console.print(f"[red]{result.n_errors} LF errors recorded[/]; see "
                      "LFAnalysis(...).examples(lf, kind='errors').")
    if examples is not None:
        shown = examples.set_index("row")
        keep = [c for c in ("vote", "gold", "votes", "error") if c in shown]
        text = [c for c in shown.columns[len(keep):] if c == result.text_column]
        shown = shown[keep + (text or list(shown.columns[len(keep):]))]
        shown["votes"] = [", ".join(f"{k}={v}" for k, v in d.items()) for d in shown["votes"]]
        print_frame(shown, title=f"{kind} of {show!r}: {len(examples)} rows")
