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


# -- checking everything the app file names, before any work starts ----------------------
from dawn.app.config import check_app  # noqa: E402
from dawn.errors import (  # noqa: E402
    ColumnNotFoundError,
    LabelError,
    RegexError,
)

APP = """\
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

[model]
type = "linear"
"""


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / "rows.csv").write_text("text,label,age\nwin a free prize,spam,3\n"
                                       "hello there,ham,40\n")
    (tmp_path / "dawn.toml").write_text(APP)
    return tmp_path


def test_a_good_app_file_passes_every_check(app_dir):
    checked = check_app(app_dir)
    assert [lf.name for lf in checked.lfs] == ["free", "link"]
    assert len(checked.frame) == 2 and checked.actions == []


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('path = "rows.csv"', 'pth = "rows.csv"',
         r"line 4: \[data\] pth: unknown key 'pth'.*Did you mean 'path'"),
        ('name = "link"', 'name = "link"\ncolum = "x"',
         r"line 17: \[\[lf\]\] #2 colum: unknown key 'colum' \(in 'link'\).*Did you mean 'column'"),
        ('type = "linear"', 'typ = "linear"',
         r"line 21: \[model\] typ: unknown key.*Did you mean 'type'"),
        ("[model]", '[label_model]\nmethd = "auto"\n[model]',
         r"line 21: \[label_model\] methd.*Did you mean 'method'"),
        ("[model]", "[monitor]\nthreshhold = 0.1\n[model]",
         r"line 21: \[monitor\] threshhold.*Did you mean 'threshold'"),
        ("[model]", "[serve]\nport = 8000\nlog_rawe = true\n[model]",
         r"line 22: \[serve\] log_rawe.*Did you mean 'log_raw'"),
        ("[model]", "[data2]\n[model]",
         r"line 20: data2: unknown top-level key.*Did you mean 'data'"),
    ],
)
def test_unknown_keys_name_the_line_the_table_and_the_likely_key(app_dir, old, new, match):
    (app_dir / "dawn.toml").write_text(APP.replace(old, new, 1))
    with pytest.raises(ConfigError, match=match):
        check_app(app_dir)


def test_a_table_that_is_not_a_table(app_dir):
    text = APP.replace('[model]\ntype = "linear"\n', "").replace('name = "spam-check"',
                                                                 'name = "spam-check"\nmodel = 3')
    (app_dir / "dawn.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"line 2: model: model must be a \[model\] table"):
        check_app(app_dir)


def test_unknown_class_in_an_lf_label(app_dir):
    (app_dir / "dawn.toml").write_text(APP.replace('label = "spam"', 'label = "spm"', 1))
    with pytest.raises(LabelError, match=r"line 13: \[\[lf\]\] #1 label: .*'free' uses class "
                       r"'spm'.*Did you mean 'spam'"):
        check_app(app_dir)


def test_bad_regex_points_at_its_line(app_dir):
    (app_dir / "dawn.toml").write_text(APP.replace('"https?://"', '"(unclosed"'))
    with pytest.raises(RegexError, match=r"line 17: \[\[lf\]\] #2 regex of 'link'.*does not "
                       "compile"):
        check_app(app_dir)


def test_missing_data_file(app_dir):
    (app_dir / "dawn.toml").write_text(APP.replace("rows.csv", "nope.csv"))
    with pytest.raises(SourceNotFoundError, match=r"line 4: \[data\] path = 'nope.csv'.*does not "
                       "exist; fix the path"):
        check_app(app_dir)


def test_missing_python_lf_file(app_dir):
    (app_dir / "dawn.toml").write_text(APP.replace('regex = "https?://"',
                                                   'python = "rules.py:has_link"'))
    with pytest.raises(SourceNotFoundError, match=r"line 17: \[\[lf\]\] #2 python of 'link'.*"
                       r"rules\.py.*does not exist.*Fix python ="):
        check_app(app_dir)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('gold = "label"', 'gold = "lbl"', r"line 5: \[data\] gold = 'lbl'.*Did you mean 'label'"),
        ('gold = "label"', 'text = "body"', r"line 5: \[data\] text = 'body'.*columns are"),
        ('keywords = ["free", "win"]', 'keywords = ["free"]\ncolumn = "body"',
         r"line 13: \[\[lf\]\] #1 column of 'free' = 'body'"),
        ('type = "linear"', 'type = "linear"\ncolumns = ["agee"]',
         r"line 22: \[model\] columns = 'agee'.*Did you mean 'age'"),
        ("[model]", '[monitor]\ncolumns = ["contry"]\n[model]',
         r"line 21: \[monitor\] columns = 'contry'"),
    ],
)
def test_missing_columns_name_the_key_that_asks_for_them(app_dir, old, new, match):
    (app_dir / "dawn.toml").write_text(APP.replace(old, new, 1))
    with pytest.raises(ColumnNotFoundError, match=match):
        check_app(app_dir)


def test_default_text_column_missing_says_how_to_fix(app_dir):
    (app_dir / "rows.csv").write_text("body,label\nwin,spam\nhi,ham\n")
    with pytest.raises(ColumnNotFoundError, match=r"#1 'free' reads the default text column; "
                       r"set \[data\] text or column = 'text'"):
        check_app(app_dir)


def test_two_lfs_with_one_name(app_dir):
    (app_dir / "dawn.toml").write_text(APP.replace('name = "link"', 'name = "free"'))
    with pytest.raises(ConfigError, match=r"line 16: \[\[lf\]\] #2 name: two labeling functions "
                       "are named 'free'"):
        check_app(app_dir)


def test_bad_actions_point_at_their_table(app_dir):
    (app_dir / "dawn.toml").write_text(APP + '\n[[action]]\nname = "ok"\non = "drift"\nlog = true\n'
                                       '\n[[action]]\nname = "hook"\non = "drift"\n'
                                       'webhok = "http://127.0.0.1:9/x"\n')
    with pytest.raises(ConfigError, match=r"line 28: \[\[action\]\] #2 'hook': unknown key "
                       "'webhok'.*Did you mean 'webhook'"):
        check_app(app_dir)
    (app_dir / "dawn.toml").write_text(APP + '\n[[action]]\nname = "ok"\non = "drift"\n'
                                       'log = true\n')
    assert [a.name for a in check_app(app_dir).actions] == ["ok"]


def test_no_data_table(app_dir):
    (app_dir / "dawn.toml").write_text('[labels]\nclasses = ["a", "b"]\n')
    with pytest.raises(ConfigError, match=r"no \[data\] table; add"):
        check_app(app_dir)
