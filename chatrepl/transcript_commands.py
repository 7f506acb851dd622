"""The transcript slash-commands: /save, /load, /sessions, /export.

They act on a TranscriptStore (store.py), bound when `store.attach` registers them. A
bad file or path raises one line (TranscriptError or CommandError) before anything
changes, so the conversation on screen is never lost to a typo.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from typing import TYPE_CHECKING

from chatrepl import transcript
from chatrepl.commands import Command
from chatrepl.errors import CommandError, TranscriptError
from chatrepl.store import write_file

if TYPE_CHECKING:
    from chatrepl.engine import Engine
    from chatrepl.store import TranscriptStore

FORMATS = ("chatrepl", "markdown", "openai")
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


def make_commands(store: TranscriptStore) -> list[Command]:
    """The commands, bound to `store`."""

    def save(engine: Engine, args: str) -> None:
        if not args.strip():
            if not engine.conversation.messages:
                raise CommandError("nothing to save yet")
            engine.view.info(f"saved to {store.save_now(engine)}")
            return
        path = _path(args)
        text = transcript.dumps(engine.conversation, transcript.settings_of(engine.settings))
        write_file(path, text)
        engine.view.info(f"saved {_plural(len(engine.conversation.messages), 'message')} "
                         f"to {path}")

    def load(engine: Engine, args: str) -> None:
        if not args.strip():
            raise CommandError("/load takes a FILE or a number from /sessions")
        if args.strip().isdigit():
            number = int(args)
            listing = store.last_listing or store.sessions()
            if not 1 <= number <= len(listing):
                known = f"/sessions shows {_plural(len(listing), 'session')}"
                raise CommandError(f"no session {number}: {known if listing else 'none saved'}")
            target: str = str(listing[number - 1].path)
        else:
            target = _path(args)
        loaded = store.open(engine, target)
        turns = loaded.conversation.turns
        model = engine.settings.model or "the server default model"
        engine.view.info(f"loaded {target}: {_plural(turns, 'turn')}, model {model}")

    def sessions(engine: Engine, args: str) -> None:
        limit = 20
        if args.strip():
            if not args.strip().isdigit() or int(args) < 1:
                raise CommandError(f"/sessions takes a count, not {args.strip()!r}")
            limit = int(args)
        listing = store.sessions(limit=limit)
        if not listing:
            engine.view.info(f"no saved conversations yet (in {store.folder})")
            return
        rows = []
        for number, info in enumerate(listing, 1):
            mark = "*" if info.path == store.saver.path else ""
            date = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
            if info.problem:
                rows.append((f"{number}{mark}", date, "", "", f"(unreadable: {info.problem})"))
                continue
            rows.append((f"{number}{mark}", date, ", ".join(info.models) or "-",
                         _plural(info.turns, "turn"), info.first_line))
        engine.view.table(rows, title="Sessions (newest first; /load N opens one)")

    def export(engine: Engine, args: str) -> None:
        fmt = None
        match = _FORMAT_FLAG.search(args)
        if match:
            fmt = match.group(1).lower()
            if fmt not in FORMATS:
                raise CommandError(f"--format takes {', '.join(FORMATS)}, not {fmt!r}")
            args = args[: match.start()] + args[match.end():]
        if not args.strip():
            raise CommandError("/export takes PATH.md or PATH.json [--format openai]")
        path = _path(args)
        if os.path.isdir(os.path.expanduser(path)):
            raise TranscriptError(f"{path}: is a folder; give a file name")
        extension = os.path.splitext(path)[1].lower()
        if fmt is None:
            if extension not in (".md", ".markdown", ".json"):
                raise CommandError("/export writes PATH.md (Markdown) or PATH.json "
                                   "(add --format openai for a request body)")
            fmt = "chatrepl" if extension == ".json" else "markdown"
        conversation, settings = engine.conversation, transcript.settings_of(engine.settings)
        if fmt == "markdown":
            text = transcript.to_markdown(conversation, settings)
        elif fmt == "openai":
            body = transcript.to_request_body(conversation, settings)
            text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
        else:
            text = transcript.dumps(conversation, settings)
        write_file(path, text)
        engine.view.info(f"exported {_plural(len(conversation.messages), 'message')} "
                         f"to {path} ({fmt})")

    return [
        Command("save", save, "save now, or write a JSON transcript to PATH", "[PATH]",
                completes="paths"),
        Command("load", load, "open a transcript file or a session from /sessions",
                "FILE|N", completes="paths"),
        Command("sessions", sessions, "list recent saved conversations", "[COUNT]"),
        Command("export", export, "write Markdown, or JSON (--format openai: request body)",
                "PATH.md|PATH.json [--format openai]", completes="paths"),
    ]
