"""The ``dawn`` command line: a thin layer over the Python API (typer + rich)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli import act as _act
from dawn.cli import demo as _demo
from dawn.cli import explain as _explain
from dawn.cli import fuse as _fuse
from dawn.cli import label as _label
from dawn.cli import models as _models
from dawn.cli import monitor as _monitor
from dawn.cli import recommend as _recommend
from dawn.cli import run as _run
from dawn.cli import serve as _serve
from dawn.cli import train as _train

app = typer.Typer(
    name="dawn",
    help="dawn: from raw data and rules of thumb to labels, models and monitoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(_demo.demo)
app.command("label")(_label.label)
app.command("train")(_train.train)
app.command("predict")(_train.predict)
app.command("explain")(_explain.explain)
app.command("run")(_run.run)
app.command("models")(_models.models)
app.command("promote")(_models.promote)
app.command("rollback")(_models.rollback)
app.command("monitor")(_monitor.monitor)
app.command("serve")(_serve.serve)
app.command("fuse")(_fuse.fuse)
app.add_typer(_act.act_app, name="act")
app.add_typer(_recommend.recommend_app, name="recommend")


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print dawn's version.")] = False,
) -> None:
    if version:
        from dawn import __version__

        typer.echo(__version__)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(help="Folder to make a dawn project.")] = Path("."),
) -> None:
    """Make FOLDER a dawn project: create .dawn/ with the state database."""
    from dawn.store import Project

    with Project.init(folder) as project:
        typer.echo(f"dawn project at {project.root} (state schema v{project.schema_version})")


def main() -> None:
    """Entry point of the ``dawn`` console script."""
    from dawn.cli._output import run_cli

    run_cli(app)
