"""The engine: one entry point, `handle(line)`, for every command and every turn.

It owns the session state (settings with provenance, the conversation, known models)
and talks to the world only through a Backend, a View and a SessionStore. Nothing
outside changes that state except through its methods, and each line returns an
`Outcome` for the caller to act on. Failures become one line on the View; the
conversation is never left in a state that loses what the user typed, and every change
reaches the session file before the next prompt.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from chatrepl.core.commands.registry import Command, CommandCall, CommandRegistry, parse
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import ChatReplError, CommandError, TranscriptError
from chatrepl.core.ports import Backend, SessionStore, View
from chatrepl.core.reply import Clock, Outcome, ReplyCollector, drain
from chatrepl.core.settings import Resolved, Settings
from chatrepl.core.transcript import Transcript, settings_of


class Engine:
    """Dispatches lines to commands or turns; keeps the conversation consistent."""

    def __init__(
        self,
        resolved: Resolved,
        backend: Backend,
        view: View,
        *,
        commands: Iterable[Command] = (),
        store: SessionStore | None = None,
        autosave: bool | None = None,
        conversation: Conversation | None = None,
        interactive: bool = True,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self._resolved = resolved
        self.backend = backend
        self.view = view
        self.store = store
        # autosave defaults to the setting; /save under --no-save still writes once
        self._autosave = resolved.settings.autosave if autosave is None else autosave
        self._conversation = conversation if conversation is not None else Conversation()
        self.registry = CommandRegistry(commands)
        self.interactive = interactive  # one-shot mode has no /retry or ↑ to suggest
        self._known_models: tuple[str, ...] = ()
        self._clock = clock
        self._wall_clock = wall_clock

    # --- state ----------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The effective settings."""
        return self._resolved.settings

    @property
    def resolved(self) -> Resolved:
        """The settings with where each came from."""
        return self._resolved

    @property
    def sources(self) -> Mapping[str, str]:
        """Where each setting came from."""
        return self._resolved.sources

    @property
    def conversation(self) -> Conversation:
        """The conversation so far (change it through the engine's methods)."""
        return self._conversation

    @property
    def known_models(self) -> Sequence[str]:
        """Model ids the endpoint listed (for the /model hint and completion)."""
        return self._known_models

    def set(self, key: str, value: Any, source: str) -> None:
        """Change one setting (from a slash-command), remembering its source."""
        self._resolved = self._resolved.with_value(key, value, source)
        self._changed()

    def list_models(self) -> list[str]:
        """Ask the endpoint for its models and remember them."""
        self._known_models = tuple(sorted(set(self.backend.list_models())))
        return list(self._known_models)

    def load(self, loaded: Transcript, *, source: str, keep_flags: bool = False) -> None:
        """Continue a loaded conversation with the settings it recorded.

        With `keep_flags`, a value given as a flag wins: `--load chat.json -m other`
        continues a conversation with another model.
        """
        for key, value in loaded.settings.items():
            # the profile chooses the endpoint, so the app picks it before the engine exists
            if key == "profile" or value is None:
                continue
            if keep_flags and self.sources[key].startswith("flag"):
                continue
            self._resolved = self._resolved.with_value(key, value, source)
        self._conversation = loaded.conversation

    def new_conversation(self) -> None:
        """Start over; the next save starts a new session file."""
        self._conversation = Conversation()
        if self.store is not None:
            self.store.start_new()

    def undo(self) -> int:
        """Drop the last exchange; how many messages went."""
        removed = self._conversation.undo()
        if removed:
            self._changed()
        return removed

    def save_now(self) -> str:
        """Write the session file now (even with autosave off), and keep saving after."""
        if self.store is None:
            raise CommandError("this session has no sessions folder to save to")
        path = self.store.save(self._conversation, settings_of(self.settings))
        self._autosave = True
        return str(path) if path is not None else ""

    # --- dispatch -------------------------------------------------------------

    def handle(self, line: str) -> Outcome:
        """Run one line the user entered: a slash-command or a message."""
        if not line.strip():
            return Outcome()
        parsed = parse(line)
        try:
            if isinstance(parsed, CommandCall):
                return self.registry.find(parsed.name).handler(self, parsed.args) or Outcome()
            return self.send(parsed.text)
        except ChatReplError as exc:
            self.view.error(str(exc))
            return Outcome(error=exc)

    def send(self, text: str) -> Outcome:
        """A new user message; a failed, unanswered one before it is dropped."""
        if self._conversation.pending_user is not None:
            self._conversation.drop_pending_user()
            if self.interactive:
                self.view.info("(the unanswered message was dropped; ↑ recalls it)")
        self._conversation.add_user(text)
        return self._run_turn()

    def retry(self) -> Outcome:
        """Resend the last user message, replacing its reply if it has one."""
        if self._conversation.pending_user is None:
            if self._conversation.last_user() is None:
                raise CommandError("nothing to retry yet")
            self._conversation.messages.pop()  # the reply being replaced
        return self._run_turn()

    def compare(self, models: list[str], question: str | None = None) -> None:
        """Ask several models the same thing and show the answers side by side.

        Without a question the last user message is asked again (with the conversation
        before it); the conversation is left as it was.
        """
        from chatrepl.core.compare import compare

        history = list(self._conversation.messages)
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

    def _run_turn(self) -> Outcome:
        settings = self.settings
        payload = self._conversation.payload(settings)
        collector = ReplyCollector(
            model=settings.model,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            clock=self._clock,
            wall_clock=self._wall_clock,
        )
        self.view.begin_reply()
        reply = drain(
            lambda: self.backend.stream(payload),
            collector,
            show=self.view.show,
            notice=self.view.notice,
        )
        if not reply.text and (reply.error is not None or reply.interrupted):
            # nothing to keep: an empty assistant message would be sent back next turn
            self.view.end_reply(None)
            if reply.error is not None:
                self.view.error(self._failure_line(reply.error))
            else:
                self.view.info("(interrupted before the reply began; /retry resends)")
            self._changed()  # the pending message is kept for /retry
            return Outcome(error=reply.error, interrupted=reply.interrupted)
        self.view.end_reply(reply.stats)
        message = self._conversation.add_assistant(
            reply.text, reasoning=reply.reasoning, stats=reply.stats
        )
        if reply.error is not None:
            self.view.error(f"{reply.error} (partial reply kept)")
        self._changed()
        return Outcome(error=reply.error, interrupted=reply.interrupted, reply=message)

    def _failure_line(self, failure: ChatReplError) -> str:
        return f"{failure} — /retry resends your message" if self.interactive else str(failure)

    def _changed(self) -> None:
        """Autosave: a failure is reported, never fatal to the session."""
        if self.store is None or not self._autosave:
            return
        try:
            self.store.save(self._conversation, settings_of(self.settings))
        except TranscriptError as exc:
            self.view.error(f"autosave failed: {exc}")
