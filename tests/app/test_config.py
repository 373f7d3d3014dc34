"""The app file: reading, checking and environment variables."""

from __future__ import annotations

import pytest

from dawn.app import load_config
from dawn.errors import ConfigError, SourceNotFoundError
from dawn.label.spec import lf_from_spec

TOML = """
name = "spam-check"
[data]
path = "rows.csv"
gold = "label"
[labels]
classes = ["ham", "spam"]
[[lf]]
name = "free"
keywords = ["free", "win"]
label = "spam"
[[lf]]
name = "link"
regex = "https?://"
label = "spam"
[[lf]]
name = "young"
column = "age"
lt = 7
label = "spam"
"""


def write(tmp_path, text):
    path = tmp_path / "dawn.toml"
    path.write_text(text)
    return path


def test_reads_name_data_classes_and_lfs(tmp_path):
    cfg = load_config(write(tmp_path, TOML))
    assert cfg.name == "spam-check"
    assert cfg.classes == ["ham", "spam"]
    assert cfg.gold_column == "label" and cfg.text_column == "text"
    lfs = cfg.labeling_functions()
    assert [lf.name for lf in lfs] == ["free", "link", "young"]
    assert [type(lf).__name__ for lf in lfs] == ["KeywordLF", "RegexLF", "ThresholdLF"]


def test_folder_path_finds_dawn_toml(tmp_path):
    write(tmp_path, TOML)
    assert load_config(tmp_path).name == "spam-check"


def test_environment_variables_are_substituted(tmp_path, monkeypatch):
    monkeypatch.setenv("DAWN_TEST_DATA", "secret.csv")
    cfg = load_config(write(tmp_path, TOML.replace("rows.csv", "${DAWN_TEST_DATA}")))
    assert cfg.data["path"] == "secret.csv"


def test_unset_environment_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("DAWN_NOT_SET", raising=False)
    with pytest.raises(ConfigError, match="DAWN_NOT_SET"):
        load_config(write(tmp_path, TOML.replace("rows.csv", "${DAWN_NOT_SET}")))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (("[labels]", "[lables]"), "unknown top-level key.*Did you mean 'labels'"),
        (('name = "spam-check"', 'name = "has space"'), "name = 'has space'"),
        (('classes = ["ham", "spam"]', 'classes = ["ham"]'), "at least two"),
        (('path = "rows.csv"', 'path = "rows.csv"\nquery = "SELECT 1"'), "exactly one of path"),
        (("[labels]", "[labels"), "not valid TOML"),
    ],
)
def test_bad_app_files_say_what_is_wrong(tmp_path, change, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, TOML.replace(*change)))


def test_missing_app_file(tmp_path):
    with pytest.raises(SourceNotFoundError, match="dawn demo"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"keywords": ["a"], "label": 1}, "needs a name"),
        ({"name": "x", "label": 1}, "exactly one of"),
        ({"name": "x", "keywords": ["a"], "regex": "a", "label": 1}, "exactly one of"),
        ({"name": "x", "keywords": ["a"]}, "needs label"),
        ({"name": "x", "keywords": ["a"], "label": 1, "colum": "t"}, "Did you mean 'column'"),
        ({"name": "x", "python": "lfs.py", "label": 1}, "file.py:function"),
    ],
)
def test_bad_lf_declarations(spec, match):
    with pytest.raises(ConfigError, match=match):
        lf_from_spec(spec)


def test_python_lf_from_file_as_predicate_or_labeller(tmp_path):
    (tmp_path / "rules.py").write_text(
        "def is_short(x):\n    return len(x.text) < 5\n\n"
        "def vote(x):\n    return 1 if 'win' in x.text else -1\n"
    )
    pred = lf_from_spec({"name": "short", "python": "rules.py:is_short", "label": 0},
                        base_dir=tmp_path)
    vote = lf_from_spec({"name": "vote", "python": "rules.py:vote"}, base_dir=tmp_path)
    from dawn.label import apply_lfs

    L = apply_lfs([pred, vote], {"text": ["hi", "you win big", "hello there"]}, backend="local")
    assert L.to_dense().tolist() == [[0, -1], [-1, 1], [-1, -1]]
    with pytest.raises(ConfigError, match="Did you mean 'is_short'"):
        lf_from_spec({"name": "s", "python": "rules.py:is_shrt", "label": 0}, base_dir=tmp_path)
    with pytest.raises(SourceNotFoundError, match=r"nope\.py"):
        lf_from_spec({"name": "s", "python": "nope.py:f", "label": 0}, base_dir=tmp_path)
