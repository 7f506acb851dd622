"""Slash-command parsing and the registry (the handlers are driven in test_engine)."""

from __future__ import annotations

import pytest

from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.commands.registry import (
    Command,
    CommandCall,
    CommandRegistry,
    UserText,
    parse,
)
from chatrepl.core.errors import CommandError


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("/model x", CommandCall("model", "x")),
        ("/model   spaced-out  ", CommandCall("model", "spaced-out")),
        ("/system be brief and kind", CommandCall("system", "be brief and kind")),
        ("/MODEL", CommandCall("model", "")),
        ("/Model GPT-4o", CommandCall("model", "GPT-4o")),  # only the name is lowered
        ("/help", CommandCall("help", "")),
        ("/?", CommandCall("?", "")),
        ("/system line one\nline two", CommandCall("system", "line one\nline two")),
        ("/system\nmultiline", CommandCall("system", "multiline")),
        ("//text", UserText("/text")),
        ("//model x", UserText("/model x")),
        ("///", UserText("//")),
        ("/ leading space", UserText("/ leading space")),
        ("/\tx", UserText("/\tx")),
        ("/", UserText("/")),
        ("plain text", UserText("plain text")),
        ("  /model x", UserText("  /model x")),  # not at the start: a message
        ("what is /usr/bin?", UserText("what is /usr/bin?")),
        ("", UserText("")),
    ],
)
def test_parse(line, parsed):
    assert parse(line) == parsed


def _noop(engine, args):
    return None


def _registry() -> CommandRegistry:
    return CommandRegistry(builtin_commands())


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("model", "model"),
        ("models", "models"),  # exact beats being a prefix of nothing else
        ("m", "model"),  # alias
        ("temp", "temperature"),
        ("t", "temperature"),
        ("h", "help"),
        ("?", "help"),
        ("q", "exit"),
        ("config", "settings"),
        ("new", "clear"),
        ("r", "retry"),
        ("max", "max_tokens"),
        ("tempe", "temperature"),  # unique prefix
        ("max_t", "max_tokens"),
        ("sett", "settings"),
        ("syst", "system"),
        ("und", "undo"),
        ("qu", "exit"),  # /quit is /exit's alias
        ("ret", "retry"),
    ],
)
def test_find_exact_alias_or_unique_prefix(name, found):
    assert _registry().find(name).name == found


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("modle", "/model"),
        ("temprature", "/temperature"),
        ("setings", "/settings"),
        ("undoo", "/undo"),
        ("exti", "/exit"),
    ],
)
def test_unknown_command_suggests_closest(name, hint):
    with pytest.raises(CommandError) as info:
        _registry().find(name)
    message = str(info.value)
    assert f"unknown command /{name}" in message
    assert f"did you mean {hint}?" in message
    assert "/help" in message


@pytest.mark.parametrize("name", ["s", "mo", "c"])
def test_ambiguous_prefix_is_not_guessed_silently(name):
    # /s could be /settings or /system: refusing is safer than picking one
    with pytest.raises(CommandError) as info:
        _registry().find(name)
    assert f"unknown command /{name}" in str(info.value)


def test_unknown_command_with_nothing_close():
    with pytest.raises(CommandError) as info:
        _registry().find("zzzzzzzz")
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    "second",
    [
        Command("model", _noop, "again"),
        Command("other", _noop, "alias clashes with a name", aliases=("model",)),
        Command("other", _noop, "alias clashes with an alias", aliases=("m",)),
        Command("other", _noop, "clashes with itself", aliases=("other",)),
    ],
)
def test_duplicate_registration_rejected(second):
    registry = CommandRegistry([Command("model", _noop, "switch", aliases=("m",))])
    with pytest.raises(ValueError, match="duplicate command"):
        registry.add(second)
    assert [c.name for c in registry] == ["model"]


def test_core_commands_register_without_clashes():
    registry = _registry()
    assert [c.name for c in registry] == [c.name for c in builtin_commands()]
    names = registry.names()
    assert len(names) == len(set(names))
    for command in builtin_commands():
        assert command.help
        for name in (command.name, *command.aliases):
            assert name in names
            assert name == name.lower()  # parse lowers names, so they must be lower


def test_registry_add_extends_find_and_iteration():
    registry = _registry()
    extra = Command("stash", _noop, "stash the conversation", "[PATH]", ("w",), "paths")
    registry.add(extra)
    assert registry.find("stash") is extra
    assert registry.find("w") is extra
    assert list(registry)[-1] is extra


def test_registries_are_independent():
    one, two = _registry(), _registry()
    one.add(Command("extra", _noop, "x"))
    with pytest.raises(CommandError):
        two.find("extra")
