"""One-shot mode: `chatrepl "question"` or `… | chatrepl` prints the reply and exits."""

from __future__ import annotations

from chatrepl.app.wiring import Session
from chatrepl.core.errors import (
    CommandError,
    ConfigError,
    ExitStatus,
    TerminatedBySignal,
    UnexpectedError,
)
from chatrepl.ui.terminal import keyboard_echo_off


def message_text(session: Session) -> str:
    """The words on the command line, then whatever was piped in ("" when neither)."""
    environment = session.environment
    text = " ".join(session.args.message)
    if not environment.stdin_isatty:
        piped = environment.stdin.read()
        text = f"{text}\n\n{piped}" if text and piped.strip() else (text or piped)
    return text.strip("\n") if text.strip() else ""


def run_one_shot(session: Session) -> int:
    """Send one message (or a loaded request as it is); the exit status says how it went."""
    text = message_text(session)
    loaded = session.loaded
    pending = loaded is not None and loaded.conversation.pending_user is not None
    if not text and not pending:
        raise ConfigError("nothing to send: give a message or pipe one in")
    environment = session.environment
    # a pipe gets the reply as it came, unless colour is forced (make_view decides)
    engine = session.build_engine(session.view(), interactive=False)
    if not engine.settings.model:  # never a request without one; nobody to ask here
        from chatrepl.app.model_choice import ONLY_ONE, one_shot_model
        from chatrepl.ui.toolbar import host_of

        where = host_of(engine.settings.url) or "the endpoint"
        engine.set("model", one_shot_model(engine.list_models, host=where), ONLY_ONE)
        found = session.announced()  # the listing may have named the server's dialect
        if found is not None:
            engine.detected(found)
    try:
        with keyboard_echo_off(environment.stdin if environment.stdin_isatty else None):
            # `--load body.json` alone sends the loaded request as it is
            outcome = engine.send(text) if text else engine.retry()
    except TerminatedBySignal:
        engine.checkpoint()
        raise
    if isinstance(outcome.error, UnexpectedError) and session.args.debug:
        from chatrepl.app.repl import show_traceback

        show_traceback(session, outcome.error)
    if outcome.interrupted:
        return ExitStatus.INTERRUPTED
    if outcome.error is not None:
        usage = isinstance(outcome.error, ConfigError | CommandError)  # e.g. a dialect's range
        return ExitStatus.USAGE if usage else ExitStatus.API
    return ExitStatus.OK
