"""Every built-in command family, in the order /help lists them."""

from __future__ import annotations

from chatrepl.core.commands import (
    chat,
    clipboard,
    compare,
    context,
    editing,
    endpoint,
    files,
    params,
    search,
    transcripts,
    votes,
)
from chatrepl.core.commands.registry import Command


def builtin_commands() -> list[Command]:
    """The commands a session starts with."""
    return [
        *chat.COMMANDS,
        *endpoint.COMMANDS,
        *params.COMMANDS,
        *editing.COMMANDS,
        *files.COMMANDS,
        *clipboard.COMMANDS,
        *compare.COMMANDS,
        *votes.COMMANDS,
        *context.COMMANDS,
        *transcripts.COMMANDS,
        *search.COMMANDS,
        *chat.EXIT_COMMANDS,
    ]
