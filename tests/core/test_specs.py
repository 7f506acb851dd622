"""Model specs: `profile:model@setting=value,…` and `@set`, as comparison Targets."""

from __future__ import annotations

import pytest

from chatrepl.core.comparison import Target
from chatrepl.core.errors import ConfigError
from chatrepl.core.settings import from_toml, parse_sets
from chatrepl.core.specs import (
    SpecError,
    check_sets,
    expand,
    is_current,
    parse_spec,
    split_specs,
)

PROFILES = ("heroku", "work")


@pytest.mark.parametrize(
    ("spec", "model", "profile", "overrides"),
    [
        ("gpt-4o", "gpt-4o", None, {}),
        ("heroku:claude-4-5-sonnet", "claude-4-5-sonnet", "heroku", {}),
        ("local:smollm2", "smollm2", "local", {}),  # the built-in profile
        ("local:", "", "local", {}),  # the local server's own model
        ("llama3:8b", "llama3:8b", None, {}),  # not a profile: part of the model's name
        ("m@temperature=0.2", "m", None, {"temperature": 0.2}),
        ("m@temperature=0.2,max_tokens=50", "m", None, {"temperature": 0.2, "max_tokens": 50}),
        ("m@max_tokens=off", "m", None, {"max_tokens": None}),
        ("work:m@top_p=0.5,seed=7", "m", "work", {"top_p": 0.5, "seed": 7}),
        ('m@stop=["a","b"],temperature=0', "m", None, {"stop": ["a", "b"], "temperature": 0.0}),
        ("m@think=high", "m", None, {"think": "high"}),
        ("m@system=Be_brief", "m", None, {"system": "Be_brief"}),
        ("m@user=alice", "m", None, {"user": "alice"}),  # any parameter passes through
    ],
)
def test_a_spec_becomes_a_target(spec: str, model: str, profile: str | None, overrides) -> None:
    assert parse_spec(spec, profiles=PROFILES) == Target(spec, model, profile, overrides)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("m@temperature=3", "m@temperature=3: temperature must be a number from 0 to 2, not '3'"),
        ("m@temperature=hot", "temperature must be a number from 0 to 2, not 'hot'"),
        ("m@max_tokens=-5", "max_tokens must be a positive whole number or 'off', not '-5'"),
        (
            "m@temprature=0.2",
            "m@temprature=0.2: unknown setting 'temprature'; did you mean temperature?",
        ),
        ("m@url=http://x", "url is not a per-model setting"),
        ("m@model=other", "model is not a per-model setting"),
        ("m@top_p=7", "m@top_p=7: top_p takes a number from 0 to 1, not 7"),
        ("m@stop=[1]", "stop takes a stop string or a list of up to 4"),
        ("m@", "m@: nothing after '@'"),
        ("m@temperature", "'temperature' is not NAME=VALUE"),
        ("m@temperature=0.1,temperature=0.2", "temperature is given twice"),
        ("@temperature=0.1", "no model before '@'"),
        ("", "is not a model spec"),
    ],
)
def test_a_bad_spec_is_one_clear_line(spec: str, problem: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(spec, profiles=PROFILES)
    message = str(caught.value)
    assert problem in message and "\n" not in message


def test_the_same_model_twice_at_two_temperatures_is_two_targets() -> None:
    cold, warm = expand(["m@temperature=0", "m@temperature=1"])
    assert cold.model == warm.model == "m" and cold != warm
    assert (cold.header, warm.header) == ("m · temperature=0.0", "m · temperature=1.0")


SETS = {"fast": ("a", "heroku:b@temperature=0"), "one": ("c",)}


def test_a_set_name_expands_in_place() -> None:
    targets = expand(["x", "@fast", "y"], profiles=PROFILES, sets=SETS)
    assert [t.spec for t in targets] == ["x", "a", "heroku:b@temperature=0", "y"]
    assert targets[2].profile == "heroku"


@pytest.mark.parametrize(
    ("word", "sets", "problem"),
    [
        ("@fats", SETS, "unknown set @fats (did you mean @fast?)"),
        ("@zzz", SETS, "unknown set @zzz (known: @fast, @one)"),
        (
            "@zzz",
            {},
            "unknown set @zzz (the config file defines none: "
            "add [compare.sets.NAME] models = [...])",
        ),
    ],
)
def test_an_unknown_set_names_the_known_ones(word: str, sets, problem: str) -> None:
    with pytest.raises(SpecError) as caught:
        expand([word], sets=sets)
    assert str(caught.value) == problem


def test_sets_come_from_the_config_file() -> None:
    config = from_toml(
        '[profiles.work]\nurl = "https://w.example"\n'
        '[compare.sets.rivals]\nmodels = ["gpt-4o@temperature=0.2", "work:claude"]\n',
        path="c.toml",
    )
    assert config.compare_sets == {"rivals": ("gpt-4o@temperature=0.2", "work:claude")}


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("[compare.sets.x]\nmodels = []\n", "[compare.sets.x] models must be a non-empty list"),
        ("[compare.sets.x]\nmodel = ['a']\n", "[compare.sets.x] must hold models = ["),
        ("[compare]\nset = 1\n", "unknown key 'compare.set'"),
        ("[compare.sets.x]\nmodels = ['a@temperature=9']\n", "[compare.sets.x] a@temperature=9:"),
    ],
)
def test_a_bad_set_in_the_config_is_one_line_naming_the_file(toml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_sets(from_toml(toml, path="c.toml"))
    assert str(caught.value).startswith("c.toml: ") and problem in str(caught.value)


def test_parse_sets_refuses_what_is_not_a_table() -> None:
    with pytest.raises(ValueError, match="must be a table"):
        parse_sets(["a"])


def test_only_the_plain_current_model_is_the_sessions_own() -> None:
    assert is_current(Target("m", "m"), "m")
    assert not is_current(Target("m@temperature=0", "m", None, {"temperature": 0.0}), "m")
    assert not is_current(Target("work:m", "m", "work"), "m")


@pytest.mark.parametrize(
    ("text", "specs"),
    [
        ("m1,m2", ["m1", "m2"]),
        (" m1 , m2 ,", ["m1", "m2"]),
        ("a,b@temperature=0.2,max_tokens=5,c", ["a", "b@temperature=0.2,max_tokens=5", "c"]),
        ('x@stop=["a","b"],y', ['x@stop=["a","b"]', "y"]),
        ("work:m@top_p=0.5,@fast", ["work:m@top_p=0.5", "@fast"]),
        (",", []),
    ],
)
def test_a_comma_list_of_specs_splits_between_specs_only(text: str, specs: list[str]) -> None:
    assert split_specs(text) == specs
