"""The chat commands: help, the model and its settings, and the conversation's turns."""

from __future__ import annotations

from collections.abc import Callable

from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.dialect import dialect, temperature_problem
from chatrepl.core.errors import CommandError
from chatrepl.core.params import describe_value
from chatrepl.core.reply import Outcome
from chatrepl.core.settings import (
    SHOWN_SETTINGS,
    TEMPERATURE_RANGE,
    describe,
    parse_max_tokens,
    parse_optional_text,
    parse_temperature,
)

# The keys, as ui/prompt.py binds them (prompt_toolkit's emacs keys do the rest).
KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "send the message (or run the command)"),
    ("Esc Enter, Alt-Enter", "a new line in the message (a paste keeps its own)"),
    ("Tab", "complete commands, model names, roles, parameters and paths"),
    ("↑ / ↓", "earlier and later input (history)"),
    ("Ctrl-C", "stop a reply (keeping what came), or clear the line"),
    ("Ctrl-D", "leave (on an empty line)"),
    ("Ctrl-X Ctrl-E", "edit the input in $VISUAL/$EDITOR"),
    ("Ctrl-Z", "suspend (fg comes back)"),
)


def _help(ctx: CommandContext, args: str) -> None:
    rows = []
    for command in ctx.registry:
        names = ", ".join(f"/{name}" for name in (command.name, *command.aliases))
        rows.append((f"{names} {command.args}".rstrip(), command.help))
    rows.append(("//text", "send a message that starts with /"))
    rows.append(("@path", "attach a file (or a folder's text files) to this message"))
    ctx.view.table(rows, title="Commands")
    ctx.view.table(KEYS, title="Keys")


def _model(ctx: CommandContext, args: str) -> None:
    if not args:
        ctx.view.info(f"model: {describe('model', ctx.settings.model)}")
        return
    if " " in args:
        raise CommandError("a model name has no spaces")
    ctx.set("model", args, "/model")
    known = ctx.known_models
    hint = "" if not known or args in known else " (not in /models)"
    ctx.view.info(f"model: {args}{hint}")


def _models(ctx: CommandContext, args: str) -> None:
    models = ctx.list_models()
    current = ctx.settings.model
    rows = [("*" if m == current else "", m) for m in models]
    ctx.view.table(rows or [("", "(the server listed no models)")], title="Models")


def _show_or_set(ctx: CommandContext, args: str, key: str, parse: Callable[[str], object]) -> None:
    """`/key` shows the value; `/key VALUE` validates it, then sets it (or changes nothing)."""
    if args:
        try:
            value = parse(args)
        except ValueError as exc:
            raise CommandError(f"/{key} takes {exc}, not {args!r}") from None
        ctx.set(key, value, f"/{key}")
    ctx.view.info(f"{key}: {describe(key, getattr(ctx.settings, key))}")


def _temperature(ctx: CommandContext, args: str) -> None:
    def parse(text: str) -> float:
        d = dialect(ctx.settings.dialect)
        lo, hi = d.temperature
        where = f" on {d.label}" if d.temperature != TEMPERATURE_RANGE else ""
        try:
            value = parse_temperature(text)
        except ValueError:
            raise ValueError(f"a number from {lo:g} to {hi:g}{where}") from None
        if temperature_problem(d.name, value):
            raise ValueError(f"a number from {lo:g} to {hi:g}{where}")
        return value

    _show_or_set(ctx, args, "temperature", parse)


def _max_tokens(ctx: CommandContext, args: str) -> None:
    _show_or_set(ctx, args, "max_tokens", parse_max_tokens)


def _system(ctx: CommandContext, args: str) -> None:
    _show_or_set(ctx, args, "system", parse_optional_text)


def _settings(ctx: CommandContext, args: str) -> None:
    rows = []
    for key in SHOWN_SETTINGS:
        value = getattr(ctx.settings, key)
        if key == "params" and value:
            # one row per request parameter, each with where it came from
            rows += [
                (f"params.{name}", describe_value(v), ctx.sources.get(f"params.{name}", ""))
                for name, v in value.items()
            ]
            continue
        rows.append((key, describe(key, value), ctx.sources[key]))
    ctx.view.table(rows, title="Settings")


def _clear(ctx: CommandContext, args: str) -> None:
    ctx.new_conversation()
    ctx.view.info("new conversation")


def _undo(ctx: CommandContext, args: str) -> None:
    removed = ctx.undo()
    if not removed:
        raise CommandError("nothing to undo")
    ctx.view.info(f"removed the last exchange ({removed} message{'s' * (removed > 1)})")


def _retry(ctx: CommandContext, args: str) -> Outcome:
    if args.strip():
        # /retry MODEL: the last message asked again of the session's model and MODEL,
        # side by side; the reply in the history stays until /pick keeps another
        words = args.split()
        if len(words) != 1:
            raise CommandError("usage: /retry [MODEL]")
        ctx.compare(ctx.targets(words), None)
        return Outcome()
    return ctx.retry()


def _exit(ctx: CommandContext, args: str) -> Outcome:
    return Outcome(exit=True)


COMMANDS: tuple[Command, ...] = (
    Command("help", _help, "list commands and keys", aliases=("h", "?"), completes="commands"),
    Command("model", _model, "show or switch the model", "[NAME]", ("m",), "models"),
    Command("models", _models, "list the endpoint's models (feeds completion)"),
    Command(
        "temperature",
        _temperature,
        "show or set the temperature (0-2; 0-1 on Heroku)",
        "[X]",
        ("temp", "t"),
    ),
    Command("max_tokens", _max_tokens, "show or set the reply cap", "[N|off]", ("max",)),
    Command("system", _system, "show, set or remove the system prompt", "[TEXT|off]"),
    Command("settings", _settings, "every setting and where it came from", aliases=("config",)),
    Command("clear", _clear, "start a new conversation", aliases=("new",)),
    Command("undo", _undo, "drop the last exchange"),
    Command(
        "retry",
        _retry,
        "resend the last message, replacing its reply (with MODEL: both, side by side)",
        "[MODEL]",
        ("r",),
        "specs",
    ),
)
# listed last in /help
EXIT_COMMANDS: tuple[Command, ...] = (
    Command("exit", _exit, "leave (Ctrl-D works too)", aliases=("quit", "q")),
)
