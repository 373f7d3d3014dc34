"""Python labeling functions, preprocessors and rows (dawn.label.lf)."""

from __future__ import annotations

import copy
import pickle
from types import SimpleNamespace

import pytest

from dawn.errors import ColumnNotFoundError, LabelingFunctionError
from dawn.label import Row, labeling_function, preprocessor
from dawn.label.base import LabelingFunction
from dawn.label.lf import MutableRow, PythonLF, as_lf, make_row, row_class, rows_from_columns


# ------------------------------------------------------------------------------------ Row
def test_row_reads_as_attributes_keys_and_get():
    x = make_row({"text": "hello", "n": 3})
    assert x.text == "hello" and x["n"] == 3
    assert x.get("n") == 3 and x.get("nope") is None and x.get("nope", 7) == 7
    assert "text" in x and "hello" not in x
    assert x.keys() == ["text", "n"]
    assert x.items() == [("text", "hello"), ("n", 3)]
    assert x.to_dict() == {"text": "hello", "n": 3}
    assert repr(x) == "Row(text='hello', n=3)"
    assert isinstance(x, Row)


def test_row_missing_field_names_it_and_suggests():
    x = make_row({"text": "hello"})
    with pytest.raises(AttributeError, match=r"no field 'txt'.*Did you mean 'text'"):
        _ = x.txt
    with pytest.raises(ColumnNotFoundError, match=r"no field 'txt'.*Did you mean 'text'"):
        _ = x["txt"]
    with pytest.raises(KeyError):  # ColumnNotFoundError is a KeyError
        _ = x["txt"]


def test_row_fields_that_are_not_identifiers_or_clash_with_methods():
    x = make_row({"my col": 1, "get": 2, "index": 3, "_private": 4, "count": 5})
    assert x["my col"] == 1 and getattr(x, "my col") == 1
    assert callable(x.get) and x["get"] == 2  # Row's own method wins; the field is x["get"]
    assert x.index == 3 and x.count == 5  # tuple's methods do not hide columns
    assert x._private == 4
    assert "'my col': 1" in repr(x)


def test_row_is_read_only():
    x = make_row({"text": "hello"})
    with pytest.raises(AttributeError, match="read-only"):
        x.text = "bye"
    with pytest.raises(AttributeError, match="read-only"):
        x.new = 1
    assert x.text == "hello"


def test_with_fields_adds_and_replaces_without_changing_the_row():
    x = make_row({"text": "Hi", "n": 1})
    y = x.with_fields({"n": 2}, lower="hi")
    assert y == make_row({"text": "Hi", "n": 2, "lower": "hi"})
    assert x == make_row({"text": "Hi", "n": 1})
    assert x.with_fields() is x


def test_rows_of_one_schema_share_a_class_and_compare_by_fields_and_values():
    assert row_class(["a", "b"]) is row_class(("a", "b"))
    assert make_row({"a": 1}) == make_row({"a": 1})
    assert make_row({"a": 1}) != make_row({"b": 1})
    assert hash(make_row({"a": 1})) == hash(make_row({"a": 1}))
    with pytest.raises(LabelingFunctionError, match="duplicate field names"):
        row_class(["a", "a"])


def test_rows_from_columns():
    rows = rows_from_columns(["t", "n"], [["a", "b"], [1, 2]], 2)
    assert [r.t for r in rows] == ["a", "b"] and rows[1].n == 2
    assert len(rows_from_columns([], [], 3)) == 3


def test_copy_and_pickle_give_a_mutable_copy():
    x = make_row({"text": "hi", "n": 1})
    for y in (copy.copy(x), copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert isinstance(y, MutableRow)
        y.upper = y.text.upper()
        y.n = 2
        assert y.upper == "HI" and y["n"] == 2 and "upper" in y
        assert y.get("missing", 0) == 0 and y.keys() == ["text", "n", "upper"]
    assert x == make_row({"text": "hi", "n": 1})
    z = pickle.loads(pickle.dumps(copy.copy(x)))
    assert z == copy.copy(x) and hash(z) == hash(copy.copy(x))
    with pytest.raises(AttributeError, match="no field 'nope'"):
        _ = z.nope


# ---------------------------------------------------------------------- labeling_function
def test_decorator_forms_and_names():
    @labeling_function()
    def called(x):
        return 0

    @labeling_function
    def bare(x):
        return 1

    @labeling_function("custom")
    def named(x):
        return -1

    @labeling_function(name="kw_name")
    def kw(x):
        return -1

    assert [called.name, bare.name, named.name, kw.name] == ["called", "bare", "custom",
                                                             "kw_name"]
    for lf in (called, bare, named, kw):
        assert isinstance(lf, PythonLF) and isinstance(lf, LabelingFunction)
        assert lf.vectorized is False
    x = make_row({"text": "a"})
    assert (called(x), bare(x), named(x)) == (0, 1, -1)
    assert repr(bare) == "PythonLF('bare')"


def test_lambda_needs_a_name():
    with pytest.raises(LabelingFunctionError, match="lambda needs a name"):
        labeling_function()(lambda x: 0)
    assert labeling_function("ok")(lambda x: 0).name == "ok"


def test_bad_decorator_arguments():
    with pytest.raises(LabelingFunctionError, match="name must be a string"):
        labeling_function(3)
    with pytest.raises(LabelingFunctionError, match="not callable"):
        PythonLF("x", "not a function")
    with pytest.raises(LabelingFunctionError, match="label=True"):
        labeling_function("b", label=True)(lambda x: 1)
    with pytest.raises(LabelingFunctionError, match="preprocessor 3 is not callable"):
        labeling_function("p", pre=[3])(lambda x: 1)


def test_resources_are_passed_as_keywords():
    @labeling_function(resources={"words": {"free", "prize"}, "vote": 1})
    def kw(x, words, vote):
        return vote if words & set(x.text.split()) else -1

    assert kw(make_row({"text": "a free lunch"})) == 1
    assert kw(make_row({"text": "a lunch"})) == -1
    assert kw.row_function()(make_row({"text": "prize"})) == 1


def test_label_turns_the_function_into_a_predicate():
    @labeling_function(label="spam")
    def has_prize(x):
        return "prize" in x.text

    assert has_prize(make_row({"text": "prize"})) == "spam"
    assert has_prize(make_row({"text": "hi"})) == -1
    for falsy in (False, None, 0, -1, ""):
        lf = labeling_function("f", label=1)(lambda x, v=falsy: v)
        assert lf(make_row({})) == -1
    assert labeling_function("t", label=1)(lambda x: "yes")(make_row({})) == 1


def test_python_lf_works_on_other_row_types():
    @labeling_function()
    def long(x):
        return 1 if len(x.text) > 3 else 0

    assert long(SimpleNamespace(text="hello")) == 1


# --------------------------------------------------------------------------- preprocessors
def test_dawn_preprocessor_adds_fields_from_a_dict():
    @preprocessor
    def words(x):
        return {"words": x.text.split()}

    @preprocessor(name="lowered")
    def lower(x):
        return x.with_fields(text=x.text.lower())

    @labeling_function(pre=[lower, words])
    def many_words(x):
        return 1 if len(x.words) > 2 and x.text.islower() else -1

    assert many_words(make_row({"text": "One Two Three"})) == 1
    assert lower.name == "lowered" and "lowered" in repr(lower)
    assert words(SimpleNamespace(text="a b")).words == ["a", "b"]  # non-Row rows get a copy
    assert preprocessor(lambda x: {"n": 1})({"text": "a"}) == {"text": "a", "n": 1}


def test_preprocessor_returning_none_is_an_error():
    @preprocessor
    def broken(x):
        x.with_fields(a=1)  # forgot to return it

    @labeling_function(pre=[broken])
    def lf(x):
        return 0

    with pytest.raises(LabelingFunctionError, match="preprocessor 'broken' returned None"):
        lf(make_row({"text": "a"}))


def test_memoized_preprocessor_runs_once_per_distinct_row():
    calls = []

    @preprocessor(memoize=True)
    def slow(x):
        calls.append(x.text)
        return {"n": len(x.text)}

    a, b = make_row({"text": "aa"}), make_row({"text": "bbb"})
    assert [slow(r).n for r in (a, b, a, a, b)] == [2, 3, 2, 2, 3]
    assert calls == ["aa", "bbb"]
    slow.reset_cache()
    slow(a)
    assert calls == ["aa", "bbb", "aa"]
    unhashable = make_row({"text": "cc", "tags": ["x"]})
    assert slow(unhashable).n == 2 and slow(unhashable).n == 2  # computed, not cached
    assert "memoize=True" in repr(slow)
    with pytest.raises(LabelingFunctionError, match="wraps a function"):
        preprocessor(5)


# -------------------------------------------------------------- Snorkel-like LF objects
class SnorkelPreprocessor:
    """Mimics snorkel.preprocess.Preprocessor (a Mapper): pickle round-trip copy, then
    ``setattr`` the fields ``run`` returns; optional memoization keyed on the row."""

    def __init__(self, name, run, memoize=False):
        self.name, self._run, self.memoize = name, run, memoize
        self._cache = {}

    def __call__(self, x):
        if self.memoize:
            key = x  # snorkel's get_hashable: the object itself when hashable
            if key in self._cache:
                return self._cache[key]
        x_mapped = pickle.loads(pickle.dumps(x))
        fields = self._run(x_mapped)
        for k, v in fields.items():
            setattr(x_mapped, k, v)
        if self.memoize:
            self._cache[key] = x_mapped
        return x_mapped


class SnorkelLambdaMapper:
    """Mimics snorkel's @lambda_mapper / @preprocessor: deep copy, then f mutates the copy."""

    def __init__(self, name, f):
        self.name, self._f = name, f

    def __call__(self, x):
        return self._f(pickle.loads(pickle.dumps(x)))


class SnorkelLF:
    """Mimics snorkel.labeling.LabelingFunction (name, _f, _resources, _pre)."""

    def __init__(self, name, f, resources=None, pre=None, fault_tolerant=False):
        self.name, self._f = name, f
        self._resources, self._pre = resources or {}, pre or []
        self.fault_tolerant = fault_tolerant

    def __call__(self, x):
        for p in self._pre:
            x = p(x)
            if x is None:
                raise ValueError("Preprocessor should not return None")
        if self.fault_tolerant:
            try:
                return self._f(x, **self._resources)
            except Exception:
                return -1
        return self._f(x, **self._resources)


def test_snorkel_preprocessors_work_on_rows():
    upper = SnorkelPreprocessor("upper", lambda x: {"upper": x.text.upper()}, memoize=True)

    def concat(x):
        x.both = f"{x.text}|{x.upper}"
        return x

    both = SnorkelLambdaMapper("both", concat)
    lf = SnorkelLF("shout", lambda x, mark: 1 if x.both.endswith(mark) else 0,
                   resources={"mark": "HI"}, pre=[upper, both])
    x = make_row({"text": "hi"})
    assert lf(x) == 1
    assert x == make_row({"text": "hi"})  # the caller's row is untouched
    wrapped = as_lf(lf)
    assert isinstance(wrapped, PythonLF) and wrapped.name == "shout" and wrapped(x) == 1

    # a dawn LF can use Snorkel preprocessors, and the reverse
    assert labeling_function("d", pre=[upper])(lambda x: len(x.upper))(x) == 2


def test_as_lf_rejects_what_is_not_an_lf():
    def plain(x):
        return 0

    with pytest.raises(LabelingFunctionError, match=r"'plain'.*not a labeling function.*"
                                                    r"@labeling_function"):
        as_lf(plain)
    with pytest.raises(LabelingFunctionError, match=r"'nope' \(a str\) is not a labeling"):
        as_lf("nope")
    lf = labeling_function("x")(plain)
    assert as_lf(lf) is lf
