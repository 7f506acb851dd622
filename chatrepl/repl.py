"""The interactive loop: a prompt first, then the engine and the view, built while the
user types.

Startup is measured against a bare prompt_toolkit prompt (benchmarks/bench_startup.py):
the engine, the SSE parser, rich and requests all load after the prompt is on screen,
in a warm-up thread, so the first keystroke is never kept waiting.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chatrepl import __version__
from chatrepl.commands import CORE_COMMANDS, Command
from chatrepl.settings import Resolved, Settings, describe

if TYPE_CHECKING:
    from chatrepl.engine import Engine


class LazyView:
    """Builds the rich view on first output, so rich loads after the prompt is up."""

    def __init__(self, *, plain: bool, no_color: bool) -> None:
        self._plain = plain
        self._no_color = no_color
        self._view: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._view is None:
            from chatrepl.views import make_view

            self._view = make_view(plain=self._plain, stdout_isatty=sys.stdout.isatty(),
                                   no_color=self._no_color)
        return getattr(self._view, name)


class LazyEngine:
    """The engine, built once on first use from whichever thread gets there first."""

    def __init__(self, build: Callable[[], Engine]) -> None:
        self._build = build
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> Engine | None:
        """The engine if it has been built, else None (never blocks)."""
        return self._engine

    def get(self) -> Engine:
        """The engine, building it if needed."""
        with self._lock:
            if self._engine is None:
                self._engine = self._build()
            return self._engine


def toolbar_text(settings: Settings, turns: int) -> str:
    """The bottom toolbar: what the next message will be sent with."""
    host = urlsplit(settings.url or "").netloc or "?"
    temp = describe("temperature", settings.temperature) if settings.temperature is not None \
        else "default"
    return (f" {settings.model or '(server default model)'} · temperature {temp} · "
            f"max_tokens {describe('max_tokens', settings.max_tokens)} · {host} · "
            f"{turns} turns · /help")


def attach_transcripts(engine: Engine, args: argparse.Namespace, stack: ExitStack) -> None:
    """Restore a conversation (--continue/--load) and autosave it after every turn."""
    from chatrepl.store import attach

    attach(engine, resume=args.resume, load=args.load, stack=stack)


def run_repl(args: argparse.Namespace, resolved: Resolved, backend: Any,
             env: Mapping[str, str], stack: ExitStack) -> int:
    """Read lines until /exit or Ctrl-D."""
    from chatrepl.paths import state_dir
    from chatrepl.prompt import PromptReader

    def build() -> Engine:
        from chatrepl.engine import Engine

        view = LazyView(plain=resolved.settings.plain, no_color="NO_COLOR" in env)
        engine = Engine(resolved, backend, view)
        attach_transcripts(engine, args, stack)
        return engine

    lazy = LazyEngine(build)
    if args.resume or args.load:
        lazy.get()  # a bad transcript must fail before the prompt, with exit 2

    def commands() -> list[Command]:
        engine = lazy.ready
        return list(engine.registry) if engine else list(CORE_COMMANDS)

    def toolbar() -> str:
        engine = lazy.ready
        if engine is None:
            return toolbar_text(resolved.settings, 0)
        return toolbar_text(engine.settings, engine.conversation.turns)

    def secrets() -> list[str]:
        engine = lazy.ready
        key = (engine.settings if engine else resolved.settings).key
        return [key.value] if key else []

    reader = PromptReader(
        history_path=state_dir() / "history",
        commands=commands,
        models=lambda: lazy.ready.known_models if lazy.ready else [],
        toolbar=toolbar,
        secrets=secrets,
    )
    s = lazy.ready.settings if lazy.ready else resolved.settings  # a resumed model shows
    sys.stdout.write(
        f"chatrepl {__version__} · {s.model or 'server default model'} at "
        f"{urlsplit(s.url or '').netloc} · /help for commands · Ctrl-D to quit\n"
    )
    sys.stdout.flush()
    _start_warm_up(lazy)
    while True:
        line = reader.read()
        if line is None:
            break
        engine = lazy.get()
        try:
            with keyboard_echo_off():
                engine.handle(line)
        except KeyboardInterrupt:
            engine.view.info("cancelled")
        if not engine.running:
            break
    return 0


@contextlib.contextmanager
def keyboard_echo_off() -> Iterator[None]:
    """Don't let the terminal echo keys (or `^C`) while a reply is drawn.

    Between prompts the terminal is in cooked mode, so the kernel echoes whatever is
    typed right into the live region; an echoed `^C` at the end of a full-width line
    wraps it, and the region's redraw then leaves a copy of its top line behind. Keys
    typed meanwhile are not lost: they wait in the terminal for the next prompt.
    """
    try:
        import termios
    except ImportError:  # not POSIX
        yield
        return
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError, AttributeError):
        yield  # not a terminal: nothing is echoed anyway
        return
    quiet = list(saved)
    quiet[3] &= ~termios.ECHO  # lflags; ISIG stays on, so Ctrl-C still interrupts
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def _start_warm_up(lazy: LazyEngine) -> None:
    """Build the engine and import what the first reply needs while the user types."""

    def warm() -> None:
        try:
            lazy.get()
            import rich.markdown
            import rich.syntax  # noqa: F401

            import chatrepl.client
            import chatrepl.render  # noqa: F401
        except Exception:
            pass

    timer = threading.Timer(0.2, warm)
    timer.daemon = True
    timer.start()
