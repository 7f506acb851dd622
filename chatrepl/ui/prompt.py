"""The prompt_toolkit adapter: reads one message at a time.

Enter sends; Esc Enter (Meta+Enter) inserts a newline; a bracketed paste with newlines
stays one message, read in one piece however large (`ui.paste`); Ctrl-Z suspends (and
`fg` redraws the prompt); Ctrl-Space, which terminals send as NUL, does nothing (by
default it starts a selection that the next keys silently replace); Ctrl-X Ctrl-E
opens the input in $VISUAL/$EDITOR. History persists in the state folder (mode 0600)
and never stores a line that holds an API key. Tab completes slash-commands, model
names, roles, parameter names and file paths (after the file commands, and after an
`@` in a message).
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from chatrepl.core.commands.registry import Command
from chatrepl.core.errors import ChatReplError, TerminatedBySignal
from chatrepl.core.text import repair
from chatrepl.ui.paste import fast_paste

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
        """Append to the file unless the line holds a key (bytes that were not UTF-8,
        which the file cannot hold, are stored as U+FFFD)."""
        if KEY_PATTERN.search(string) or any(s and s in string for s in self._secrets()):
            return
        # FileHistory's format, in one write: it writes each line on its own, which
        # takes a quarter of a second for a 5 MB paste
        lines = "".join(f"+{line}\n" for line in repair(string).split("\n"))
        with open(self.filename, "ab") as history:
            history.write(f"\n# {datetime.datetime.now()}\n{lines}".encode())


class ChatCompleter(Completer):
    """Completes `/commands` (with their help), model names after /model, paths after file
    commands."""

    def __init__(
        self,
        commands: Iterable[Command] | Callable[[], list[Command]],
        models: Callable[[], list[str]],
        *,
        roles: Callable[[], list[str]] = list,
        params: Callable[[], list[str]] = list,
        specs: Callable[[], list[str]] = list,
    ) -> None:
        # A callable lets the command list grow once the engine has loaded.
        self._commands = commands if callable(commands) else (lambda fixed=list(commands): fixed)
        self._models = models
        self._roles = roles
        self._params = params
        self._specs = specs  # `profile:` and `@set` words a model spec may start with
        self._paths = PathCompleter(expanduser=True)

    def _path_words(self, word: str, complete_event: CompleteEvent):  # type: ignore[no-untyped-def]
        for found in self._paths.get_completions(Document(word, len(word)), complete_event):
            if found.display_text.endswith("/") and not found.text.endswith("/"):
                # a folder ends with / as in a shell, so the next Tab goes inside it
                # (PathCompleter leaves the slash to be typed)
                found = Completion(
                    found.text + "/",
                    found.start_position,
                    display=found.display,
                    display_meta=found.display_meta,
                )
            yield found

    def _spec_words(self, word: str):  # type: ignore[no-untyped-def]
        """A model, `profile:` then a model, or `@set` (words after /compare)."""
        prefixes = self._specs()
        head, colon, rest = word.partition(":")
        if colon and f"{head}:" in prefixes:
            for model in self._models():
                if model.startswith(rest):
                    yield Completion(f"{head}:{model}", -len(word))
            return
        for candidate in [*self._models(), *prefixes]:
            if candidate.startswith(word):
                yield Completion(candidate, -len(word))

    def get_completions(self, document: Document, complete_event: CompleteEvent):  # type: ignore[no-untyped-def]
        """Yield completions for the text before the cursor."""
        text = document.text_before_cursor
        if not text.startswith("/") or text.startswith("//"):
            # `@path` anywhere in a message attaches that file; only the last word is
            # looked at (splitting a 5 MB paste into words took most of a second)
            word = "" if not text or text[-1].isspace() else text.rsplit(None, 1)[-1]
            if word.startswith("@") and not word.startswith('@"'):
                yield from self._path_words(word[1:], complete_event)
            return
        if "\n" in text:
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
        elif command.completes == "specs":
            yield from self._spec_words(arg.rsplit(" ", 1)[-1])
        elif command.completes == "commands":
            for other in commands:
                if other.name.startswith(arg):
                    yield Completion(other.name, -len(arg), display_meta=other.help)
        elif command.completes == "paths":
            yield from self._path_words(arg, complete_event)
        elif command.completes == "files":  # several paths: the last one
            yield from self._path_words(arg.rsplit(" ", 1)[-1], complete_event)
        elif command.completes in ("roles", "params") and " " not in arg:
            names = self._roles() if command.completes == "roles" else self._params()
            for name in names:
                if name.startswith(arg):
                    yield Completion(name, -len(arg))


Edit = Callable[[str], str]  # the text in $VISUAL/$EDITOR; raises ChatReplError


@Condition
def _folder_chosen() -> bool:
    """A folder (a path completion ending in /) is selected in the completion menu."""
    from prompt_toolkit.application import get_app

    state = get_app().current_buffer.complete_state
    chosen = state.current_completion if state is not None else None
    return chosen is not None and chosen.text.endswith("/")


def _key_bindings(edit: Edit | None) -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event):  # type: ignore[no-untyped-def]
        event.current_buffer.insert_text("\n")

    @bindings.add("tab", filter=_folder_chosen)
    def _into_folder(event: KeyPressEvent) -> None:
        # Tab on a folder picked from the menu goes into it and lists what it holds,
        # as a shell does; prompt_toolkit's Tab would cycle back to what was typed
        buffer = event.current_buffer
        state = buffer.complete_state
        assert state is not None and state.current_completion is not None
        buffer.apply_completion(state.current_completion)
        buffer.start_completion(insert_common_part=True)

    @bindings.add("c-@")  # Ctrl-Space arrives as NUL
    def _nothing(event: KeyPressEvent) -> None:
        pass

    if edit is not None:

        @bindings.add("c-x", "c-e")
        def _in_editor(event: KeyPressEvent) -> None:
            _open_in_editor(event, edit)

    return bindings


def _open_in_editor(event: KeyPressEvent, edit: Edit) -> None:
    """Hand the input to the editor on the terminal; put what it saved back."""
    from prompt_toolkit.application import run_in_terminal

    buffer = event.current_buffer
    output = event.app.output
    result: list[str] = []

    def run() -> None:
        try:
            result.append(edit(buffer.text))
        except ChatReplError as exc:  # one line above the prompt; the input is kept
            output.write_raw(f"error: {exc}\n")
            output.flush()

    async def edit_then_refill() -> None:
        await run_in_terminal(run, in_executor=True)
        if result:
            buffer.document = Document(result[0], cursor_position=len(result[0]))

    event.app.create_background_task(edit_then_refill())


class PromptReader:
    """Reads the user's next line; None at end of input (Ctrl-D)."""

    def __init__(
        self,
        *,
        history_path: Path | None,
        commands: Iterable[Command] | Callable[[], list[Command]],
        models: Callable[[], list[str]],
        toolbar: Callable[[], str | FormattedText],
        secrets: Callable[[], Iterable[str]] = tuple,
        roles: Callable[[], list[str]] = list,
        params: Callable[[], list[str]] = list,
        specs: Callable[[], list[str]] = list,
        edit: Edit | None = None,
        input: Input | None = None,
        output: Output | None = None,
        erase_when_done: bool = False,
    ) -> None:
        history = SecretFilteringHistory(history_path, secrets) if history_path else None
        self._input, self._output = input, output
        self._session: PromptSession[str] = PromptSession(
            history=history,
            completer=ChatCompleter(commands, models, roles=roles, params=params, specs=specs),
            complete_while_typing=True,
            key_bindings=_key_bindings(edit),
            bottom_toolbar=lambda: toolbar(),
            prompt_continuation=lambda width, line, soft: "." * (width - 1) + " ",
            enable_history_search=False,
            enable_suspend=True,  # Ctrl-Z: back to the shell; `fg` redraws
            input=input,  # None: the current app session's (tests pass a pipe)
            output=output,
            # `chatrepl | tee log`: the log's copy of the line, shown by tee, replaces it
            erase_when_done=erase_when_done,
        )
        fast_paste(self._session.input)

    def read(self, default: str = "") -> str | None:
        """The next message or command (`default` already typed, the cursor at its end).
        Ctrl-C clears the line (returns "")."""
        try:
            return self._session.prompt("> ", default=default)
        except TerminatedBySignal:
            raise  # SIGTERM and friends end the run; only Ctrl-C clears the line
        except KeyboardInterrupt:
            return ""
        except EOFError:
            return None

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question (no history, no completion); only y or yes is a yes."""
        asker: PromptSession[str] = PromptSession(input=self._input, output=self._output)
        try:
            answer = asker.prompt(f"{question} [y/N] ")
        except TerminatedBySignal:
            raise
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")
