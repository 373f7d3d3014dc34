"""Declaring actions: from Python and from dawn.toml, with every mistake caught up front."""

from __future__ import annotations

import sys

import pytest

from dawn.act import Action, actions_from_config
from dawn.act.actions import parse_rate, retrain_command
from dawn.errors import ConfigError


def test_each_kind_of_action():
    hook = Action("hook", on="drift", webhook="https://example.com/x",
                  headers={"Authorization": "Bearer t"})
    cmd = Action("cmd", on="*", command=["python", "notify.py"])
    log = Action("log", on="prediction", log="warning")
    retrain = Action("retrain", on="performance", retrain=True)
    assert [a.kind for a in (hook, cmd, log, retrain)] == ["webhook", "command", "log", "retrain"]
    assert hook.timeout == 10.0 and retrain.timeout == 3600.0
    assert log.log == "warning" and Action("l", on="x", log=True).log == "info"
    assert retrain_command() == [sys.executable, "-m", "dawn", "train"]
    assert hook.to_dict()["headers"] == ["Authorization"]  # the secret itself is not shown
    assert "Bearer" not in repr(hook)


def test_on_matches_the_event_name_or_everything():
    a = Action("a", on="drift", log=True)
    assert a.matches("drift") and not a.matches("performance")
    assert Action("b", on="*", log=True).matches("anything", {"x": 1})
    assert Action("c", on="my.own:event", log=True).matches("my.own:event")


@pytest.mark.parametrize(("when", "payload", "expected"), [
    ({"below": 0.8}, {"value": 0.7}, True),
    ({"below": 0.8}, {"value": 0.8}, False),
    ({"below": 0.8}, {}, False),  # no value: the condition cannot hold
    ({"below": 0.8}, {"value": "low"}, False),
    ({"above": 0.1}, {"value": 0.3}, True),
    ({"above": 0.1, "below": 0.5}, {"value": 0.6}, False),
    ({"below": 0.9, "field": "accuracy"}, {"accuracy": 0.85, "value": 1.0}, True),
    ({"class": "spam"}, {"class": "spam"}, True),
    ({"class": "spam"}, {"class": "ham"}, False),
    ({"class": ["spam", "scam"]}, {"class": "scam"}, True),
    ({"min_confidence": 0.9}, {"confidence": 0.95}, True),
    ({"min_confidence": 0.9}, {"confidence": 0.5}, False),
    ({"class": "spam", "min_confidence": 0.9}, {"class": "spam", "confidence": 0.5}, False),
    ({"equals": {"drifted": True}}, {"drifted": True}, True),
    ({"equals": {"drifted": True}}, {"drifted": False}, False),
    ({"equals": {"model.name": "spam"}}, {"model": {"name": "spam"}}, True),
    ({"equals": {"model.name": "spam"}}, {"model": "spam"}, False),
])
def test_when_conditions(when, payload, expected):
    assert Action("a", on="e", log=True, when=when).matches("e", payload) is expected


def test_conditions_only_apply_to_the_named_event():
    a = Action("a", on="performance", log=True, when={"below": 0.8})
    assert not a.matches("drift", {"value": 0.1})


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, r"action 'a': give exactly one of webhook .* \(got none\)"),
    ({"webhook": "http://x.org", "log": True}, r"exactly one of .*got webhook and log"),
    ({"command": ["a"], "retrain": True}, r"got command and retrain"),
    ({"webhook": "ftp://x.org"}, r"webhook = 'ftp://x.org' must be an http:// or https:// URL"),
    ({"webhook": "example.com/hook"}, r"must be an http:// or https:// URL"),
    ({"webhook": "http://"}, r"must be an http:// or https:// URL"),
    ({"command": "python notify.py"},
     r"command = 'python notify.py' must be a non-empty list of strings.*\['python', "
     r"'notify.py'\]"),
    ({"command": []}, r"must be a non-empty list of strings"),
    ({"command": ["python", 3]}, r"must be a non-empty list of strings"),
    ({"log": "loud"}, r"log = 'loud' must be true or a level name"),
    ({"retrain": "yes"}, r"retrain = 'yes' must be true or false"),
    ({"log": True, "headers": {"X": "1"}}, r"headers only apply to a webhook"),
    ({"webhook": "http://x.org", "headers": {"X": 1}}, r"headers must be a table of text"),
    ({"webhook": "http://x.org", "headers": {"X": "a\nb"}}, r"header 'X' contains a line"),
    ({"log": True, "timeout": 0}, r"timeout = 0 must be a number of seconds, more than 0"),
    ({"log": True, "timeout": "10"}, r"timeout = '10' must be a number"),
    ({"log": True, "backoff": -1}, r"backoff = -1 must be a number of seconds, 0 or more"),
    ({"log": True, "max_attempts": 0}, r"max_attempts = 0 must be a whole number"),
    ({"log": True, "max_attempts": 2.5}, r"max_attempts = 2.5 must be a whole number"),
    ({"log": True, "cooldown": -5}, r"cooldown = -5 must be a number of seconds"),
    ({"log": True, "rate_limit": "10 per minute"}, r"rate_limit = '10 per minute' must look"),
    ({"log": True, "rate_limit": "0/hour"}, r"rate_limit = '0/hour' must look"),
    ({"log": True, "rate_limit": True}, r"rate_limit = True must look"),
    ({"log": True, "when": {"bellow": 0.5}},
     r"unknown condition when.bellow.*Did you mean 'below'\?"),
    ({"log": True, "when": {"below": "low"}}, r"when.below = 'low' must be a number"),
    ({"log": True, "when": [1]}, r"when must be a table of conditions"),
    ({"log": True, "when": {"class": []}}, r"when.class = \[\] must be a class name"),
    ({"log": True, "when": {"equals": 3}}, r"when.equals = 3 must be a table"),
    ({"log": True, "when": {"field": ""}}, r"when.field = '' must name a payload key"),
])
def test_bad_actions_are_refused_naming_the_action_and_key(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Action("a", on="drift", **kwargs)


@pytest.mark.parametrize(("name", "on", "match"), [
    ("", "drift", r"action name '' must be 1–64 letters"),
    ("has space", "drift", r"action name 'has space'"),
    ("a", "", r"action 'a': on = '' must be an event name such as 'drift'"),
    ("a", 3, r"on = 3 must be an event name"),
])
def test_bad_names_and_events(name, on, match):
    with pytest.raises(ConfigError, match=match):
        Action(name, on=on, log=True)


@pytest.mark.parametrize(("rate", "expected"), [
    ("10/minute", (10.0, 60.0)), ("100/hour", (100.0, 3600.0)), ("5/second", (5.0, 1.0)),
    ("50/day", (50.0, 86400.0)), ("3 / hours", (3.0, 3600.0)), (30, (30.0, 60.0)),
    (2.5, (2.5, 60.0)), ("2/m", (2.0, 60.0)),
])
def test_rate_limits(rate, expected):
    assert parse_rate(rate) == expected


def test_actions_from_config_reads_the_action_tables(tmp_path):
    raw = [
        {"name": "hook", "on": "drift", "webhook": "https://example.com/h",
         "headers": {"X-Token": "s"}, "max_attempts": 3, "rate_limit": "10/hour"},
        {"name": "retrain", "on": "performance", "retrain": True, "when": {"below": 0.8}},
        {"name": "script", "on": "*", "command": ["sh", "notify.sh"], "cooldown": 600},
    ]
    acts = actions_from_config(raw, tmp_path)
    assert [a.name for a in acts] == ["hook", "retrain", "script"]
    assert acts[0].rate == (10.0, 3600.0) and acts[0].max_attempts == 3
    assert acts[1].when == {"below": 0.8} and acts[2].cooldown == 600.0
    assert actions_from_config([], tmp_path) == [] and actions_from_config(None) == []


@pytest.mark.parametrize(("raw", "match"), [
    ([{"name": "x", "on": "drift", "log": True, "retries": 3}],
     r"\[\[action\]\] #1 'x': unknown key 'retries'. Known keys: .*"),
    ([{"name": "x", "on": "drift", "webhok": "http://a.b"}],
     r"unknown key 'webhok'.*Did you mean 'webhook'\?"),
    ([{"on": "drift", "log": True}], r"\[\[action\]\] #1: missing name = "),
    ([{"name": "x", "log": True}], r"#1 'x': missing on = "),
    ([{"name": "x", "on": "drift"}], r"\[\[action\]\] #1: action 'x': give exactly one of"),
    ([{"name": "x", "on": "drift", "log": True}, {"name": "x", "on": "perf", "log": True}],
     r"two actions are named 'x'"),
    ([{"name": "ok", "on": "drift", "log": True}, "webhook"], r"\[\[action\]\] #2 must be a table"),
    ({"name": "x", "on": "drift", "log": True}, r"actions are \[\[action\]\] tables"),
])
def test_config_errors_name_the_table_and_key(tmp_path, raw, match):
    with pytest.raises(ConfigError, match=match) as info:
        actions_from_config(raw, tmp_path)
    assert "dawn.toml" in str(info.value)
