"""The conversation kept in memory, and the request body built from it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chatrepl.core.dialect import thinking_options
from chatrepl.core.messages import Attachment, Compaction, ImageUrl, Message, TurnStats
from chatrepl.core.params import RESERVED_KEYS
from chatrepl.core.settings import Settings

if TYPE_CHECKING:
    from chatrepl.core.branches import BranchRow, Fork

# core.branches is imported where it is used: the branch rules load with the first
# change to history, not on the way to the first prompt


@dataclass(slots=True)
class Conversation:
    """User and assistant messages in order (the active path), the earlier branches of
    edited turns, the session's name and parent, and what /compact and /trim decided
    (oldest first; the last one says what is sent). The system prompt lives in Settings."""

    messages: list[Message] = field(default_factory=list)
    forks: dict[int, Fork] = field(default_factory=dict)
    name: str | None = None  # /name
    parent: str | None = None  # the session file this one was forked from
    compactions: list[Compaction] = field(default_factory=list)
    # "one-shot" for a `chatrepl "question"` run (hidden from /sessions and the REPL's
    # -c); None for a conversation in the REPL, which is what a file without it is
    kind: str | None = None

    @property
    def compaction(self) -> Compaction | None:
        """What decides the part of the conversation that is sent, if anything does."""
        return self.compactions[-1] if self.compactions else None

    def _history_changed(self, at: int) -> None:
        """Messages from index `at` on were replaced or removed: a compaction that hid
        any of them describes another history now and is dropped (the messages stay)."""
        if self.compactions and any(c.upto > at or c.count > at for c in self.compactions):
            self.compactions = self.cut(at)

    def add_user(self, text: str, attachments: tuple[Attachment, ...] = ()) -> None:
        """Append the user's message."""
        self.messages.append(Message("user", text, attachments=attachments))

    def add_assistant(
        self, text: str, *, reasoning: str = "", stats: TurnStats | None = None
    ) -> Message:
        """Append a finished (or interrupted) reply, and return it."""
        message = Message("assistant", text, reasoning, stats)
        self.messages.append(message)
        return message

    @property
    def pending_user(self) -> str | None:
        """The last user message if it has no reply yet (a failed turn /retry can resend)."""
        if self.messages and self.messages[-1].role == "user":
            return self.messages[-1].content
        return None

    def last_user(self) -> str | None:
        """The most recent user message, answered or not."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return None

    def drop_pending_user(self) -> str | None:
        """Remove an unanswered last user message (e.g. the server rejected it)."""
        text = self.pending_user
        if text is not None:
            self.pop()
        return text

    def pop(self) -> Message:
        """Remove the last message (a reply being replaced)."""
        message = self.messages.pop()
        self._history_changed(len(self.messages))
        if self.forks:
            from chatrepl.core import branches

            self.forks = branches.prune(self.messages, self.forks)
        return message

    def undo(self) -> int:
        """Drop the last exchange (the reply, if any, and its user message); count removed."""
        removed = 0
        if self.messages and self.messages[-1].role == "assistant":
            self.messages.pop()
            removed += 1
        if self.messages and self.messages[-1].role == "user":
            self.messages.pop()
            removed += 1
        self._history_changed(len(self.messages))
        if self.forks:
            from chatrepl.core import branches

            self.forks = branches.prune(self.messages, self.forks)
        return removed

    def clear(self) -> None:
        """Start over."""
        self.messages.clear()
        self.forks = {}
        self.compactions = []

    @property
    def turns(self) -> int:
        """How many user messages the conversation holds."""
        return sum(1 for m in self.messages if m.role == "user")

    def user_index(self, turn: int) -> int | None:
        """The index in `messages` of user message number `turn` (1-based)."""
        seen = 0
        for index, message in enumerate(self.messages):
            if message.role == "user":
                seen += 1
                if seen == turn:
                    return index
        return None

    def replace_from(self, index: int) -> None:
        """Set the messages from `index` on aside as an earlier branch (an unanswered last
        message is simply replaced: there is no answer to keep)."""
        if index == len(self.messages) - 1 and self.messages[index].role == "user":
            self.pop()
            return
        from chatrepl.core import branches

        self._history_changed(index)
        self.messages, self.forks = branches.split_off(self.messages, self.forks, index)

    def switch_branch(self, number: int) -> BranchRow:
        """Make branch `number` (as /branches lists it) the active path; its row."""
        from chatrepl.core import branches

        found = branches.locate(self.messages, self.forks, number)
        if found is None:
            raise IndexError(number)
        self._history_changed(found[0])
        self.messages, self.forks = branches.switch(self.messages, self.forks, *found)
        return branches.rows(self.messages, self.forks)[number - 1]

    def branch_rows(self) -> list[BranchRow]:
        """Every version of every edited turn on the active path."""
        from chatrepl.core import branches

        return branches.rows(self.messages, self.forks)

    def billed(self, start: int = 0) -> Iterator[tuple[int, TurnStats]]:
        """Every reply that was paid for, with its index on the active path: the active
        path's replies (from `start` on), then those of earlier branches and the
        summaries /compact asked for (index -1)."""
        for index in range(start, len(self.messages)):
            message = self.messages[index]
            if message.role == "assistant" and message.stats is not None:
                yield index, message.stats
        todo = list(self.forks.values())
        while todo:
            fork = todo.pop()
            for branch in fork.others:
                for message in branch.messages:
                    if message.role == "assistant" and message.stats is not None:
                        yield -1, message.stats
                todo.extend(branch.forks)
        for compaction in self.compactions:
            if compaction.stats is not None:
                yield -1, compaction.stats

    def cut(self, end: int) -> list[Compaction]:
        """The compactions that still hold for the first `end` messages (a /fork)."""
        return [
            c if c.count <= end else replace(c, count=end)
            for c in self.compactions
            if c.upto <= end
        ]

    def sent(self) -> list[Message]:
        """The messages a request carries: all of them, or those /compact or /trim kept."""
        compaction = self.compaction
        return self.messages if compaction is None else self.messages[compaction.upto :]

    def system_text(self, system: str | None) -> str | None:
        """The system message: the system prompt, then the summary of compacted turns.

        One system message, not two: several chat templates (and APIs that take a single
        system field) refuse a second one.
        """
        compaction = self.compaction
        if compaction is None or not compaction.summary:
            return system
        from chatrepl.core.compaction import summary_note

        note = summary_note(compaction.summary)
        return f"{system}\n\n{note}" if system else note

    def payload(self, settings: Settings, *, image_url: ImageUrl | None = None) -> dict[str, Any]:
        """The /v1/chat/completions body: the system prompt first (with the summary of any
        compacted turns), only the options set, then the extra parameters (`/set`, `-o`,
        a profile's params). Reasoning is asked for the way the settings' dialect
        understands."""
        system = self.system_text(settings.system)
        messages = [{"role": "system", "content": system}] if system else []
        messages += [m.to_api(image_url) for m in self.sent() if m.role != "system"]
        body: dict[str, Any] = {"messages": messages}
        if settings.model:
            body["model"] = settings.model
        if settings.temperature is not None:
            body["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            body["max_tokens"] = settings.max_tokens
        body.update(thinking_options(settings.dialect, settings.think))
        body["stream"] = settings.stream
        if settings.stream:
            body["stream_options"] = {"include_usage": True}
        for key, value in (settings.params or {}).items():
            if key not in RESERVED_KEYS:  # validation refuses them; this is the backstop
                body[key] = value
        return body
