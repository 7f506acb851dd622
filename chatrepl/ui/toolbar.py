"""Pure formatting for the prompt's surroundings: the banner and the bottom toolbar."""

from __future__ import annotations

from urllib.parse import urlsplit

from prompt_toolkit.formatted_text import FormattedText

from chatrepl import __version__
from chatrepl.core.settings import Settings, describe


def host_of(url: str | None) -> str:
    """The host (and port) of a URL, never its credentials."""
    return urlsplit(url or "").netloc.rpartition("@")[2]


WARN_STYLE = "noreverse bg:ansiyellow fg:ansiblack bold"  # the meter past 80 %

Toolbar = str | FormattedText  # plain text, or prompt_toolkit's styled fragments


def toolbar_text(
    settings: Settings,
    turns: int,
    *,
    name: str | None = None,
    attached: int = 0,
    meter: str | None = None,
    warn: bool = False,
) -> Toolbar:
    """The bottom toolbar: what the next message will be sent with, and how full the
    context window is (`meter`, right after the model, where a narrow terminal keeps
    it; amber when `warn`)."""
    host = host_of(settings.url) or "?"
    temp = (
        describe("temperature", settings.temperature)
        if settings.temperature is not None
        else "default"
    )
    parts = []
    if settings.role:
        parts.append(f"role {settings.role}")
    parts += [
        f"temperature {temp}",
        f"max_tokens {describe('max_tokens', settings.max_tokens)}",
    ]
    if settings.params:
        parts.append(f"+{len(settings.params)} params")
    parts.append(host)
    if name:
        shown = name if len(name) <= 30 else name[:29] + "…"
        parts.append(f"“{shown}”")
    parts.append(f"{turns} turns")
    if attached:
        parts.append(f"{attached} attached")
    parts.append("/help")
    model = settings.model or "(no model yet: /model NAME)"
    if meter is None:
        return " " + " · ".join([model, *parts])
    if not warn:
        return " " + " · ".join([model, meter, *parts])
    return FormattedText(
        [
            ("", f" {model} · "),
            (WARN_STYLE, f" {meter} "),
            ("", " · " + " · ".join(parts)),
        ]
    )


def banner(settings: Settings) -> str:
    """The first line the REPL prints."""
    return (
        f"chatrepl {__version__} · {settings.model or 'no model chosen yet'} at "
        f"{host_of(settings.url)} · /help for commands · Ctrl-D to quit"
    )
