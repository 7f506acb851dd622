"""/compare and /pick: several models (specs: `profile:model@setting=value`, `@set`) on
the same question, side by side, and keeping the best reply."""

from __future__ import annotations

import re

from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.errors import CommandError

_DASHES = re.compile(r"(?:^|\s)--(?:\s|$)")  # the `--` word before the question
USAGE = "usage: /compare [--blind] SPEC... [-- QUESTION] | /compare on SPEC... | /compare off"


def _compare(ctx: CommandContext, args: str) -> None:
    split = _DASHES.search(args)
    dashes = split is not None
    names = args[: split.start()] if split else args
    question = args[split.end() :] if split else ""
    words = names.split()
    blind = "--blind" in words
    words = [w for w in words if w != "--blind"]
    if words[:1] == ["off"]:
        if len(words) > 1 or dashes:
            raise CommandError("/compare off takes nothing more: /compare off")
        ctx.compare_mode(None)
        return
    if words[:1] == ["on"]:
        if "off" in words[1:]:
            raise CommandError("/compare on takes models; /compare off turns comparisons off")
        if dashes:
            raise CommandError("/compare on takes models, not a question: /compare on M1 M2")
        if len(words) == 1:
            raise CommandError("usage: /compare on SPEC... (then /compare off)")
        ctx.compare_mode(words[1:], blind=blind)
        return
    if not words:
        if ctx.compare_specs is not None:
            ctx.view.info(f"comparing every message on {' '.join(ctx.compare_specs)}")
            return
        raise CommandError(USAGE)
    targets = ctx.targets(words)
    if dashes and not question.strip():
        raise CommandError("nothing after --: /compare MODEL... -- QUESTION")
    ctx.compare(targets, question.strip() if dashes else None, blind=blind)


def _pick(ctx: CommandContext, args: str) -> None:
    words = args.split()
    keep = "--keep-model" in words
    words = [w for w in words if w != "--keep-model"]
    if len(words) != 1:
        raise CommandError("usage: /pick N|LETTER|MODEL [--keep-model]")
    ctx.pick(words[0], keep_model=keep)


COMMANDS: tuple[Command, ...] = (
    Command(
        "compare",
        _compare,
        "ask several models the same thing, side by side (on/off: every message)",
        "[--blind] SPEC... [-- QUESTION] | on SPEC... | off",
        ("cmp",),
        "specs",
    ),
    Command(
        "pick",
        _pick,
        "keep that comparison reply and go on with its model",
        "N|LETTER|MODEL [--keep-model]",
    ),
)
