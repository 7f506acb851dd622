"""Slash-commands: parsing, the registry, and what a handler may touch.

A handler takes `(ctx, args)`: it changes state only through the `CommandContext`
methods (the engine implements them), shows things through `ctx.view`, and raises
CommandError (one line naming the valid values) for a bad argument, having changed
nothing. It may return the `Outcome` of a turn it ran. The registry's metadata drives
/help and tab completion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import CommandError
from chatrepl.core.messages import RateLimits
from chatrepl.core.ports import SessionStore, View
from chatrepl.core.reply import Outcome
from chatrepl.core.settings import Layer, Settings, closest
from chatrepl.core.transcript import Transcript

if TYPE_CHECKING:  # annotations only: kept off the path to the first prompt
    from chatrepl.core.attachments import Attached, Staged
    from chatrepl.core.branches import BranchRow
    from chatrepl.core.comparison import Comparison, Target
    from chatrepl.core.context import Reading, Window
    from chatrepl.core.messages import Attachment, Compaction, Message
    from chatrepl.core.ports import CopyReport, SearchIndex, VoteStore
    from chatrepl.core.pricing import Price, UsageRow
    from chatrepl.core.search import Hit, SearchQuery


class CommandContext(Protocol):
    """What a command handler may read and do: the engine, seen from a command."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sources(self) -> Mapping[str, str]: ...
    @property
    def conversation(self) -> Conversation: ...
    @property
    def known_models(self) -> Sequence[str]: ...
    @property
    def view(self) -> View: ...
    @property
    def store(self) -> SessionStore | None: ...
    @property
    def registry(self) -> CommandRegistry: ...
    @property
    def roles(self) -> Mapping[str, Layer]: ...
    @property
    def pending(self) -> Sequence[Staged]: ...
    @property
    def rate_limits(self) -> RateLimits | None: ...
    @property
    def last_comparison(self) -> Comparison | None: ...
    @property
    def votes(self) -> VoteStore | None: ...

    def set(self, key: str, value: Any, source: str) -> None:
        """Change a setting, remembering its source."""
        ...

    def set_param(self, key: str, value: Any, source: str) -> None:
        """Set a request parameter (None removes it)."""
        ...

    def use_role(self, name: str | None) -> Layer | None:
        """Take on a role (None: drop the current one)."""
        ...

    def list_models(self) -> list[str]:
        """Ask the endpoint for its models (and remember them)."""
        ...

    def load(self, loaded: Transcript, *, source: str, keep_flags: bool = False) -> None:
        """Continue a loaded conversation."""
        ...

    def new_conversation(self) -> None:
        """Start over."""
        ...

    def undo(self) -> int:
        """Drop the last exchange; how many messages went."""
        ...

    def retry(self) -> Outcome:
        """Resend the last user message."""
        ...

    def screen_width(self) -> int | None:
        """The screen's width in columns, if known (lines cut to fit it)."""
        ...

    @property
    def autosaving(self) -> bool:
        """Whether every change is saved (off under --no-save until /save)."""
        ...

    def save_now(self) -> str:
        """Write the session file now, and autosave from then on; its path."""
        ...

    def compare(
        self, targets: list[Target], question: str | None = None, *, blind: bool = False
    ) -> Comparison:
        """Ask several targets at once and show the replies live, side by side."""
        ...

    def reveal(self) -> None:
        """Show which model gave which reply of the last blind comparison."""
        ...

    def targets(self, words: Sequence[str]) -> list[Target]:
        """Model specs as Targets (one alone is compared with the session's model)."""
        ...

    def compare_mode(self, specs: Sequence[str] | None, *, blind: bool = False) -> None:
        """Compare every following message on these specs (None: stop)."""
        ...

    @property
    def compare_specs(self) -> tuple[str, ...] | None:
        """The specs /compare on compares every message on, if it is on."""
        ...

    def pick(self, name: str, *, keep_model: bool = False) -> Message:
        """Keep one reply of the last comparison as the turn's."""
        ...

    def payload_for(self, target: Target, conversation: Conversation) -> dict[str, Any]:
        """The request body a comparison sends `target`."""
        ...

    def continue_reply(self) -> Outcome:
        """Ask the model to go on with a reply that stopped early."""
        ...

    def begin_edit(self, turn: int | None = None) -> Outcome:
        """Put a user message in the prompt; the next message sent replaces it."""
        ...

    def branches(self) -> list[BranchRow]:
        """Every version of every edited turn."""
        ...

    def switch_branch(self, number: int) -> BranchRow:
        """Make a listed branch the active path."""
        ...

    def fork(self, turn: int | None = None, name: str | None = None) -> Path | None:
        """Go on in a new session file; its path."""
        ...

    def rename(self, name: str | None) -> None:
        """Name the session."""
        ...

    def remove_session(self, path: Path) -> None:
        """Delete a saved session."""
        ...

    def attach(self, paths: Sequence[str]) -> Attached:
        """Read files to join the next message."""
        ...

    def detach(self) -> int:
        """Drop the waiting files; how many."""
        ...

    def keep_images(self) -> None:
        """Put in-memory images into the image folder (before a transcript is written)."""
        ...

    def image_url(self, attachment: Attachment) -> str:
        """An image as a data: URL."""
        ...

    def copy(self, text: str) -> CopyReport:
        """Put text on the clipboard(s)."""
        ...

    def edit_text(self, text: str) -> str:
        """Let the user edit text in $VISUAL/$EDITOR."""
        ...

    @property
    def prices(self) -> Mapping[str, Price]: ...
    @property
    def index(self) -> SearchIndex | None: ...

    def now(self) -> float:
        """The wall clock, seconds since the epoch."""
        ...

    def reading(self) -> Reading:
        """How full the model's context window is."""
        ...

    def window(self) -> Window | None:
        """The model's context window, if known."""
        ...

    def compact(self, keep: int | None = None) -> Compaction:
        """Summarise the older turns; send the summary in their place."""
        ...

    def trim(self, keep: int | None = None, *, target: bool = True) -> Compaction:
        """Stop sending the oldest turns."""
        ...

    def send_everything(self) -> Compaction:
        """Send the whole conversation again."""
        ...

    def describe_compaction(self, record: Compaction) -> str:
        """One line on what a compaction did."""
        ...

    def session_usage(self) -> list[UsageRow]:
        """Every reply this conversation paid for."""
        ...

    def search(self, query: SearchQuery) -> list[Hit]:
        """Search every saved session (`/load N` opens a hit)."""
        ...

    def show_turn(self, turn: int) -> None:
        """Show one turn of the conversation."""
        ...


Handler = Callable[[CommandContext, str], "Outcome | None"]
# what Tab completes after the command: "paths" is one path (spaces allowed), "files"
# several (the last word), "roles" and "params" names from the config and the table
# "specs" several model specs: models, `profile:` names and `@set` names
Completes = Literal["models", "specs", "paths", "files", "commands", "roles", "params"] | None


@dataclass(frozen=True, slots=True)
class Command:
    """A slash-command and what /help and completion say about it."""

    name: str
    handler: Handler
    help: str
    args: str = ""
    aliases: tuple[str, ...] = ()
    completes: Completes = None


@dataclass(frozen=True, slots=True)
class CommandCall:
    """A parsed `/name args` line."""

    name: str
    args: str


@dataclass(frozen=True, slots=True)
class UserText:
    """A line to send to the model."""

    text: str


def parse(line: str) -> CommandCall | UserText:
    """`/name args` is a command; `//text` sends `/text`; anything else is a message."""
    if line.startswith("//"):
        return UserText(line[1:])
    if line.startswith("/") and len(line) > 1 and not line[1].isspace():
        name, _, args = line[1:].partition(" ")
        if "\n" in name:
            name, _, rest = name.partition("\n")
            args = rest + (" " + args if args else "")
        return CommandCall(name.lower(), args.strip())
    return UserText(line)


class CommandRegistry:
    """Commands by name and alias."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: list[Command] = []
        self._by_name: dict[str, Command] = {}
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> None:
        """Register a command under its name and aliases."""
        for name in (command.name, *command.aliases):
            if name in self._by_name:
                raise ValueError(f"duplicate command /{name}")
            self._by_name[name] = command
        self._commands.append(command)

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands)

    def names(self) -> list[str]:
        """Every name and alias."""
        return list(self._by_name)

    def find(self, name: str) -> Command:
        """The command called `name`, or a CommandError suggesting the closest."""
        if name in self._by_name:
            return self._by_name[name]
        prefixed = [c for c in self._by_name if c.startswith(name)]
        if len({self._by_name[c].name for c in prefixed}) == 1:
            return self._by_name[prefixed[0]]
        hint = closest(name, self.names()) or (prefixed[0] if prefixed else None)
        tip = f"; did you mean /{hint}?" if hint else ""
        raise CommandError(f"unknown command /{name}{tip} (/help lists them)")


def take_options(
    words: list[str], names: tuple[str, ...], *, strict: str | None = None
) -> tuple[dict[str, str], list[str]]:
    """`--name value` and `--name=value` for each of `names`, and the other words in order.

    With `strict` (a usage line), any other word is an error naming it instead.
    """
    options: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(words):
        name, eq, value = words[i].partition("=")
        if name not in names:
            if strict is not None:
                raise CommandError(f"unknown option {words[i]!r}; {strict}")
            rest.append(words[i])
        else:
            if not eq:
                if i + 1 >= len(words):
                    suffix = f"; {strict}" if strict is not None else ""
                    raise CommandError(f"{name} needs a value{suffix}")
                value = words[i + 1]
                i += 1
            options[name] = value
        i += 1
    return options, rest
