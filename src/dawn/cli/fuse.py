"""``dawn fuse``: which sources to trust, what is true, and which sources to improve."""

from __future__ import annotations

from typing import Annotated

import typer

from dawn.cli._output import console, print_frame, print_json


def fuse(
    claims: Annotated[str, typer.Argument(help="CSV / Parquet file of claims.")],
    object: Annotated[str, typer.Option("--object", help="Column naming the object.")
                      ] = "object",
    source: Annotated[str, typer.Option("--source", help="Column naming the source.")
                      ] = "source",
    value: Annotated[str, typer.Option("--value", help="Column holding the claimed value.")
                     ] = "value",
    truth: Annotated[str | None, typer.Option(
        "--truth", help="CSV of known values: columns OBJECT and VALUE (same names).")] = None,
    features: Annotated[str | None, typer.Option(
        "--features", help="CSV of source features: column SOURCE plus feature columns.")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="auto, majority, one_coin, "
                                        "dawid_skene, glad, slimfast or weighted_median.")
                      ] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Breaks ties between values.")] = 0,
    top: Annotated[int, typer.Option("--top", help="Rows shown per table.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Fuse conflicting CLAIMS into one value per object; rank sources by trust and gain."""
    from dawn.data import read
    from dawn.errors import ColumnNotFoundError
    from dawn.fuse import Fusion

    table = read(claims).to_pandas()
    known = feats = None
    if truth is not None:
        t = read(truth).to_pandas()
        for col in (object, value):
            if col not in t.columns:
                raise ColumnNotFoundError(f"the truth file {truth!r} has no column {col!r}; "
                                          f"it needs columns {object!r} and {value!r}.")
        known = t.set_index(object)[value]
    if features is not None:
        f = read(features).to_pandas()
        if source not in f.columns:
            raise ColumnNotFoundError(f"the features file {features!r} has no column "
                                      f"{source!r} naming the source.")
        feats = f.set_index(source)
    fusion = Fusion(method=method, seed=seed).fit(table, object=object, source=source,
                                                  value=value, source_features=feats,
                                                  truth=known)
    acc = fusion.source_accuracy_.sort_values(ascending=False).to_frame()
    counts = table.groupby(source).size()
    acc["claims"] = acc.index.map(counts).to_numpy(dtype="int64")  # aligned by source
    truth_table = fusion.truth_.to_frame().join(fusion.confidence_)
    enrich = fusion.enrichment()
    if as_json:
        print_json({"method": fusion.method_, "reason": fusion.method_reason_,
                    "objects": len(fusion.truth_), "sources": len(acc),
                    "source_accuracy": acc, "truth": truth_table,
                    "enrichment": enrich, "review": fusion.review_queue(top)})
        return
    console.print(f"fused {len(table)} claims on {len(fusion.truth_)} objects from "
                  f"{len(acc)} sources with [bold]{fusion.method_}[/]: "
                  f"{fusion.method_reason_}", highlight=False)
    print_frame(acc.head(top), title="sources, most trusted first", percent=("accuracy",))
    print_frame(truth_table.head(top), title="fused values", percent=("confidence",))
    print_frame(enrich.head(top), title="sources to improve (expected extra correct objects)",
                percent=("accuracy",))
