"""The transcript commands: /save, /load, /sessions (and /sessions rm), /export, /fork,
/name.

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
from chatrepl.core.recap import recap
from chatrepl.core.reply import Confirm, Outcome
from chatrepl.core.transcript import SessionInfo

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
        was_off = not ctx.autosaving
        path = ctx.save_now()
        later = "; autosave is on now: every later turn is saved there too" if was_off else ""
        ctx.view.info(f"saved to {path}{later}")
        return
    path = _path(args)
    ctx.keep_images()  # the file names images by sha256: their bytes must be kept
    text = transcript.dumps(ctx.conversation, transcript.settings_of(ctx.settings))
    store.write(path, text)
    ctx.view.info(f"saved {_plural(len(ctx.conversation.messages), 'message')} to {path}")


def _load(ctx: CommandContext, args: str) -> None:
    store = _store(ctx)
    if not args.strip():
        raise CommandError("/load takes a FILE or a number from /sessions")
    turn = None
    if args.strip().isdigit():
        number = int(args)
        listing = store.last_listing or store.sessions(limit=SESSIONS_LISTED)
        if not 1 <= number <= len(listing):
            known = f"/sessions shows {_plural(len(listing), 'session')}"
            raise CommandError(f"no session {number}: {known if listing else 'none saved'}")
        target: str = str(listing[number - 1].path)
        turn = listing[number - 1].turn  # a /search hit opens at its turn
    else:
        target = _path(args)
    loaded = store.open(target)  # raises before anything is touched
    ctx.load(loaded, source=f"transcript {target}")
    # where the conversation stands, in one line: its title, turns and last exchange
    ctx.view.info(recap(loaded.conversation, verb="loaded", width=ctx.screen_width()))
    if not ctx.settings.model:
        ctx.view.info("no model chosen yet: /model NAME")
    if turn is not None:
        ctx.show_turn(turn)


def _listed(store: SessionStore, number: int) -> SessionInfo:
    listing = store.last_listing or store.sessions(limit=SESSIONS_LISTED)
    if not 1 <= number <= len(listing):
        known = f"/sessions shows {_plural(len(listing), 'session')}"
        raise CommandError(f"no session {number}: {known if listing else 'none saved'}")
    return listing[number - 1]


def _title(info: SessionInfo) -> str:
    title = f"“{info.name}” {info.first_line}".strip() if info.name else info.first_line
    return f"(one-shot) {title}" if info.one_shot else title


def _remove(ctx: CommandContext, args: str) -> Outcome | None:
    store = _store(ctx)
    words = args.split()
    sure = "--yes" in words
    words = [w for w in words if w != "--yes"]
    if len(words) != 1 or not words[0].isdigit():
        raise CommandError("usage: /sessions rm N [--yes] (N from /sessions)")
    number = int(words[0])
    info = _listed(store, number)
    if info.turn is not None:
        raise CommandError("/sessions rm N takes N from /sessions (the last list was a search)")
    if not sure:
        date = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
        what = _title(info) or info.path.name
        return Outcome(
            confirm=Confirm(
                f"delete session {number} ({date}, {what})?", f"/sessions rm {number} --yes"
            )
        )
    ctx.remove_session(info.path)
    # the numbers of the listing no longer hold: /load N must not open a neighbour
    every = any(listed.one_shot for listed in store.last_listing)
    store.sessions(limit=max(len(store.last_listing), 1), one_shots=every)
    ctx.view.info(f"deleted session {number} ({info.path.name}); /sessions numbers them afresh")
    return None


def _sessions(ctx: CommandContext, args: str) -> Outcome | None:
    store = _store(ctx)
    limit = SESSIONS_LISTED
    if args.strip().split(" ", 1)[0].lower() in ("rm", "remove", "delete"):
        return _remove(ctx, args.strip().partition(" ")[2])
    words = args.split()
    every = "--all" in words  # one-shot runs too
    words = [w for w in words if w != "--all"]
    if words:
        if len(words) > 1 or not words[0].isdigit() or int(words[0]) < 1:
            raise CommandError(f"/sessions takes a count or --all, not {' '.join(words)!r}")
        limit = int(words[0])
    listing = store.sessions(limit=limit, one_shots=every)
    if not listing:
        others = "" if every else "; /sessions --all adds one-shot runs"
        ctx.view.info(f"no saved conversations yet (in {store.folder}){others}")
        return None
    numbers = {info.path.name: n for n, info in enumerate(listing, 1)}
    rows = []
    for number, info in enumerate(listing, 1):
        mark = "*" if info.path == store.current else ""
        date = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
        if info.problem:
            rows.append((f"{number}{mark}", date, "", "", f"(unreadable: {info.problem})"))
            continue
        title = _title(info)
        if info.parent:
            parent = numbers.get(info.parent)
            title += f" (fork of {parent if parent else info.parent})"
        rows.append(
            (
                f"{number}{mark}",
                date,
                ", ".join(info.models) or "-",
                _plural(info.turns, "turn"),
                title,
            )
        )
    title = "Sessions (newest first; /load N opens one, /sessions rm N deletes"
    title += ")" if every else "; --all adds one-shot runs)"
    ctx.view.table(rows, title=title)
    return None


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
        ctx.keep_images()
        text = transcript.to_markdown(conversation, settings)
    elif fmt == "openai":
        body = transcript.to_request_body(conversation, settings, image_url=ctx.image_url)
        text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    else:
        ctx.keep_images()
        text = transcript.dumps(conversation, settings)
    store.write(path, text)
    ctx.view.info(f"exported {_plural(len(conversation.messages), 'message')} to {path} ({fmt})")


def _fork(ctx: CommandContext, args: str) -> None:
    words = args.split(" ", 1)
    turn = None
    if words[0].isdigit():
        turn = int(words[0])
        args = words[1] if len(words) > 1 else ""
    name = args.strip() or None
    path = ctx.fork(turn, name)
    turns = ctx.conversation.turns
    where = (
        f"to {path.name}" if path is not None else "(not saved: autosave is off; /save keeps it)"
    )
    called = f" “{name}”" if name else ""
    ctx.view.info(f"forked{called}: {_plural(turns, 'turn')} {where}; the original is unchanged")


def _name(ctx: CommandContext, args: str) -> None:
    name = args.strip()
    if not name:
        current = ctx.conversation.name
        ctx.view.info(f"name: {current}" if current else "this session has no name (/name TEXT)")
        return
    if name.lower() == "off":
        ctx.rename(None)
        ctx.view.info("name: removed")
        return
    name = " ".join(name.split())  # one line: it heads /sessions and the toolbar
    ctx.rename(name)
    ctx.view.info(f"name: {name}")


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
    Command(
        "sessions",
        _sessions,
        "list recent saved conversations (--all: one-shot runs too), or delete one",
        "[COUNT] [--all] | rm N",
    ),
    Command(
        "fork", _fork, "go on in a new session file (from turn N); the original stays", "[N] [NAME]"
    ),
    Command("name", _name, "name this session (shown in /sessions and the toolbar)", "[TEXT|off]"),
    Command(
        "export",
        _export,
        "write Markdown, or JSON (--format openai: request body)",
        "PATH.md|PATH.json [--format openai]",
        completes="paths",
    ),
)
