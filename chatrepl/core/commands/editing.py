"""Changing what was said: /edit, /branches, /branch, /continue, /editor.

`/edit` and `/editor` put text into the prompt, which the core cannot touch: they
return it as `Outcome.prefill` and the REPL offers it as the next prompt's text.
"""

from __future__ import annotations

from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.errors import CommandError
from chatrepl.core.reply import Outcome


def _number(args: str, usage: str) -> int | None:
    words = args.split()
    if not words:
        return None
    if len(words) != 1 or not words[0].isdigit() or int(words[0]) < 1:
        raise CommandError(f"usage: {usage}")
    return int(words[0])


def _edit(ctx: CommandContext, args: str) -> Outcome:
    return ctx.begin_edit(_number(args, "/edit [N] (N counts your messages, 1 is the first)"))


def _branches(ctx: CommandContext, args: str) -> None:
    rows = ctx.branches()
    if not rows:
        ctx.view.info("no earlier branches: /edit N changes a message and keeps the old one here")
        return
    table = [
        (
            f"{row.number}{'*' if row.current else ''}",
            f"turn {row.turn}",
            f"version {row.version} of {row.versions}",
            f"{row.messages} message{'s' * (row.messages != 1)}",
            row.first_line,
        )
        for row in rows
    ]
    ctx.view.table(table, title="Branches (* is the current one; /branch K switches)")


def _branch(ctx: CommandContext, args: str) -> None:
    number = _number(args, "/branch K (/branches lists them)")
    if number is None:
        raise CommandError("usage: /branch K (/branches lists them)")
    row = ctx.switch_branch(number)
    ctx.view.info(
        f"switched to branch {row.number}: turn {row.turn}, version {row.version} of "
        f"{row.versions} ({ctx.conversation.turns} turns now)"
    )


def _continue(ctx: CommandContext, args: str) -> Outcome:
    if args.strip():
        raise CommandError("/continue takes nothing: it continues the last reply")
    return ctx.continue_reply()


def _editor(ctx: CommandContext, args: str) -> Outcome:
    text = ctx.edit_text(args)
    if not text.strip():
        ctx.view.info("(the editor left nothing to send)")
        return Outcome()
    return Outcome(prefill=text)


COMMANDS: tuple[Command, ...] = (
    Command("edit", _edit, "edit your message N (default: the last) and ask again", "[N]"),
    Command("branches", _branches, "list the earlier versions of edited turns"),
    Command("branch", _branch, "switch to branch K from /branches", "K"),
    Command("continue", _continue, "continue a reply cut short (max_tokens, Ctrl-C)"),
    Command("editor", _editor, "write a message in $VISUAL/$EDITOR (also Ctrl-X Ctrl-E)", "[TEXT]"),
)
