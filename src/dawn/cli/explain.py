"""``dawn explain``: which attribute combinations make outliers abnormally likely."""

from __future__ import annotations

from typing import Annotated

import typer

from dawn.cli._output import console, print_frame, print_json


def explain(
    data: Annotated[str, typer.Argument(help="CSV / Parquet file (or DuckDB SQL with --sql).")],
    outlier: Annotated[str | None, typer.Option(
        "--outlier", help="Boolean column marking the outlier rows.")] = None,
    metric: Annotated[str | None, typer.Option(
        "--metric", help="Numeric column whose extreme values are the outliers.")] = None,
    attributes: Annotated[str | None, typer.Option(
        "--attributes", help="Comma-separated columns to explain with (default: all others).")
    ] = None,
    min_support: Annotated[float, typer.Option(
        "--min-support", help="Least share of the outliers a combination covers.")] = 0.01,
    min_risk_ratio: Annotated[float, typer.Option(
        "--min-risk-ratio", help="Least risk ratio of a reported combination.")] = 3.0,
    max_order: Annotated[int, typer.Option(
        "--max-order", help="Most attributes combined (1 to 3).")] = 3,
    classifier: Annotated[str, typer.Option(
        "--classifier", help="With --metric: mad, percentile or mcd.")] = "mad",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Explain outliers in DATA: attribute combinations over-represented among them."""
    from dawn.data import read
    from dawn.errors import ConfigError
    from dawn.explain import explain as run_explain

    if (outlier is None) == (metric is None):
        raise ConfigError("give exactly one of --outlier COLUMN (a boolean column) or "
                          "--metric COLUMN (a numeric column whose extremes are outliers).")
    frame = read(data)
    result = run_explain(frame, outlier, metric=metric,
                         attributes=attributes.split(",") if attributes else None,
                         min_support=min_support, min_risk_ratio=min_risk_ratio,
                         max_order=max_order, classifier=classifier)
    if as_json:
        print_json({"rows": len(frame), "explanations": result.to_dict(orient="records")})
        return
    if result.empty:
        console.print(f"no attribute combination explains the outliers in {len(frame)} rows "
                      f"(support ≥ {min_support:.0%}, risk ratio ≥ {min_risk_ratio:g}).")
        return
    shown = result.copy()
    shown["items"] = [" ∧ ".join(f"{k}={v}" for k, v in it.items()) for it in shown["items"]]
    shown = shown.rename(columns={"items": "explanation", "risk_ratio": "risk ratio",
                                  "p_value": "p (adj.)"})
    for col in ("risk ratio", "ci_low", "ci_high"):
        if col in shown:
            shown[col] = [f"{v:.3g}" for v in shown[col]]
    if "p (adj.)" in shown:
        shown["p (adj.)"] = [f"{v:.2g}" for v in shown["p (adj.)"]]
    shown.index = range(1, len(shown) + 1)
    print_frame(shown, title=f"{len(result)} explanations of the outliers in {len(frame)} rows",
                percent=("support",))
