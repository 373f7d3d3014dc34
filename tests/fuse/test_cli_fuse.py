"""``dawn fuse`` as a user runs it (the command function mounted on a typer app)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from dawn.cli.fuse import fuse
from dawn.fuse import synthetic_claims


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    a.command("fuse")(fuse)
    a.command("noop")(lambda: None)  # two commands, so `fuse` is a subcommand
    return a


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuse")
    d = synthetic_claims(100, 30, n_values=2, n_features=2, claims_per_source=8.0, seed=0)
    claims = d.claims.rename(columns={"object": "item", "source": "worker", "value": "label"})
    claims.to_csv(folder / "claims.csv", index=False)
    claimed = d.truth[d.truth.index.isin(claims["item"])]
    claimed.rename_axis("item").rename("label").iloc[:30].reset_index().to_csv(
        folder / "truth.csv", index=False)
    d.features.rename_axis("worker").reset_index().to_csv(folder / "feats.csv", index=False)
    return folder


def test_fuse_prints_sources_truth_and_enrichment(app, files):
    res = CliRunner().invoke(app, ["fuse", str(files / "claims.csv"), "--object", "item",
                                   "--source", "worker", "--value", "label"])
    assert res.exit_code == 0, res.output
    for text in ("most trusted first", "fused values", "sources to improve", "one_coin"):
        assert text in res.output


def test_fuse_json_with_truth_and_features(app, files):
    res = CliRunner().invoke(app, ["fuse", str(files / "claims.csv"), "--object", "item",
                                   "--source", "worker", "--value", "label", "--truth",
                                   str(files / "truth.csv"), "--features",
                                   str(files / "feats.csv"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["method"] == "slimfast" and out["objects"] == len(out["truth"])
    assert {"worker", "accuracy", "claims"} <= set(out["source_accuracy"][0])
    assert {"gain", "action"} <= set(out["enrichment"][0])


def test_fuse_names_a_missing_column(app, files):
    res = CliRunner().invoke(app, ["fuse", str(files / "claims.csv"), "--object", "obj",
                                   "--source", "worker", "--value", "label"])
    assert res.exit_code != 0
    assert "obj" in str(res.exception)
