"""The exceptions every layer raises, and the one table of exit codes.

Every message is one line a user can act on. None of them ever carries the API key.
`app.cli.main()` is the only place that turns them into an exit status.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Every exit code chatrepl uses; nothing else in the code spells one out."""

    OK = 0
    API = 1  # the server or the network failed
    USAGE = 2  # a bad flag, config value, file or command
    HANGUP = 129  # 128 + SIGHUP: the terminal went away
    INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
    QUIT = 131  # 128 + SIGQUIT
    TERMINATED = 143  # 128 + SIGTERM

    @classmethod
    def for_signal(cls, signum: int) -> ExitStatus | int:
        """128 + the signal number, as shells report a death by signal."""
        try:
            return cls(128 + signum)
        except ValueError:
            return 128 + signum


class ChatReplError(Exception):
    """Base class: an expected failure, shown as one line, never as a traceback."""

    exit_status = ExitStatus.API


class ConfigError(ChatReplError):
    """A bad config file, environment value or command-line flag."""

    exit_status = ExitStatus.USAGE


class CommandError(ChatReplError):
    """A slash-command with a bad name or value; nothing was changed."""

    exit_status = ExitStatus.USAGE


class ApiError(ChatReplError):
    """The server answered with an error (HTTP status, or an error event in the stream)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked to wait (too long to wait)


class TransportError(ChatReplError):
    """The connection failed: refused, reset, timed out, or the stream was malformed."""


class TranscriptError(ChatReplError):
    """A transcript file that cannot be read or written."""

    exit_status = ExitStatus.USAGE


class LocalModelError(ChatReplError):
    """The bundled llama.cpp server or its model could not be started.

    `missing` names a piece to install ("llama.cpp", "the model"): the app appends the
    command that installs it, worded for how chatrepl itself was installed.
    """

    exit_status = ExitStatus.USAGE

    def __init__(self, message: str, *, missing: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing


class AttachmentError(ChatReplError):
    """A file that cannot be attached (missing, unreadable, binary, too large, or an
    image for a model that takes none); nothing was attached or sent."""

    exit_status = ExitStatus.USAGE


class EditorError(ChatReplError):
    """$VISUAL/$EDITOR is missing, or failed; the input is unchanged."""

    exit_status = ExitStatus.USAGE


class UnexpectedError(ChatReplError):
    """A bug met while a reply was on its way: shown as one line, the session goes on.

    The original exception is its `__cause__`, for `--debug` to show.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(
            f"internal error: {type(cause).__name__}: {cause} (run with --debug for the traceback)"
        )
        self.__cause__ = cause


class TerminatedBySignal(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGQUIT arrived: stop like Ctrl-C (the partial reply is kept and
    saved), then leave with 128 + the signal number instead of carrying on."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class ContextError(ChatReplError):
    """The conversation does not fit the model's context window (nothing was sent, or
    the server refused it); the message waits for /retry after /compact or /trim."""
