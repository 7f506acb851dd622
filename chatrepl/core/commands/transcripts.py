"""The transcript commands: /save, /load, /sessions, /export.

They act on the session's SessionStore (the port; `adapters.storage` implements it).
A bad file or path raises one line (TranscriptError or CommandError) before anything
changes, so the conversation on screen is never lost to a typo.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import time

from chatrepl.core import transcript
from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.errors import CommandError
from chatrepl.core.ports import SessionStore

FORMATS = ("chatrepl", "markdown", "openai")
SESSIONS_LISTED = 20
_FORMAT_FLAG = re.compile(r"(?:^|\s)--format(?:=|\s+)(\S+)")


def _path(args: str) -> str:
    """One path: quoted with shell rules, or else the whole argument (spaces allowed)."""
    args = args.strip()
    if args[:1] in ("'", '"'):
        try:
            parts = shlex.split(args)
        except ValueError as exc:
            raise CommandError(f"cannot read the path: {exc}") from None
        if len(parts) != 1:
            raise CommandError("give one path (quote it if it has spaces)")
        return parts[0]
    return args


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _store(ctx: CommandContext) -> SessionStore:
    if ctx.store is None:
        raise CommandError("saving is not available in this session")
    return ctx.store


def _save(ctx: CommandContext, args: str) -> None:
    store = _store(ctx)
    if not args.strip():
        if not ctx.conversation.messages:
            raise CommandError("nothing to save yet")
        ctx.view.info(f"saved to {ctx.save_now()}")
        return
    path = _path(args)
    text = transcript.dumps(ctx.conversation, transcript.settings_of(ctx.settings))
    store.write(path, text)
    ctx.view.info(f"saved {_plural(len(ctx.conversation.messages), 'message')} to {path}")


def _load(ctx: CommandContext, args: str) -> None:
    store = _store(ctx)
    if not args.strip():
        raise CommandError("/load takes a FILE or a number from /sessions")
    if args.strip().isdigit():
        number = int(args)
        listing = store.last_listing or store.sessions(limit=SESSIONS_LISTED)
        if not 1 <= number <= len(listing):
            known = f"/sessions shows {_plural(len(listing), 'session')}"
            raise CommandError(f"no session {number}: {known if listing else 'none saved'}")
        target: str = str(listing[number - 1].path)
    else:
        target = _path(args)
    loaded = store.open(target)  # raises before anything is touched
    ctx.load(loaded, source=f"transcript {target}")
    turns = loaded.conversation.turns
    model = ctx.settings.model or "the server default model"
    ctx.view.info(f"loaded {target}: {_plural(turns, 'turn')}, model {model}")


def _sessions(ctx: CommandContext, args: str) -> None:
    store = _store(ctx)
    limit = SESSIONS_LISTED
    if args.strip():
        if not args.strip().isdigit() or int(args) < 1:
            raise CommandError(f"/sessions takes a count, not {args.strip()!r}")
        limit = int(args)
    listing = store.sessions(limit=limit)
    if not listing:
        ctx.view.info(f"no saved conversations yet (in {store.folder})")
        return
    rows = []
    for number, info in enumerate(listing, 1):
        mark = "*" if info.path == store.current else ""
        date = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
        if info.problem:
            rows.append((f"{number}{mark}", date, "", "", f"(unreadable: {info.problem})"))
            continue
        rows.append(
            (
                f"{number}{mark}",
                date,
                ", ".join(info.models) or "-",
                _plural(info.turns, "turn"),
                info.first_line,
            )
        )
    ctx.view.table(rows, title="Sessions (newest first; /load N opens one)")


def _export(ctx: CommandContext, args: str) -> None:
    store = _store(ctx)
    fmt = None
    match = _FORMAT_FLAG.search(args)
    if match:
        fmt = match.group(1).lower()
        if fmt not in FORMATS:
            raise CommandError(f"--format takes {', '.join(FORMATS)}, not {fmt!r}")
        args = args[: match.start()] + args[match.end() :]
    if not args.strip():
        raise CommandError("/export takes PATH.md or PATH.json [--format openai]")
    path = _path(args)
    extension = posixpath.splitext(path)[1].lower()
    if fmt is None:
        if extension not in (".md", ".markdown", ".json"):
            raise CommandError(
                "/export writes PATH.md (Markdown) or PATH.json "
                "(add --format openai for a request body)"
            )
        fmt = "chatrepl" if extension == ".json" else "markdown"
    conversation, settings = ctx.conversation, transcript.settings_of(ctx.settings)
    if fmt == "markdown":
        text = transcript.to_markdown(conversation, settings)
    elif fmt == "openai":
        body = transcript.to_request_body(conversation, settings)
        text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    else:
        text = transcript.dumps(conversation, settings)
    store.write(path, text)
    ctx.view.info(f"exported {_plural(len(conversation.messages), 'message')} to {path} ({fmt})")


COMMANDS: tuple[Command, ...] = (
    Command(
        "save", _save, "save now, or write a JSON transcript to PATH", "[PATH]", completes="paths"
    ),
    Command(
        "load",
        _load,
        "open a transcript file or a session from /sessions",
        "FILE|N",
        completes="paths",
    ),
    Command("sessions", _sessions, "list recent saved conversations", "[COUNT]"),
    Command(
        "export",
        _export,
        "write Markdown, or JSON (--format openai: request body)",
        "PATH.md|PATH.json [--format openai]",
        completes="paths",
    ),
)
