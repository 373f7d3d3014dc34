"""``dawn train`` and ``dawn predict``: train and register an end model; score a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console, print_frame, print_json


def print_train(result) -> None:
    """The human-readable report of a training run."""
    lm, chosen = result.label_model, result.classifier.info["chosen"]
    console.print(f"label model: [bold]{lm.method_}[/] — {lm.method_reason_}", highlight=False)
    console.print(f"end model: [bold]{chosen['model']}[/] {chosen['params']} "
                  f"(trained on {result.metrics['trained_rows']} rows)", highlight=False)
    import pandas as pd

    rows = {part: result.metrics[part] for part in ("label_model", "end_model")
            if part in result.metrics}
    if rows:
        table = pd.DataFrame({part: {"accuracy": m.get("accuracy"),
                                     "macro F1": m.get("macro_f1"),
                                     "coverage": m.get("coverage", 1.0)}
                              for part, m in rows.items()}).T
        print_frame(table, title=f"on {result.metrics['evaluated_rows']} held-out rows with "
                    "gold labels", percent=("accuracy", "macro F1", "coverage"))
    if len(result.label_errors):
        console.print(f"{len(result.label_errors)} rows look mislabelled by the LFs (first: rows "
                      f"{result.label_errors['row'].head(5).tolist()}); review them with "
                      "--json.", highlight=False)
    console.print(f"registered [bold]{result.name}[/] version {result.version} (current)",
                  highlight=False)


def train(
    app: Annotated[Path, typer.Option(
        "--app", help="The app file (default ./dawn.toml).")] = Path("dawn.toml"),
    label_model: Annotated[str | None, typer.Option(
        "--label-model", help="Label model method (default: [label_model] method or auto).")
    ] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="End model: auto, linear or trees (default: [model] type or auto).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Label the app file's data, fit the label model and end model, evaluate and register."""
    from dawn.app.training import train_project

    result = train_project(app, label_model=label_model, model=model, progress=not as_json)
    if as_json:
        print_json(result.to_dict())
    else:
        print_train(result)


def predict(
    data: Annotated[str, typer.Argument(help="CSV / Parquet file with rows to score.")],
    model: Annotated[str | None, typer.Option(
        "--model", help="Registered model name (default: the app file's name).")] = None,
    version: Annotated[str | None, typer.Option(
        "--version", help="Model version (default: current).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the rows with predictions to this CSV / Parquet file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Score DATA with a registered model (batch prediction)."""
    import dawn
    from dawn.data import read

    frame = read(data)
    loaded = dawn.load(model, int(version) if version and version.isdigit() else version)
    scores = loaded.score(frame)
    if output is not None:
        out = frame.to_pandas().join(scores)
        if output.suffix == ".parquet":
            out.to_parquet(output, index=False)
        else:
            out.to_csv(output, index=False)
    counts = scores["prediction"].value_counts().to_dict()
    if as_json:
        print_json({"model": loaded.name, "version": loaded.version, "rows": len(scores),
                    "counts": counts, "output": None if output is None else str(output),
                    "predictions": None if output is not None else scores.to_dict("records")})
        return
    console.print(f"scored {len(scores)} rows with [bold]{loaded.name}[/] v{loaded.version}: "
                  f"{counts}" + (f" → {output}" if output else ""), highlight=False)
    if output is None:
        print_frame(scores.head(20), title="first rows")
