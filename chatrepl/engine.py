"""The engine: one entry point, `handle(line)`, for every command and every turn.

It owns the session state (settings with provenance, the conversation, known models)
and talks to the world only through a Backend and a View. Failures become one line on
the View; the conversation is never left in a state that loses what the user typed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from chatrepl.commands import CORE_COMMANDS, Command, CommandCall, CommandRegistry, parse
from chatrepl.conversation import Conversation
from chatrepl.errors import ChatReplError, CommandError
from chatrepl.messages import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    TurnStats,
    Usage,
    UsageReport,
)
from chatrepl.ports import Backend, View
from chatrepl.settings import Resolved, Settings
from chatrepl.sse import split_think_tags

TurnHook = Callable[["Engine"], None]


class Engine:
    """Dispatches lines to commands or turns; keeps the conversation consistent."""

    def __init__(
        self,
        resolved: Resolved,
        backend: Backend,
        view: View,
        *,
        conversation: Conversation | None = None,
        commands: Iterable[Command] = CORE_COMMANDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.resolved = resolved
        self.backend = backend
        self.view = view
        self.conversation = conversation if conversation is not None else Conversation()
        self.registry = CommandRegistry(commands)
        self.known_models: list[str] = []
        self.running = True
        self.after_turn: list[TurnHook] = []  # e.g. autosave; run after every committed turn
        self.on_new_conversation: list[TurnHook] = []
        self.last_error: ChatReplError | None = None  # one-shot mode turns it into exit 1
        self.interactive = True  # one-shot mode has no /retry to suggest
        self.last_turn_interrupted = False  # one-shot mode turns it into exit 130
        self._clock = clock
        self._wall_clock = wall_clock

    # --- state ----------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The effective settings."""
        return self.resolved.settings

    @property
    def sources(self) -> dict[str, str]:
        """Where each setting came from."""
        return dict(self.resolved.sources)

    def set(self, key: str, value: Any, source: str) -> None:
        """Change one setting (from a slash-command), remembering its source."""
        self.resolved = self.resolved.with_value(key, value, source)

    def new_conversation(self) -> None:
        """Start over; hooks (e.g. autosave) pick a new file."""
        self.conversation = Conversation()
        for hook in self.on_new_conversation:
            hook(self)

    # --- dispatch -------------------------------------------------------------

    def handle(self, line: str) -> None:
        """Run one line the user entered: a slash-command or a message."""
        if not line.strip():
            return
        parsed = parse(line)
        self.last_error = None
        try:
            if isinstance(parsed, CommandCall):
                self.registry.find(parsed.name).handler(self, parsed.args)
            else:
                self.send(parsed.text)
        except ChatReplError as exc:
            self.last_error = exc
            self.view.error(str(exc))

    def send(self, text: str) -> None:
        """A new user message; a failed, unanswered one before it is dropped."""
        if self.conversation.pending_user is not None:
            self.conversation.drop_pending_user()
            self.view.info("(the unanswered message was dropped; ↑ recalls it)")
        self.conversation.add_user(text)
        self._run_turn()

    def retry(self) -> None:
        """Resend the last user message, replacing its reply if it has one."""
        if self.conversation.pending_user is None:
            if self.conversation.last_user() is None:
                raise CommandError("nothing to retry yet")
            self.conversation.messages.pop()  # the reply being replaced
        self._run_turn()

    def compare(self, models: list[str], question: str | None = None) -> None:
        """Ask several models the same thing and show the answers side by side.

        Without a question the last user message is asked again (with the conversation
        before it); the conversation is left as it was.
        """
        from chatrepl.compare import compare
        from chatrepl.conversation import Conversation

        history = list(self.conversation.messages)
        if question is None:
            while history and history[-1].role == "assistant":
                history.pop()
            if not history:
                raise CommandError("nothing to compare yet: /compare MODEL... -- QUESTION")
        scratch = Conversation(history)
        if question is not None:
            scratch.add_user(question)
        settings = replace(self.settings, stream=True)
        self.view.info(f"asking {', '.join(models)}…")
        self.view.compare(compare(self.backend, scratch.payload(settings), models))

    # --- one turn -------------------------------------------------------------

    def _run_turn(self) -> None:
        settings = self.settings
        payload = self.conversation.payload(settings)
        text: list[str] = []
        reasoning: list[str] = []
        usage: Usage | None = None
        finish: str | None = None
        interrupted = False
        failure: ChatReplError | None = None
        started_wall = self._wall_clock()
        start = self._clock()
        first: float | None = None
        self.view.begin_reply()
        events: Iterator[StreamEvent] | None = None
        try:
            # inside the try: a backend may fail (or be interrupted) before streaming
            events = self.backend.stream(payload)
            for event in split_think_tags(events):
                if isinstance(event, TextDelta | ReasoningDelta):
                    if first is None:
                        first = self._clock()
                    (text if isinstance(event, TextDelta) else reasoning).append(event.text)
                    self.view.show(event)
                elif isinstance(event, UsageReport):
                    usage = event.usage
                elif isinstance(event, Finish):
                    finish = event.reason
        except KeyboardInterrupt:
            interrupted = True
        except ChatReplError as exc:
            failure = exc
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # aborts the HTTP request at once on Ctrl-C
        end = self._clock()

        reply = "".join(text)
        self.last_error = failure
        self.last_turn_interrupted = interrupted
        if not reply and (failure is not None or interrupted):
            # nothing to keep: an empty assistant message would be sent back next turn
            self.view.end_reply(None)
            if failure is not None:
                self.view.error(self._failure_line(failure))
            else:
                self.view.info("(interrupted before the reply began; /retry resends)")
            return  # the user message stays pending so /retry resends it
        stats = TurnStats(
            model=settings.model,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            started_at=started_wall,
            ttft=(first - start) if first is not None else None,
            duration=end - start,
            usage=usage,
            finish_reason=finish if failure is None else "error",
            interrupted=interrupted,
            truncated=not interrupted and finish is None,
        )
        self.view.end_reply(stats)
        self.conversation.add_assistant(reply, reasoning="".join(reasoning), stats=stats)
        if failure is not None:
            self.view.error(f"{failure} (partial reply kept)")
        for hook in self.after_turn:
            hook(self)

    def _failure_line(self, failure: ChatReplError) -> str:
        return f"{failure} — /retry resends your message" if self.interactive else str(failure)
