"""The interactive loop: a prompt first, then the engine and the view, built while the
user types.

Startup is measured against a bare prompt_toolkit prompt (benchmarks/bench_startup.py):
the engine, the SSE parser, rich and requests all load after the prompt is on screen,
in a warm-up thread, so the first keystroke is never kept waiting.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chatrepl.app.screen import FILE_LOG_NOTE, Screen
from chatrepl.app.wiring import Session
from chatrepl.core.errors import TerminatedBySignal, UnexpectedError
from chatrepl.ui.stats import fold_line
from chatrepl.ui.terminal import keyboard_echo_off, terminal_width
from chatrepl.ui.toolbar import Toolbar, banner, host_of, toolbar_text
from chatrepl.ui.views import LazyView

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from chatrepl.core.commands.registry import Command
    from chatrepl.core.engine import Engine
    from chatrepl.core.redact import Redactor
    from chatrepl.ui.linereader import LineReader
    from chatrepl.ui.prompt import PromptReader

    Reader = PromptReader | LineReader


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
    screen = Screen.choose(session.environment)
    try:
        return _run(session, screen)
    finally:
        screen.close()


def _run(session: Session, screen: Screen) -> int:
    from prompt_toolkit.input import create_input

    from chatrepl.ui.linereader import LineReader, is_dumb
    from chatrepl.ui.prompt import PromptReader
    from chatrepl.ui.terminal import prompt_output

    environment = session.environment
    resolved = session.resolved
    session.screen = screen.terminal if screen.log is not None else None
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

    redact = session.redactor  # the toolbar and banner show the URL: never its password

    def toolbar() -> Toolbar:
        width = _columns()
        engine = lazy.ready
        if engine is None:
            return _redacted(toolbar_text(resolved.settings, 0, width=width), redact)
        conversation = engine.conversation
        reading = engine.reading()
        shown = toolbar_text(
            engine.settings,
            conversation.turns,
            name=conversation.name,
            attached=len(engine.pending),
            meter=reading.text(),
            warn=reading.warn,
            width=width,
            comparing=_comparing(engine),
        )
        return _redacted(shown, redact)

    def secrets() -> list[str]:
        return list(redact.secrets)

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

    def specs() -> list[str]:
        from chatrepl.core.settings import BUILTIN_PROFILES

        config = session.config
        profiles = [*(config.profiles if config is not None else ()), *BUILTIN_PROFILES]
        sets = sorted(config.compare_sets) if config is not None else []
        return [*(f"{p}:" for p in dict.fromkeys(profiles)), *(f"@{s}" for s in sets)]

    def edit(text: str) -> str:
        from chatrepl.adapters.editor import TerminalEditor

        return TerminalEditor(env=environment.env, stdout=session.screen).edit(text)

    terminal_in = create_input(environment.stdin)
    terminal_out = prompt_output(screen.terminal, colour=_colour(session))
    reader: Reader
    if is_dumb(environment.env.get("TERM")):
        reader = LineReader(environment.stdin, screen.terminal)  # the terminal keeps lines
    else:
        screen.erases = screen.echoed
        reader = PromptReader(
            history_path=session.history_path(),
            commands=commands,
            models=models,
            toolbar=toolbar,
            secrets=secrets,
            roles=roles,
            params=params,
            specs=specs,
            edit=edit,
            input=terminal_in,
            output=terminal_out,
            erase_when_done=screen.erases,
        )
    settings = lazy.ready.settings if lazy.ready else resolved.settings  # a resumed model
    width = terminal_width(screen.terminal)
    screen.terminal.write(redact(banner(settings, width=width)) + "\n")
    if screen.log is not None and not screen.echoed:  # nothing will show the replies here
        screen.terminal.write(fold_line(FILE_LOG_NOTE, width - 1) if width else FILE_LOG_NOTE)
        screen.terminal.write("\n")
    screen.terminal.flush()
    # a model the user picks (now, or by /model later) is remembered for this endpoint,
    # unless a flag, the config or the environment names one anyway
    remembering = not settings.model or session.resolved.sources["model"].startswith("remembered")
    if not settings.model:
        _pick_model(session, lazy.get(), terminal_in, terminal_out)
    _start_warm_up(lazy, session, view)
    try:
        _loop(session, reader, lazy, remembering, terminal_in, terminal_out, screen)
    except TerminatedBySignal:
        engine = lazy.ready
        if engine is not None:
            engine.checkpoint()  # in case the signal cut the last save short
        raise
    return 0


def _loop(
    session: Session,
    reader: Reader,
    lazy: LazyEngine,
    remembering: bool,
    terminal_in: Input,
    terminal_out: Output,
    screen: Screen,
) -> None:
    """Read and handle lines until /exit or Ctrl-D."""
    environment = session.environment
    prefill = ""  # /edit, /editor, or a message that could not be sent
    while True:
        screen.settle()
        line = reader.read(default=prefill)
        prefill = ""
        if line is None:
            return
        screen.record(line)
        engine = lazy.get()
        if not engine.settings.model and line.strip() and not line.startswith("/"):
            _pick_model(session, engine, terminal_in, terminal_out)  # never send without one
        before = engine.settings.model
        try:
            with keyboard_echo_off(environment.stdin):
                outcome = engine.handle(line)
            if outcome.confirm is not None and reader.confirm(outcome.confirm.question):
                with keyboard_echo_off(environment.stdin):
                    outcome = engine.handle(outcome.confirm.then)
        except TerminatedBySignal:
            raise  # SIGTERM and friends end the run; only Ctrl-C cancels a line
        except KeyboardInterrupt:
            engine.view.info("cancelled")
            continue
        if isinstance(outcome.error, UnexpectedError) and session.args.debug:
            show_traceback(session, outcome.error)
        model = engine.settings.model
        if remembering and model and model != before and engine.sources["model"] == "/model":
            from chatrepl.app.model_choice import remember

            remember(session.memory, engine.settings.url, model, engine.view)
        if outcome.exit:
            return
        prefill = outcome.prefill or ""


def _columns() -> int | None:
    """The width of the terminal the prompt is drawn on (None outside a prompt)."""
    from prompt_toolkit.application import get_app_or_none

    app = get_app_or_none()
    return app.output.get_size().columns if app is not None else None


def _colour(session: Session) -> str:
    """always, never or auto for the prompt and toolbar, as for the replies."""
    from chatrepl.ui.views import colour_choice

    return colour_choice(session.resolved.settings.color, session.environment.env)


def _redacted(toolbar: Toolbar, redact: Redactor) -> Toolbar:
    """The toolbar with the secrets masked, styled fragments and all."""
    if isinstance(toolbar, str):
        return redact(toolbar)
    from prompt_toolkit.formatted_text import FormattedText

    return FormattedText([(part[0], redact(part[1]), *part[2:]) for part in toolbar])


def show_traceback(session: Session, error: UnexpectedError) -> None:
    """--debug: the traceback of a bug the engine survived (redacted, on stderr)."""
    import traceback

    cause = error.__cause__ or error
    text = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
    session.environment.stderr.write(session.redactor(text))
    session.environment.stderr.flush()


def _pick_model(session: Session, engine: Engine, terminal_in: Input, terminal_out: Output) -> None:
    """List the endpoint's chat models and let the user pick one (remembered next time)."""
    from chatrepl.app.model_choice import (
        HOW_TO_SET,
        ONLY_ONE,
        PICKED,
        model_list_or_none,
        pick_model,
        remember,
    )
    from chatrepl.ui.picker import ChoiceReader

    view = engine.view
    where = host_of(engine.settings.url) or "this endpoint"
    models, failure = model_list_or_none(engine.list_models)
    found = session.announced()
    if found is not None:
        engine.detected(found)
    if failure is not None:
        view.error(f"no model chosen, and the model list is unavailable ({failure})")
        view.info(f"set one with {HOW_TO_SET}")
        return
    if not models:
        view.error(f"no model chosen, and {where} lists no chat models; set one with {HOW_TO_SET}")
        return
    choice = pick_model(
        models,
        view=view,
        read=ChoiceReader(models, input=terminal_in, output=terminal_out).read,
        where=where,
    )
    if choice is None:
        return
    engine.set("model", choice, ONLY_ONE if len(models) == 1 else PICKED)
    remember(session.memory, engine.settings.url, choice, view)
    view.info(f"model: {choice} (remembered for {where}; /model switches)")


def _start_warm_up(lazy: LazyEngine, session: Session, view: LazyView) -> None:
    """Build the engine and the view, import and exercise what the first reply needs (its
    first text is then drawn as soon as it arrives), and fetch the model names (for Tab
    completion, and the dialect the listing reveals) while the user types."""

    def warm() -> None:
        try:
            engine = lazy.get()
            real = view.get()
            import chatrepl.adapters.http  # noqa: F401
            from chatrepl.ui.rich_view import RichView, warm_up

            real = getattr(real, "view", real)  # the rich view inside the redacting one
            if isinstance(real, RichView):
                warm_up()

            if not engine.known_models:
                engine.list_models()
                found = session.announced()
                if found is not None:
                    engine.detected(found)
        except Exception:
            pass  # completion without model names is still completion
        # What is loaded by now (rich, pygments, prompt_toolkit, requests, the engine)
        # lives as long as the process: out of the collector's sight, a full collection
        # mid-reply scans only what came since, ~1 ms instead of ~50 ms at once (a
        # frozen screen at 256 KB). Garbage from startup stays; there is little.
        gc.freeze()

    timer = threading.Timer(0.2, warm)
    timer.daemon = True
    timer.start()


def _comparing(engine: Any) -> int:
    """How many models /compare on sends each message to (0: it is off)."""
    specs = engine.compare_specs
    if specs is None:
        return 0
    from chatrepl.core.errors import ChatReplError

    try:
        return len(engine.targets(specs))
    except ChatReplError:  # e.g. the model changed to one a spec now refuses
        return len(specs)
