"""``dawn models``, ``dawn promote``, ``dawn rollback``: the model registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console, print_frame, print_json

_PROJECT = typer.Option("--project", help="The project folder (default: here or above).")


def _version_dict(mv) -> dict:
    """A registry version without its (large) model meta, for output."""
    out = mv.to_dict()
    out.pop("meta", None)
    return out


def _lineage_summary(lineage: dict) -> str:
    data = lineage.get("data", {})
    parts = []
    if "rows" in data:
        parts.append(f"{data['rows']} rows")
    if data.get("fingerprint"):
        parts.append(f"data {str(data['fingerprint'])[:8]}")
    if "lfs" in lineage:
        parts.append(f"{len(lineage['lfs'])} LFs")
    if isinstance(lineage.get("label_model"), dict):
        parts.append(f"label model {lineage['label_model'].get('method')}")
    if isinstance(lineage.get("end_model"), dict):
        parts.append(f"end model {lineage['end_model'].get('model')}")
    return ", ".join(parts)


def models(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    project: Annotated[Path, _PROJECT] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List registered models and their versions: stage, metrics and lineage."""
    import pandas as pd

    from dawn.store import Project

    with Project.open(project, create=False) as proj:
        names = [name] if name else proj.registry.list_models()
        listed = {n: proj.registry.list_versions(n) for n in names}
    if as_json:
        print_json({"models": [{"name": n, "versions": [_version_dict(v) for v in vs]}
                               for n, vs in listed.items()]})
        return
    if not listed:
        console.print("no models registered yet; run `dawn run` in the project folder.",
                      highlight=False)
        return
    for n, versions in listed.items():
        rows = {}
        for v in versions:
            rows[f"v{v.version}"] = {
                "stage": v.stage or "", "created": v.created_at[:19],
                "accuracy": v.metrics.get("end_model.accuracy", float("nan")),
                "macro F1": v.metrics.get("end_model.macro_f1", float("nan")),
                "lineage": _lineage_summary(v.lineage)}
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "version"
        print_frame(table, title=f"model {n}", percent=("accuracy",))


def promote(
    name: Annotated[str, typer.Argument(help="The model.")],
    version: Annotated[str, typer.Argument(help="The version to serve (a number, or latest).")],
    project: Annotated[Path, _PROJECT] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Make VERSION of NAME the current (served) version; the old one becomes previous."""
    from dawn.store import Project

    with Project.open(project, create=False) as proj:
        mv = proj.registry.promote(name, version, reason="dawn promote")
    if as_json:
        print_json(_version_dict(mv))
    else:
        console.print(f"{name}: version {mv.version} is current", highlight=False)


def rollback(
    name: Annotated[str, typer.Argument(help="The model.")],
    project: Annotated[Path, _PROJECT] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Undo the last promotion of NAME: its previous version is current again."""
    from dawn.store import Project

    with Project.open(project, create=False) as proj:
        mv = proj.registry.rollback(name)
    if as_json:
        print_json(_version_dict(mv))
    else:
        console.print(f"{name}: rolled back to version {mv.version} (current)", highlight=False)
