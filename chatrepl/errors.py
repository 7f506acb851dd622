"""The exceptions every layer raises; `cli.main()` maps them to exit codes.

Every message is one line a user can act on. None of them ever carries the API key.
"""

from __future__ import annotations


class ChatReplError(Exception):
    """Base class: an expected failure, shown as one line, never as a traceback."""

    exit_code = 1


class ConfigError(ChatReplError):
    """A bad config file, environment value or command-line flag."""

    exit_code = 2


class CommandError(ChatReplError):
    """A slash-command with a bad name or value; nothing was changed."""

    exit_code = 2


class ApiError(ChatReplError):
    """The server answered with an error (HTTP status, or an error event in the stream)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class TransportError(ChatReplError):
    """The connection failed: refused, reset, timed out, or the stream was malformed."""


class TranscriptError(ChatReplError):
    """A transcript file that cannot be read or written."""

    exit_code = 2


class LocalModelError(ChatReplError):
    """The bundled llama.cpp server or its model could not be started."""

    exit_code = 2
