"""``dawn monitor``: has the data drifted from a reference, and where?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console, print_frame, print_json


def monitor(
    reference: Annotated[str, typer.Argument(help="Reference data: CSV / Parquet / JSON file.")],
    current: Annotated[str, typer.Argument(help="Current data to check against the reference.")],
    columns: Annotated[str | None, typer.Option(
        "--columns", help="Comma-separated columns to check (default: all shared columns).")
    ] = None,
    threshold: Annotated[float | None, typer.Option(
        "--threshold", help="Effect size at which a column counts as drifted "
        "(default 0.1: normalised Wasserstein for numbers, Jensen–Shannon for categories).")
    ] = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write a self-contained HTML report with a chart per drifted "
        "column.")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Name the check is stored under in the project's history "
        "(default: the app name in dawn.toml, else 'data').")] = None,
    fail_on_drift: Annotated[bool, typer.Option(
        "--fail-on-drift", help="Exit with status 1 when any column drifted (for pipelines).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check CURRENT for drift from REFERENCE, column by column, and say where it is.

    In a project folder the check is stored in the project's history and a "drift" event
    is emitted to the [[action]]s of dawn.toml when something drifted.
    """
    from dawn.data import read
    from dawn.monitor import DriftMonitor
    from dawn.monitor.alerts import record_check

    ref, cur = read(reference), read(current)
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    report = DriftMonitor(names, threshold=threshold).fit(ref).check(cur)
    context = project_context(model)
    if context is not None:
        project, name, actions = context
        with project:
            record_check(project, report, model=name, actions=actions)
    if html is not None:
        report.to_html(html)
    if as_json:
        payload = report.summary()
        payload["columns"] = report.to_pandas().to_dict(orient="records")
        if html is not None:
            payload["html"] = str(html)
        print_json(payload)
    else:
        print_report(report, len(ref), len(cur), html)
    if fail_on_drift and report.drifted:
        raise typer.Exit(1)


def project_context(model: str | None):
    """``(project, model name, actions)`` when run inside a project folder, else None."""
    from dawn.store import Project, find_root

    root = find_root(Path.cwd())
    if root is None:
        return None
    actions = []
    name = model
    if (root / "dawn.toml").is_file():
        from dawn.act import actions_from_config
        from dawn.app.config import load_config

        config = load_config(root / "dawn.toml")
        name = name or config.name
        actions = actions_from_config(config.raw.get("action", []), config.base_dir)
    return Project.open(root), name or "data", actions


def print_report(report, n_ref: int, n_cur: int, html: Path | None) -> None:
    table = report.to_pandas()
    shown = table[["column", "kind", "test", "effect_size", "threshold", "p_value",
                   "drifted"]].set_index("column")
    drifted = report.drifted_columns
    title = (f"{len(drifted)} of {len(table)} columns drifted "
             f"({n_cur} current rows vs {n_ref} reference rows)")
    print_frame(shown, title=title)
    segments = report.segments
    if segments is not None and len(segments):
        console.print("[bold]where the current data is concentrated[/] (segments far more "
                      "common now than in the reference):")
        for _, row in segments.head(5).iterrows():
            items = " ∧ ".join(f"{k}={v}" for k, v in row["items"].items())
            console.print(f"  {items}: {row['support']:.1%} of current rows, "
                          f"{row['risk_ratio']:.3g}× the reference rate", highlight=False)
    if html is not None:
        console.print(f"report written to {html}")
