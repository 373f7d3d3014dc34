"""The ``dawn`` command line: a thin layer over the Python API (typer + rich)."""

from __future__ import annotations

import typer

from dawn.cli import demo as _demo
from dawn.cli import label as _label

app = typer.Typer(
    name="dawn",
    help="dawn: from raw data and rules of thumb to labels, models and monitoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(_demo.demo)
app.command("label")(_label.label)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", help="Print dawn's version.")) -> None:
    if version:
        from dawn import __version__

        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    """Entry point of the ``dawn`` console script."""
    from dawn.cli._output import run_cli

    run_cli(app)
