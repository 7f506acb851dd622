"""The conversation kept in memory, and the request body built from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatrepl.core.messages import Message, TurnStats
from chatrepl.core.settings import Settings


@dataclass(slots=True)
class Conversation:
    """User and assistant messages in order. The system prompt lives in Settings."""

    messages: list[Message] = field(default_factory=list)

    def add_user(self, text: str) -> None:
        """Append the user's message."""
        self.messages.append(Message("user", text))

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
            self.messages.pop()
        return text

    def undo(self) -> int:
        """Drop the last exchange (the reply, if any, and its user message); count removed."""
        removed = 0
        if self.messages and self.messages[-1].role == "assistant":
            self.messages.pop()
            removed += 1
        if self.messages and self.messages[-1].role == "user":
            self.messages.pop()
            removed += 1
        return removed

    def clear(self) -> None:
        """Start over."""
        self.messages.clear()

    @property
    def turns(self) -> int:
        """How many user messages the conversation holds."""
        return sum(1 for m in self.messages if m.role == "user")

    def payload(self, settings: Settings) -> dict[str, Any]:
        """The /v1/chat/completions body: the system prompt first, only the options set."""
        messages = [{"role": "system", "content": settings.system}] if settings.system else []
        messages += [m.to_api() for m in self.messages if m.role != "system"]
        body: dict[str, Any] = {"messages": messages}
        if settings.model:
            body["model"] = settings.model
        if settings.temperature is not None:
            body["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            body["max_tokens"] = settings.max_tokens
        body["stream"] = settings.stream
        if settings.stream:
            body["stream_options"] = {"include_usage": True}
        return body
