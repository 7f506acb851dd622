"""The interactive loop: a prompt, the engine, and a view built on first use."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

from chatrepl import __version__
from chatrepl.engine import Engine
from chatrepl.settings import Resolved, describe


class LazyView:
    """Builds the rich view on first output, so rich loads after the prompt is up."""

    def __init__(self, *, plain: bool, no_color: bool) -> None:
        self._plain = plain
        self._no_color = no_color
        self._view: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._view is None:
            from chatrepl.render import make_view

            self._view = make_view(plain=self._plain, stdout_isatty=sys.stdout.isatty(),
                                   no_color=self._no_color)
        return getattr(self._view, name)


def toolbar_text(engine: Engine) -> str:
    """The bottom toolbar: what the next message will be sent with."""
    s = engine.settings
    host = urlsplit(s.url or "").netloc or "?"
    temp = describe("temperature", s.temperature) if s.temperature is not None else "default"
    return (f" {s.model or '(server default model)'} · temperature {temp} · "
            f"max_tokens {describe('max_tokens', s.max_tokens)} · {host} · "
            f"{engine.conversation.turns} turns · /help")


def attach_transcripts(engine: Engine, args: argparse.Namespace, stack: ExitStack) -> None:
    """Restore a conversation (--continue/--load) and autosave it after every turn."""
    from chatrepl.store import attach

    attach(engine, resume=args.resume, load=args.load, stack=stack)


def run_repl(args: argparse.Namespace, resolved: Resolved, backend: Any,
             env: Mapping[str, str], stack: ExitStack) -> int:
    """Read lines until /exit or Ctrl-D."""
    from chatrepl.paths import state_dir
    from chatrepl.prompt import PromptReader

    view = LazyView(plain=resolved.settings.plain, no_color="NO_COLOR" in env)
    engine = Engine(resolved, backend, view)
    attach_transcripts(engine, args, stack)
    commands: Sequence[Any] = list(engine.registry)
    reader = PromptReader(
        history_path=state_dir() / "history",
        commands=commands,
        models=lambda: engine.known_models,
        toolbar=lambda: toolbar_text(engine),
        secrets=lambda: [engine.settings.key.value] if engine.settings.key else [],
    )
    s = engine.settings
    sys.stdout.write(
        f"chatrepl {__version__} · {s.model or 'server default model'} at "
        f"{urlsplit(s.url or '').netloc} · /help for commands · Ctrl-D to quit\n"
    )
    sys.stdout.flush()
    from chatrepl.cli import _warm_up

    warm = threading.Timer(0.3, _warm_up)
    warm.daemon = True
    warm.start()
    while engine.running:
        line = reader.read()
        if line is None:
            break
        try:
            engine.handle(line)
        except KeyboardInterrupt:
            engine.view.info("cancelled")
    return 0
