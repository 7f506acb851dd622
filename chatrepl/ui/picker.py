"""Reading one choice from a numbered list at the prompt, with Tab completion of names."""

from __future__ import annotations

from collections.abc import Sequence

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from chatrepl.core.errors import TerminatedBySignal


class ChoiceReader:
    """Asks for a number or a name; Tab completes the names."""

    def __init__(
        self, choices: Sequence[str], *, input: Input | None = None, output: Output | None = None
    ) -> None:
        completer = WordCompleter(list(choices), sentence=True, match_middle=False)
        self._session: PromptSession[str] = PromptSession(
            completer=completer,
            complete_while_typing=True,
            input=input,
            output=output,
        )

    def read(self, prompt: str) -> str | None:
        """The typed answer; None on Ctrl-C or Ctrl-D (the user declined to choose)."""
        try:
            return self._session.prompt(prompt)
        except TerminatedBySignal:
            raise  # SIGTERM and friends end the run, not just the choice
        except (KeyboardInterrupt, EOFError):
            return None
