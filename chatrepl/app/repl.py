"""The interactive loop: a prompt first, then the engine and the view, built while the
user types.

Startup is measured against a bare prompt_toolkit prompt (benchmarks/bench_startup.py):
the engine, the SSE parser, rich and requests all load after the prompt is on screen,
in a warm-up thread, so the first keystroke is never kept waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from chatrepl.app.wiring import Session
from chatrepl.ui.terminal import keyboard_echo_off
from chatrepl.ui.toolbar import banner, toolbar_text
from chatrepl.ui.views import LazyView

if TYPE_CHECKING:
    from chatrepl.core.commands.registry import Command
    from chatrepl.core.engine import Engine


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


def run_repl(session: Session) -> int:
    """Read lines until /exit or Ctrl-D."""
    from prompt_toolkit.input import create_input
    from prompt_toolkit.output import create_output

    from chatrepl.ui.prompt import PromptReader

    environment = session.environment
    resolved = session.resolved
    view = LazyView(session.view)
    lazy = LazyEngine(lambda: session.build_engine(view, interactive=True))
    if session.loaded is not None:
        lazy.get()  # the resumed conversation is announced before the prompt

    def commands() -> list[Command]:
        engine = lazy.ready
        if engine is not None:
            return list(engine.registry)
        # a "/" typed before the warm-up built the engine: the commands load now
        from chatrepl.core.commands.catalog import builtin_commands

        return builtin_commands()

    def toolbar() -> str:
        engine = lazy.ready
        if engine is None:
            return toolbar_text(resolved.settings, 0)
        conversation = engine.conversation
        return toolbar_text(
            engine.settings,
            conversation.turns,
            name=conversation.name,
            attached=len(engine.pending),
        )

    def secrets() -> list[str]:
        engine = lazy.ready
        key = (engine.settings if engine else resolved.settings).key
        return [key.value] if key else []

    def models() -> list[str]:
        engine = lazy.ready
        return list(engine.known_models) if engine else []

    def roles() -> list[str]:
        return sorted(session.config.roles) if session.config is not None else []

    def params() -> list[str]:
        from chatrepl.core.params import KNOWN_KEYS

        engine = lazy.ready
        current = list((engine.settings.params or {}) if engine else ())
        first_class = ["model", "temperature", "max_tokens", "system"]
        return list(dict.fromkeys([*current, *KNOWN_KEYS, *first_class]))

    def edit(text: str) -> str:
        from chatrepl.adapters.editor import TerminalEditor

        return TerminalEditor(env=environment.env).edit(text)

    reader = PromptReader(
        history_path=session.history_path(),
        commands=commands,
        models=models,
        toolbar=toolbar,
        secrets=secrets,
        roles=roles,
        params=params,
        edit=edit,
        input=create_input(environment.stdin),
        output=create_output(environment.stdout),
    )
    settings = lazy.ready.settings if lazy.ready else resolved.settings  # a resumed model
    environment.stdout.write(banner(settings) + "\n")
    environment.stdout.flush()
    _start_warm_up(lazy)
    prefill = ""  # /edit, /editor, or a message that could not be sent
    while True:
        line = reader.read(default=prefill)
        prefill = ""
        if line is None:
            break
        engine = lazy.get()
        try:
            with keyboard_echo_off(environment.stdin):
                outcome = engine.handle(line)
            if outcome.confirm is not None and reader.confirm(outcome.confirm.question):
                with keyboard_echo_off(environment.stdin):
                    outcome = engine.handle(outcome.confirm.then)
        except KeyboardInterrupt:
            engine.view.info("cancelled")
            continue
        if outcome.exit:
            break
        prefill = outcome.prefill or ""
    return 0


def _start_warm_up(lazy: LazyEngine) -> None:
    """Build the engine and import what the first reply needs while the user types."""

    def warm() -> None:
        try:
            lazy.get()
            import rich.markdown
            import rich.syntax  # noqa: F401

            import chatrepl.adapters.http
            import chatrepl.ui.rich_view  # noqa: F401
        except Exception:
            pass

    timer = threading.Timer(0.2, warm)
    timer.daemon = True
    timer.start()
