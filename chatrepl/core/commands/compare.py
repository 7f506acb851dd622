"""/compare: the same question to several models, answers side by side."""

from __future__ import annotations

from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.comparison import Target
from chatrepl.core.errors import CommandError


def _compare(ctx: CommandContext, args: str) -> None:
    names, dashes, question = args.partition("--")
    models = names.split()
    if not models:
        raise CommandError("usage: /compare MODEL [MODEL...] [-- QUESTION]")
    current = ctx.settings.model
    if len(models) == 1 and current and current != models[0]:
        models.insert(0, current)  # `/compare other` means: mine against that one
    # plain model names for now: the model-spec parser (core/specs.py) replaces this
    targets = [Target(model, model) for model in models]
    ctx.compare(targets, question.strip() or None if dashes else None)


COMMANDS: tuple[Command, ...] = (
    Command(
        "compare",
        _compare,
        "ask several models the same thing, side by side",
        "MODEL... [-- QUESTION]",
        ("cmp",),
        "models",
    ),
)
