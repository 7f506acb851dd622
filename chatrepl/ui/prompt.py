"""The prompt_toolkit adapter: reads one message at a time.

Enter sends; Esc Enter (Meta+Enter) inserts a newline; a bracketed paste with newlines
stays one message. History persists in the state folder (mode 0600) and never stores a
line that holds an API key. Tab completes slash-commands, model names and file paths.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.output import Output

from chatrepl.core.commands.registry import Command

# Shapes of API keys (Heroku `inf-`, OpenAI `sk-`, and long bearer-looking tokens).
KEY_PATTERN = re.compile(r"\b(?:inf|sk|sk-proj|hf|gsk|xai)-[A-Za-z0-9_\-]{16,}")


class SecretFilteringHistory(FileHistory):
    """A FileHistory that refuses lines holding a key, in a file only the user can read."""

    def __init__(self, path: Path, secrets: Callable[[], Iterable[str]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        super().__init__(str(path))
        self._secrets = secrets

    def store_string(self, string: str) -> None:
        """Append to the file unless the line holds a key."""
        if KEY_PATTERN.search(string) or any(s and s in string for s in self._secrets()):
            return
        super().store_string(string)


class ChatCompleter(Completer):
    """Completes `/commands` (with their help), model names after /model, paths after file
    commands."""

    def __init__(
        self,
        commands: Iterable[Command] | Callable[[], list[Command]],
        models: Callable[[], list[str]],
    ) -> None:
        # A callable lets the command list grow once the engine has loaded.
        self._commands = commands if callable(commands) else (lambda fixed=list(commands): fixed)
        self._models = models
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event: CompleteEvent):  # type: ignore[no-untyped-def]
        """Yield completions for the text before the cursor."""
        text = document.text_before_cursor
        if not text.startswith("/") or text.startswith("//") or "\n" in text:
            return
        name, space, arg = text[1:].partition(" ")
        if not space:
            for command in self._commands():
                for candidate in (command.name, *command.aliases):
                    if candidate.startswith(name.lower()):
                        yield Completion("/" + candidate, -len(text), display_meta=command.help)
                        break
            return
        commands = self._commands()
        command = next((c for c in commands if name.lower() in (c.name, *c.aliases)), None)
        if command is None:
            return
        if command.completes == "models":
            word = arg.rsplit(" ", 1)[-1]  # /compare takes several
            for model in self._models():
                if model.startswith(word):
                    yield Completion(model, -len(word))
        elif command.completes == "commands":
            for other in commands:
                if other.name.startswith(arg):
                    yield Completion(other.name, -len(arg), display_meta=other.help)
        elif command.completes == "paths":
            sub = Document(arg, len(arg))
            yield from self._paths.get_completions(sub, complete_event)


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event):  # type: ignore[no-untyped-def]
        event.current_buffer.insert_text("\n")

    return bindings


class PromptReader:
    """Reads the user's next line; None at end of input (Ctrl-D)."""

    def __init__(
        self,
        *,
        history_path: Path | None,
        commands: Iterable[Command] | Callable[[], list[Command]],
        models: Callable[[], list[str]],
        toolbar: Callable[[], str],
        secrets: Callable[[], Iterable[str]] = tuple,
        input: Input | None = None,
        output: Output | None = None,
    ) -> None:
        history = SecretFilteringHistory(history_path, secrets) if history_path else None
        self._session: PromptSession[str] = PromptSession(
            history=history,
            completer=ChatCompleter(commands, models),
            complete_while_typing=True,
            key_bindings=_key_bindings(),
            bottom_toolbar=lambda: toolbar(),
            prompt_continuation=lambda width, line, soft: "." * (width - 1) + " ",
            enable_history_search=False,
            input=input,  # None: the current app session's (tests pass a pipe)
            output=output,
        )

    def read(self, default: str = "") -> str | None:
        """The next message or command. Ctrl-C clears the line (returns "")."""
        try:
            return self._session.prompt("> ", default=default)
        except KeyboardInterrupt:
            return ""
        except EOFError:
            return None
