"""Slash-commands: parsing, the registry, and the core commands' handlers.

A handler takes `(engine, args)`, changes the engine's state or shows something, and
raises CommandError (one line naming the valid values) for a bad argument, having
changed nothing. The registry's metadata drives /help and tab completion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from chatrepl.errors import CommandError
from chatrepl.settings import (
    describe,
    parse_max_tokens,
    parse_temperature,
)

if TYPE_CHECKING:
    from chatrepl.engine import Engine

Handler = Callable[["Engine", str], None]
Completes = Literal["models", "paths", "commands"] | None


@dataclass(frozen=True, slots=True)
class Command:
    """A slash-command and what /help and completion say about it."""

    name: str
    handler: Handler
    help: str
    args: str = ""
    aliases: tuple[str, ...] = ()
    completes: Completes = None


@dataclass(frozen=True, slots=True)
class CommandCall:
    """A parsed `/name args` line."""

    name: str
    args: str


@dataclass(frozen=True, slots=True)
class UserText:
    """A line to send to the model."""

    text: str


def parse(line: str) -> CommandCall | UserText:
    """`/name args` is a command; `//text` sends `/text`; anything else is a message."""
    if line.startswith("//"):
        return UserText(line[1:])
    if line.startswith("/") and len(line) > 1 and not line[1].isspace():
        name, _, args = line[1:].partition(" ")
        if "\n" in name:
            name, _, rest = name.partition("\n")
            args = rest + (" " + args if args else "")
        return CommandCall(name.lower(), args.strip())
    return UserText(line)


class CommandRegistry:
    """Commands by name and alias."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: list[Command] = []
        self._by_name: dict[str, Command] = {}
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> None:
        """Register a command under its name and aliases."""
        for name in (command.name, *command.aliases):
            if name in self._by_name:
                raise ValueError(f"duplicate command /{name}")
            self._by_name[name] = command
        self._commands.append(command)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._commands)

    def names(self) -> list[str]:
        """Every name and alias."""
        return list(self._by_name)

    def find(self, name: str) -> Command:
        """The command called `name`, or a CommandError suggesting the closest."""
        if name in self._by_name:
            return self._by_name[name]
        prefixed = [c for c in self._by_name if c.startswith(name)]
        if len({self._by_name[c].name for c in prefixed}) == 1:
            return self._by_name[prefixed[0]]
        from chatrepl.settings import closest

        hint = closest(name, self.names()) or (prefixed[0] if prefixed else None)
        tip = f"; did you mean /{hint}?" if hint else ""
        raise CommandError(f"unknown command /{name}{tip} (/help lists them)")


# --- core handlers ----------------------------------------------------------------


def _help(engine: Engine, args: str) -> None:
    rows = []
    for command in engine.registry:
        names = "/" + command.name + "".join(f", /{a}" for a in command.aliases)
        rows.append((f"{names} {command.args}".rstrip(), command.help))
    rows.append(("//text", "send a message that starts with /"))
    rows.append(("Esc Enter", "insert a newline (Enter sends)"))
    rows.append(("Ctrl-C / Ctrl-D", "stop a reply or clear the line / exit"))
    engine.view.table(rows, title="Commands")


def _model(engine: Engine, args: str) -> None:
    if not args:
        engine.view.info(f"model: {describe('model', engine.settings.model)}")
        return
    if " " in args:
        raise CommandError("a model name has no spaces")
    engine.set("model", args, "/model")
    hint = "" if not engine.known_models or args in engine.known_models else " (not in /models)"
    engine.view.info(f"model: {args}{hint}")


def _models(engine: Engine, args: str) -> None:
    models = engine.backend.list_models()
    engine.known_models = sorted(set(models))
    current = engine.settings.model
    rows = [("*" if m == current else "", m) for m in engine.known_models]
    engine.view.table(rows or [("", "(the server listed no models)")], title="Models")


def _show_or_set(engine: Engine, args: str, key: str, parse: Callable[[str], object]) -> None:
    """`/key` shows the value; `/key VALUE` validates it, then sets it (or changes nothing)."""
    if args:
        try:
            value = parse(args)
        except ValueError as exc:
            raise CommandError(f"/{key} takes {exc}, not {args!r}") from None
        engine.set(key, value, f"/{key}")
    engine.view.info(f"{key}: {describe(key, getattr(engine.settings, key))}")


def _temperature(engine: Engine, args: str) -> None:
    _show_or_set(engine, args, "temperature", parse_temperature)


def _max_tokens(engine: Engine, args: str) -> None:
    _show_or_set(engine, args, "max_tokens", parse_max_tokens)


def _system(engine: Engine, args: str) -> None:
    _show_or_set(engine, args, "system", lambda text: None if text.lower() == "off" else text)


def _settings(engine: Engine, args: str) -> None:
    shown = ("url", "key", "model", "temperature", "max_tokens", "system", "stream",
             "timeout", "profile", "autosave")
    rows = [(key, describe(key, getattr(engine.settings, key)), engine.sources[key])
            for key in shown]
    engine.view.table(rows, title="Settings")


def _clear(engine: Engine, args: str) -> None:
    engine.new_conversation()
    engine.view.info("new conversation")


def _undo(engine: Engine, args: str) -> None:
    removed = engine.conversation.undo()
    if not removed:
        raise CommandError("nothing to undo")
    engine.view.info(f"removed the last exchange ({removed} message{'s' * (removed > 1)})")


def _retry(engine: Engine, args: str) -> None:
    engine.retry()


def _compare(engine: Engine, args: str) -> None:
    names, dashes, question = args.partition("--")
    models = names.split()
    if not models:
        raise CommandError("usage: /compare MODEL [MODEL...] [-- QUESTION]")
    current = engine.settings.model
    if len(models) == 1 and current and current != models[0]:
        models.insert(0, current)  # `/compare other` means: mine against that one
    engine.compare(models, question.strip() or None if dashes else None)


def _exit(engine: Engine, args: str) -> None:
    engine.running = False


CORE_COMMANDS: tuple[Command, ...] = (
    Command("help", _help, "list commands and keys", aliases=("h", "?"), completes="commands"),
    Command("model", _model, "show or switch the model", "[NAME]", ("m",), "models"),
    Command("models", _models, "list the endpoint's models (feeds completion)"),
    Command("temperature", _temperature, "show or set the temperature (0-2)", "[X]",
            ("temp", "t")),
    Command("max_tokens", _max_tokens, "show or set the reply cap", "[N|off]", ("max",)),
    Command("system", _system, "show, set or remove the system prompt", "[TEXT|off]"),
    Command("settings", _settings, "every setting and where it came from", aliases=("config",)),
    Command("clear", _clear, "start a new conversation", aliases=("new",)),
    Command("undo", _undo, "drop the last exchange"),
    Command("retry", _retry, "resend the last message, replacing its reply", aliases=("r",)),
    Command("compare", _compare, "ask several models the same thing, side by side",
            "MODEL... [-- QUESTION]", ("cmp",), "models"),
    Command("exit", _exit, "leave (Ctrl-D works too)", aliases=("q",)),
    Command("quit", _exit, "leave"),
)
