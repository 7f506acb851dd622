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


def plural(count: int, word: str) -> str:
    """`1 turn`, `2 turns`, `0 turns`."""
    return f"{count} {word}{'s' * (count != 1)}"


def shortened(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word with `…` when it must be."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "…"


def _width(text: str) -> int:
    from prompt_toolkit.utils import get_cwidth  # wide characters take two cells

    return get_cwidth(text)


# What goes first when the toolbar is too wide for the terminal: the higher, the sooner.
# The model is never dropped; how full the window is, what will be attached and how many
# turns there are matter most after it.
_DROP_ORDER = {
    "meter": 1,
    "comparing": 2,  # every message goes to several models: never a surprise
    "attached": 3,
    "turns": 4,
    "help": 5,
    "name": 6,
    "role": 7,
    "host": 8,
    "params": 9,
    "temperature": 10,
    "max_tokens": 11,
}
# before the turn count or /help would go, the meter shrinks to its percentage
_SHORT_METER_FIRST = _DROP_ORDER["help"]
SEPARATOR = " · "


def toolbar_text(
    settings: Settings,
    turns: int,
    *,
    name: str | None = None,
    attached: int = 0,
    meter: str | None = None,
    warn: bool = False,
    width: int | None = None,
    comparing: int = 0,
) -> Toolbar:
    """The bottom toolbar: what the next message will be sent with, and how full the
    context window is (`meter`, right after the model; amber when `warn`); with
    `comparing`, that /compare on sends every message to that many models.

    Given the terminal's `width`, the parts that matter least are left out until the
    rest fits, whole: a terminal would cut the line at its edge, mid-word.
    """
    host = host_of(settings.url) or "?"
    temp = (
        describe("temperature", settings.temperature)
        if settings.temperature is not None
        else "default"
    )
    parts: list[tuple[str, str]] = []  # (kind, text), in the order they are shown
    if meter is not None:
        parts.append(("meter", meter))
    if comparing:
        parts.append(("comparing", f"compare on ({comparing})"))
    if settings.role:
        parts.append(("role", f"role {settings.role}"))
    parts += [
        ("temperature", f"temperature {temp}"),
        ("max_tokens", f"max_tokens {describe('max_tokens', settings.max_tokens)}"),
    ]
    if settings.params:
        parts.append(("params", f"+{plural(len(settings.params), 'param')}"))
    parts.append(("host", host))
    if name:
        parts.append(("name", f"“{shortened(name, 30)}”"))
    parts.append(("turns", plural(turns, "turn")))
    if attached:
        parts.append(("attached", f"{attached} attached"))
    parts.append(("help", "/help"))
    model = settings.model or "(no model yet: /model NAME)"
    if width is not None:
        budget = max(1, width - 1)  # the last column is left alone: some terminals wrap
        while parts and _width(_render(model, parts, warn=warn)) > budget:
            victim = max(parts, key=lambda part: _DROP_ORDER[part[0]])
            if _DROP_ORDER[victim[0]] <= _SHORT_METER_FIRST and parts[0][0] == "meter":
                meter_text = parts[0][1]
                short = meter_text.rpartition(SEPARATOR)[2]  # `12.4k / 200k · 6 %`: `6 %`
                if short != meter_text:
                    parts[0] = ("meter", short)
                    continue
            parts.remove(victim)
        if _width(" " + model) > budget:
            model = shortened(model, max(2, budget - 1))
    return _styled(model, parts, warn=warn)


def _render(model: str, parts: list[tuple[str, str]], *, warn: bool) -> str:
    """The toolbar as the text it takes up on screen (the warning pads the meter)."""
    shown = [f" {text} " if kind == "meter" and warn else text for kind, text in parts]
    return " " + SEPARATOR.join([model, *shown])


def _styled(model: str, parts: list[tuple[str, str]], *, warn: bool) -> Toolbar:
    if not warn or not parts or parts[0][0] != "meter":
        return _render(model, parts, warn=False)
    meter, rest = parts[0][1], [text for _, text in parts[1:]]
    fragments = [("", f" {model} · "), (WARN_STYLE, f" {meter} ")]
    if rest:
        fragments.append(("", SEPARATOR + SEPARATOR.join(rest)))
    return FormattedText(fragments)


def banner(settings: Settings, *, width: int | None = None) -> str:
    """The first line the REPL prints. On a narrow terminal its hints go first, and if it
    is still too wide it breaks between its parts, never inside one."""
    parts = [
        f"chatrepl {__version__}",
        f"{settings.model or 'no model chosen yet'} at {host_of(settings.url)}",
        "/help for commands",
        "Ctrl-D to quit",
    ]
    if width is None:
        return SEPARATOR.join(parts)
    while len(parts) > 2 and _width(SEPARATOR.join(parts)) >= width:
        parts.pop()
    lines = [parts[0]]
    for part in parts[1:]:
        joined = lines[-1] + SEPARATOR + part
        if _width(joined) < width:
            lines[-1] = joined
        else:
            lines.append(part)
    return "\n".join(lines)
