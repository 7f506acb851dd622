"""Pure formatting for the prompt's surroundings: the banner and the bottom toolbar."""

from __future__ import annotations

from urllib.parse import urlsplit

from chatrepl import __version__
from chatrepl.core.settings import Settings, describe


def host_of(url: str | None) -> str:
    """The host (and port) of a URL, never its credentials."""
    return urlsplit(url or "").netloc.rpartition("@")[2]


def toolbar_text(settings: Settings, turns: int) -> str:
    """The bottom toolbar: what the next message will be sent with."""
    host = host_of(settings.url) or "?"
    temp = (
        describe("temperature", settings.temperature)
        if settings.temperature is not None
        else "default"
    )
    return (
        f" {settings.model or '(server default model)'} · temperature {temp} · "
        f"max_tokens {describe('max_tokens', settings.max_tokens)} · {host} · "
        f"{turns} turns · /help"
    )


def banner(settings: Settings) -> str:
    """The first line the REPL prints."""
    return (
        f"chatrepl {__version__} · {settings.model or 'server default model'} at "
        f"{host_of(settings.url)} · /help for commands · Ctrl-D to quit"
    )
