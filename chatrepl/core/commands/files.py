"""Files in the next message: /attach, /attachments, /detach (and `@path` in a message).

Attaching only stages: the files join the next message the user sends, so an attach
never sends an empty prompt by itself. A bad path is one line and nothing is staged.
"""

from __future__ import annotations

import shlex

from chatrepl.core.attachments import Staged, human_size, language_of
from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.errors import CommandError


def _paths(args: str) -> list[str]:
    try:
        paths = shlex.split(args)
    except ValueError as exc:
        raise CommandError(f"cannot read the paths: {exc}") from None
    if not paths:
        raise CommandError("usage: /attach PATH... (quote a path with spaces)")
    return paths


def _kind(staged: Staged) -> str:
    attachment = staged.attachment
    if attachment.is_image:
        return attachment.media_type.removeprefix("image/").upper() + " image"
    return language_of(attachment.path) or "text"


def _describe(staged: Staged) -> str:
    size = human_size(staged.attachment.size)
    return f"{staged.attachment.path} ({size}, {_kind(staged)}, {_tokens(staged.tokens)})"


def _tokens(n: int) -> str:
    return f"~{n:,} token{'s' * (n != 1)}"


def _attach(ctx: CommandContext, args: str) -> None:
    attached = ctx.attach(_paths(args))
    for staged in attached.staged:
        ctx.view.info(f"attached {_describe(staged)}")
    for skipped in attached.skipped:
        ctx.view.info(f"skipped {skipped}")
    if not attached.staged:
        ctx.view.info("nothing attached: no text file there fits")
        return
    waiting = len(ctx.pending)
    ctx.view.info(f"{waiting} file{'s' * (waiting != 1)} will join your next message")


def _attachments(ctx: CommandContext, args: str) -> None:
    pending = ctx.pending
    if not pending:
        ctx.view.info("nothing attached (/attach PATH, or @path in a message)")
        return
    rows = [
        (s.attachment.path, human_size(s.attachment.size), _kind(s), _tokens(s.tokens))
        for s in pending
    ]
    size = sum(s.attachment.size for s in pending)
    tokens = sum(s.tokens for s in pending)
    rows.append(("total", human_size(size), f"{len(pending)} files", _tokens(tokens)))
    ctx.view.table(rows, title="Attached to your next message (/detach drops them)")


def _detach(ctx: CommandContext, args: str) -> None:
    count = ctx.detach()
    if not count:
        raise CommandError("nothing to detach")
    ctx.view.info(f"detached {count} file{'s' * (count != 1)}")


COMMANDS: tuple[Command, ...] = (
    Command(
        "attach",
        _attach,
        "add files (text, a folder's text files, images) to the next message",
        "PATH...",
        completes="files",
    ),
    Command("attachments", _attachments, "what will join the next message, sizes and tokens"),
    Command("detach", _detach, "drop the files waiting for the next message"),
)
