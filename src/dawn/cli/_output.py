"""Printing for the CLI: rich tables for people, JSON for machines, errors without tracebacks."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dawn.errors import DawnError

console = Console()
err_console = Console(stderr=True)


def run_cli(app) -> None:
    """Run the typer app; a DawnError prints its message and exits with status 2."""
    try:
        app(standalone_mode=False)
    except DawnError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except Exception as exc:  # typer/click usage errors
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from numpy / pandas values (NaN → None)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [to_jsonable(r) for r in value.reset_index().to_dict(orient="records")]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(payload), indent=2) + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def print_frame(df: pd.DataFrame, title: str | None = None,
                percent: tuple[str, ...] = ()) -> None:
    """A DataFrame (index included) as a rich table; ``percent`` columns shown as percentages."""
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(str(df.index.name or ""), style="cyan", no_wrap=True)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left", no_wrap=numeric,
                         overflow="ellipsis" if numeric else "fold")
    columns = [df[c].tolist() for c in df.columns]  # per column: ints stay ints
    for i, idx in enumerate(df.index):
        cells = [f"{col[i]:.1%}" if c in percent and isinstance(col[i], float) and col[i] == col[i]
                 else _cell(col[i]) for c, col in zip(df.columns, columns, strict=True)]
        table.add_row(str(idx), *cells)
    console.print(table)


_SHORT = {"Polarity": "Votes", "Coverage": "Cover", "Overlaps": "Overlap", "Conflicts": "Conflict",
          "Correct": "Right", "Incorrect": "Wrong", "Emp. Acc.": "Acc.", "Learned Acc.": "Learned"}


def print_lf_summary(summary: pd.DataFrame, warnings: list[str], title: str) -> None:
    """The LF analysis table (warnings listed under it, not in a column)."""
    shown = summary.drop(columns=[c for c in ("j", "Warnings") if c in summary]).rename(
        columns=_SHORT)
    print_frame(shown, title=title, percent=("Cover", "Overlap", "Conflict", "Acc.", "Learned"))
    for w in warnings:
        console.print(f"[yellow]warning[/] {w}", highlight=False)
