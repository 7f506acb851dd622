"""The engine: one entry point, `handle(line)`, for every command and every turn.

It owns the session state (settings with provenance, the conversation, known models,
the files waiting for the next message) and talks to the world only through its ports:
a Backend, a View, a SessionStore, and the optional Files, Clipboard and Editor. Nothing
outside changes that state except through its methods, and each line returns an
`Outcome` for the caller to act on. Failures become one line on the View; the
conversation is never left in a state that loses what the user typed (a message that
could not be sent comes back as the next prompt's text), and every change reaches the
session file before the next prompt.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from chatrepl.core import attachments as files_rules
from chatrepl.core.attachments import Attached, Limits, Staged
from chatrepl.core.branches import BranchRow
from chatrepl.core.commands.registry import Command, CommandCall, CommandRegistry, parse
from chatrepl.core.compare import Job, fan_out
from chatrepl.core.comparison import Comparison, Target, blind_order
from chatrepl.core.context import Meter, is_overflow
from chatrepl.core.context_engine import ContextWindow
from chatrepl.core.conversation import Conversation
from chatrepl.core.dialect import Detected, temperature_problem, think_problem
from chatrepl.core.errors import (
    ApiError,
    AttachmentError,
    ChatReplError,
    CommandError,
    TranscriptError,
    UnexpectedError,
)
from chatrepl.core.messages import Attachment, Message, RateLimits
from chatrepl.core.picking import SETTING_FIELDS, Comparing
from chatrepl.core.ports import (
    Backend,
    Clipboard,
    CopyReport,
    Editor,
    Endpoints,
    Files,
    SearchIndex,
    SessionStore,
    View,
    VoteStore,
    WindowProbe,
)
from chatrepl.core.pricing import Price
from chatrepl.core.reply import Clock, CompareResult, Outcome, Reply, ReplyCollector, drain
from chatrepl.core.settings import Layer, Resolved, Settings, find_role
from chatrepl.core.text import needs_repair, repair
from chatrepl.core.transcript import Transcript, settings_of

# what /continue asks, as a user message that is never stored
CONTINUE_PROMPT = (
    "Continue exactly where your last reply stopped. Do not repeat anything and add no "
    "preamble: start with the very next character."
)


class Engine(ContextWindow, Comparing):
    """Dispatches lines to commands or turns; keeps the conversation consistent (and,
    with ContextWindow, inside the model's window; with Comparing, turns comparisons
    into turns)."""

    def __init__(
        self,
        resolved: Resolved,
        backend: Backend,
        view: View,
        *,
        commands: Iterable[Command] = (),
        store: SessionStore | None = None,
        files: Files | None = None,
        clipboard: Clipboard | None = None,
        editor: Editor | None = None,
        roles: Mapping[str, Layer] | None = None,
        windows: Mapping[str, int] | None = None,
        prices: Mapping[str, Price] | None = None,
        probe: WindowProbe | None = None,
        index: SearchIndex | None = None,
        autosave: bool | None = None,
        conversation: Conversation | None = None,
        interactive: bool = True,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        columns: Callable[[], int | None] | None = None,
        endpoints: Endpoints | None = None,
        profiles: Sequence[str] = (),
        compare_sets: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._resolved = resolved
        self.backend = backend
        self.view = view
        self.store = store
        self.files = files
        self.clipboard = clipboard
        self.editor = editor
        self._roles: Mapping[str, Layer] = roles or {}
        self._pending: list[Staged] = []
        self._editing: tuple[int, list[Staged]] | None = None  # /edit: (index, pending before)
        self._kept: set[str] = set()  # sha256 of the images already in the image folder
        # autosave defaults to the setting; /save under --no-save still writes once
        self._autosave = resolved.settings.autosave if autosave is None else autosave
        self._conversation = conversation if conversation is not None else Conversation()
        self.registry = CommandRegistry(commands)
        self.interactive = interactive  # one-shot mode has no /retry or ↑ to suggest
        self._known_models: tuple[str, ...] = ()
        self._limits: RateLimits | None = None
        self._clock = clock
        self._wall_clock = wall_clock
        self._columns = columns  # the screen's width, for lines cut to fit (the recap)
        self.windows: Mapping[str, int] = windows or {}  # [models."NAME"] context
        self.prices: Mapping[str, Price] = prices or {}  # [prices."NAME"]
        self.probe = probe
        self.index = index
        self._meter = Meter()
        self._reported: dict[str, int | None] = {}  # model -> the window its server reported
        self._warned = False  # the 80 % warning is given once per conversation
        self._held = False  # the last message was held back as too big: /retry sends it
        self._was_held = False
        self._compared_tail: tuple[int, Message | None] | None = None
        self.last_comparison = None  # what /pick and /vote act on (see Comparing)
        # called with (comparison, target index) when a reply is picked: a pick is a vote
        self.pick_listeners: list[Callable[[Comparison, int], None]] = []
        self.rng = random.Random()  # blind orders; tests seed their own
        self.endpoints = endpoints  # a profile's endpoint, for `profile:model` specs
        self.profiles = tuple(profiles)  # the config's profiles (a spec's `name:`)
        self.compare_sets = dict(compare_sets or {})  # [compare.sets.NAME]
        self.compare_specs: tuple[str, ...] | None = None  # /compare on SPECS
        self.compare_blind = False
        self.votes: VoteStore | None = None  # where votes are recorded (set by the wiring)

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

    @property
    def roles(self) -> Mapping[str, Layer]:
        """The config file's roles, by name."""
        return self._roles

    @property
    def pending(self) -> Sequence[Staged]:
        """The files waiting to join the next message."""
        return tuple(self._pending)

    @property
    def rate_limits(self) -> RateLimits | None:
        """The rate-limit headers of the last response, if the server sent any."""
        return self._limits

    def set(self, key: str, value: Any, source: str) -> None:
        """Change one setting (from a slash-command), remembering its source."""
        if isinstance(value, str):
            value = repair(value)  # it is saved and sent: it must be writable as UTF-8
        self._resolved = self._resolved.with_value(key, value, source)
        self._changed()

    def set_param(self, key: str, value: Any, source: str) -> None:
        """Set one request parameter (None removes it), remembering its source."""
        self._resolved = self._resolved.with_param(key, value, source)
        self._changed()

    def use_role(self, name: str | None) -> Layer | None:
        """Take on a role's system prompt (and model, params), or drop the current one."""
        role = None if name is None else find_role(self._roles, name)
        resolved = self._resolved
        # what the previous role brought goes with it
        for key, source in list(resolved.sources.items()):
            if key.startswith("params.") and source.startswith(("role ", "/role ")):
                resolved = resolved.with_param(key.removeprefix("params."), None, "/role")
        if resolved.sources.get("system", "").startswith(("role ", "/role ")):
            resolved = resolved.with_value("system", None, "/role off")
        if role is None:
            resolved = resolved.with_value("role", None, "/role off")
        else:
            source = f"/role {name}"
            for key, value in role.values.items():
                if key == "params":
                    for param, v in value.items():
                        resolved = resolved.with_param(param, v, source)
                else:
                    resolved = resolved.with_value(key, value, source)
        self._resolved = resolved
        self._changed()
        return role

    def list_models(self) -> list[str]:
        """Ask the endpoint for its models and remember them."""
        self.set_known_models(self.backend.list_models())
        return list(self._known_models)

    def set_known_models(self, models: Iterable[str]) -> None:
        """Remember the endpoint's models (fetched in the background, or by /models)."""
        self._known_models = tuple(sorted(set(models)))

    def detected(self, found: Detected) -> None:
        """A dialect the server announced; it replaces only a default or detected one."""
        source = self.sources.get("dialect", "default")
        if found.name == self.settings.dialect or not source.startswith(("default", "detected")):
            return
        self._resolved = self._resolved.with_value("dialect", found.name, found.why)

    def load(self, loaded: Transcript, *, source: str, keep_flags: bool = False) -> None:
        """Continue a loaded conversation with the settings it recorded.

        With `keep_flags`, a value given as a flag wins: `--load chat.json -m other`
        continues a conversation with another model.
        """
        # a role named with --role is a flag too: what it brought wins like one
        flag_role = self.sources.get("role", "").startswith("flag")
        for key, value in loaded.settings.items():
            # the profile chooses the endpoint, so the app picks it before the engine exists
            if key == "profile" or value is None:
                continue
            if keep_flags and flag_role and self.sources[key].startswith("role "):
                continue
            if keep_flags and self.sources[key].startswith("flag"):
                if key != "params":
                    continue
                # a flag's -o KEY=VALUE wins over the transcript's, key by key
                flagged = {
                    k: v
                    for k, v in (self.settings.params or {}).items()
                    if self.sources.get(f"params.{k}", "").startswith("flag")
                }
                self._resolved = self._resolved.with_value(key, value, source)
                for k, v in flagged.items():
                    self._resolved = self._resolved.with_param(k, v, f"flag -o {k}")
                continue
            self._resolved = self._resolved.with_value(key, value, source)
        if self.interactive:
            # a one-shot run's session opened in the REPL goes on as a conversation
            loaded.conversation.kind = None
        self._conversation = loaded.conversation
        self._editing = None
        self._warned = False
        self._changed()

    def new_conversation(self) -> None:
        """Start over in a new session file (saved at once, so `-c` resumes this one)."""
        self._conversation = Conversation()
        self._editing = None
        self._warned = False
        if self.store is not None:
            self.store.start_new()
        self._changed()

    def fork(self, turn: int | None = None, name: str | None = None) -> Path | None:
        """Go on in a new session file holding this conversation (up to `turn`); the
        original file is left as it is. The new file's path (None under --no-save)."""
        if self.store is None:
            raise CommandError("this session has no sessions folder to fork into")
        conversation = self._conversation
        if not conversation.messages:
            raise CommandError("nothing to fork yet")
        end = len(conversation.messages)
        if turn is not None:
            if not 1 <= turn <= conversation.turns:
                raise CommandError(f"no turn {turn}: the conversation has {conversation.turns}")
            end = conversation.user_index(turn + 1) or end
        parent = self.store.current.name if self.store.current is not None else None
        kept = conversation.messages[:end]
        forks = {at: f for at, f in conversation.forks.items() if at < len(kept)}
        self.store.start_new()
        compactions = conversation.cut(end)
        self._conversation = Conversation(
            list(kept), forks, name=name, parent=parent, compactions=compactions
        )
        self._editing = None
        self._warned = False
        self._changed()
        return self.store.current if self._autosave else None

    def rename(self, name: str | None) -> None:
        """Name the session (None removes the name)."""
        self._conversation.name = name
        self._changed()

    def remove_session(self, path: Path) -> None:
        """Delete a saved session (never the current one)."""
        if self.store is None:
            raise CommandError("this session has no sessions folder")
        if self.store.current is not None and path == self.store.current:
            raise CommandError("that is the current session: /clear or /load another first")
        self.store.remove(path)

    def undo(self) -> int:
        """Drop the last exchange; how many messages went."""
        removed = self._conversation.undo()
        if removed:
            self._changed()
        return removed

    def checkpoint(self) -> None:
        """Bring the session file up to date (autosave permitting): the last thing done
        on the way out, in case a signal cut the previous save short."""
        self._changed()

    def screen_width(self) -> int | None:
        """How many columns the screen has now (None: not a terminal, or not known)."""
        return self._columns() if self._columns is not None else None

    @property
    def autosaving(self) -> bool:
        """Whether every change reaches the session file (off: --no-save, until /save)."""
        return self._autosave

    def save_now(self) -> str:
        """Write the session file now (even with autosave off), and keep saving after."""
        if self.store is None:
            raise CommandError("this session has no sessions folder to save to")
        self.keep_images()
        path = self.store.save(self._conversation, settings_of(self.settings))
        if not self._autosave:
            # a conversation worth one /save is worth every later turn: saving is on
            # from here, and /settings says why
            self._autosave = True
            self._resolved = self._resolved.with_value("autosave", True, "/save")
        return str(path) if path is not None else ""

    # --- branches -------------------------------------------------------------

    def begin_edit(self, turn: int | None = None) -> Outcome:
        """Put user message `turn` (default: the last) in the prompt; the next message
        sent replaces it, and what followed it stays as an earlier branch."""
        conversation = self._conversation
        if not conversation.turns:
            raise CommandError("nothing to edit yet: the conversation is empty")
        number = conversation.turns if turn is None else turn
        index = conversation.user_index(number)
        if index is None or number < 1:
            raise CommandError(f"no message {turn}: the conversation has {conversation.turns}")
        message = conversation.messages[index]
        typed, staged = self._unpack(message)
        self._editing = (index, list(self._pending))
        self._pending = staged
        if typed.startswith("/"):
            typed = "/" + typed  # it was sent as //text: Enter must not run it as a command
        if staged:
            self.view.info(
                f"editing message {number}; its {_plural(len(staged), 'attachment')} stay "
                "attached (/attachments, /detach)"
            )
        return Outcome(prefill=typed)

    def _unpack(self, message: Message) -> tuple[str, list[Staged]]:
        """The text the user typed and the files that went with it, ready to resend."""
        split = files_rules.split_blocks(message.content, message.attachments)
        if split is None:  # not the blocks chatrepl writes: edit the text as it stands
            return message.content, [Staged(a) for a in message.images]
        typed, texts = split
        staged, it = [], iter(texts)
        for attachment in message.attachments:
            staged.append(Staged(attachment, None if attachment.is_image else next(it)))
        return typed, staged

    def branches(self) -> list[BranchRow]:
        """Every version of every edited turn on the active path."""
        return self._conversation.branch_rows()

    def switch_branch(self, number: int) -> BranchRow:
        """Make branch `number` (from /branches) the active path."""
        try:
            row = self._conversation.switch_branch(number)
        except IndexError:
            count = len(self._conversation.branch_rows())
            known = f"/branches lists {count}" if count else "no turn has been edited yet"
            raise CommandError(f"no branch {number}: {known}") from None
        self._editing = None
        self._changed()
        return row

    # --- files ------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        """The attach_max_* settings."""
        s = self.settings
        return Limits(file=s.attach_max_file, total=s.attach_max_total, count=s.attach_max_files)

    def _files(self) -> Files:
        if self.files is None:
            raise AttachmentError("attaching files is not available in this session")
        return self.files

    def attach(self, paths: Sequence[str]) -> Attached:
        """Read files to join the next message; all of them, or (one line) none."""
        attached = self._files().read(paths, limits=self.limits, staged=self._pending)
        self._check_images([*self._pending, *attached.staged])
        self._pending.extend(attached.staged)
        return attached

    def detach(self) -> int:
        """Drop the files waiting for the next message; how many went."""
        count = len(self._pending)
        self._pending.clear()
        return count

    def _check_images(self, staged: Sequence[Staged], history: Sequence[Message] = ()) -> None:
        images = sum(1 for s in staged if s.attachment.is_image)
        images += sum(len(m.images) for m in history)
        model = self.settings.model
        if images and not files_rules.takes_images(model, self.settings.image_models):
            raise AttachmentError(
                f"model {model or '(the server default)'} does not take images "
                f"({_plural(images, 'image')} here): /detach, switch with /model, or add "
                "it to image_models in the config file"
            )

    def _mentioned(self, text: str) -> Attached:
        """The files a message names with @path (a path-like one that is missing is an
        error; "@alice" is just text)."""
        found: list[str] = []
        for mention in files_rules.mentions(text):
            files = self._files()
            path = next((p for p in mention.readings() if files.exists(p)), None)
            if path is not None:
                found.append(path)
            elif mention.looks_like_path:
                raise AttachmentError(
                    f"@{mention.path}: no such file or folder; nothing was sent "
                    "(a space after the @ sends it as text)"
                )
        if not found:
            return Attached(())
        return self._files().read(found, limits=self.limits, staged=self._pending)

    def keep_images(self) -> None:
        """Put every in-memory image of the conversation into the image folder."""
        if self.files is None:
            return
        for message in self._conversation.messages:
            if not message.attachments:  # the common case, and cheap: autosave runs this
                continue
            for image in message.images:
                if image.data is not None and image.sha256 not in self._kept:
                    self.files.keep(image)
                    self._kept.add(image.sha256)

    def image_url(self, attachment: Attachment) -> str:
        """An image as the data: URL an `image_url` content part carries."""
        data = attachment.data
        if data is None:
            data = self._files().load(attachment)
        return f"data:{attachment.media_type};base64,{base64.b64encode(data).decode('ascii')}"

    # --- the clipboard and the editor ---------------------------------------------

    def copy(self, text: str) -> CopyReport:
        """Put text on the clipboard(s)."""
        if self.clipboard is None:
            raise CommandError("no clipboard in this session")
        return self.clipboard.copy(text)

    def edit_text(self, text: str) -> str:
        """Let the user edit text in $VISUAL/$EDITOR."""
        if self.editor is None:
            raise CommandError("no editor in this session")
        return self.editor.edit(text)

    # --- dispatch -------------------------------------------------------------

    def handle(self, line: str) -> Outcome:
        """Run one line the user entered: a slash-command or a message."""
        # an /edit applies to the very next line only: anything else cancels it
        editing, self._editing = self._editing, None
        # a message held back as too big is sent anyway by a /retry right after
        self._was_held, self._held = self._held, False
        parsed = parse(line)
        if (not line.strip() or isinstance(parsed, CommandCall)) and editing is not None:
            self._pending = editing[1]
            if line.strip():
                self.view.info("(the edit was cancelled; the message is unchanged)")
        if not line.strip():
            return Outcome()
        if isinstance(parsed, CommandCall):
            return self._run_command(parsed)
        if self.compare_specs is not None and editing is None:
            return self._compare_turn(parsed.text, line)
        try:
            return self.send(parsed.text, replacing=None if editing is None else editing[0])
        except ChatReplError as exc:
            # nothing was sent: the line comes back to the prompt, the edit stays open
            self._editing = editing
            self.view.error(str(exc))
            return Outcome(error=exc, prefill=line)

    def _run_command(self, call: CommandCall) -> Outcome:
        try:
            return self.registry.find(call.name).handler(self, call.args) or Outcome()
        except ChatReplError as exc:
            self.view.error(str(exc))
            return Outcome(error=exc)
        except BrokenPipeError:
            raise  # the terminal or pipe went away: the run ends, as for a turn
        except Exception as exc:  # a bug in a command: one line, and the session goes on
            error = UnexpectedError(exc)
            self.view.error(f"/{call.name}: {error}")
            return Outcome(error=error)

    def send(self, text: str, *, replacing: int | None = None) -> Outcome:
        """A new user message (with the files waiting for it, and any @paths it names).
        One left unanswered before it (a failed turn, a loaded request) is never dropped:
        the two go together, as one message. With `replacing`, the message at that index
        and everything after it become an earlier branch first.

        Raises (having changed nothing) when an attachment cannot go.
        """
        if needs_repair(text):
            text = repair(text)
            self.view.info("(bytes that were not valid UTF-8 were replaced with \ufffd)")
        mentioned = self._mentioned(text)
        staged = [*self._pending, *mentioned.staged]
        history = self._conversation.messages
        self._check_images(staged, history if replacing is None else history[:replacing])
        self._settle()  # a comparison not picked from keeps the session model's reply
        for skipped in mentioned.skipped:
            self.view.info(f"skipped {skipped}")
        content = files_rules.compose(text, staged)
        attached = tuple(s.attachment for s in staged)
        if replacing is not None:
            self._conversation.replace_from(replacing)
        elif self._conversation.pending_user is not None:
            unanswered = self._conversation.messages[-1]
            self._conversation.drop_pending_user()
            content = f"{unanswered.content}\n\n{content}"
            attached = (*unanswered.attachments, *attached)
            undo = "; /undo removes both" if self.interactive else ""
            self.view.info(f"(sent together with the unanswered message before it{undo})")
        self._conversation.add_user(content, attached)
        self._pending = []
        return self._run_turn()

    @property
    def awaiting_reply(self) -> bool:
        """Whether the last user message has no reply yet (/retry would send it)."""
        return self._conversation.pending_user is not None

    def retry(self) -> Outcome:
        """Resend the last user message, replacing its reply if it has one (a message just
        held back as too big for the window is sent anyway)."""
        if self._conversation.pending_user is None:
            if self._conversation.last_user() is None:
                raise CommandError("nothing to retry yet")
            self._conversation.pop()  # the reply being replaced
        return self._run_turn(force=self._was_held)

    def continue_reply(self) -> Outcome:
        """Ask the model to go on with a reply that stopped early (max_tokens, Ctrl-C, a
        cut stream), and append what comes to it."""
        messages = self._conversation.messages
        last = messages[-1] if messages else None
        if last is None or last.role != "assistant":
            raise CommandError("nothing to continue: the last message is not a reply")
        stats = last.stats
        cut = stats is None or stats.interrupted or stats.truncated
        if stats is not None and not cut and stats.finish_reason not in ("length", "error", None):
            raise CommandError(
                f"the last reply is complete (finish reason {stats.finish_reason}); "
                "nothing to continue"
            )
        scratch = Conversation(
            [*messages, Message("user", CONTINUE_PROMPT)],
            compactions=list(self._conversation.compactions),
        )
        reply = self._stream(self._payload(scratch))
        if not reply.text:
            self._report_empty(reply, hint=False)
            if reply.error is None and not reply.interrupted:
                self.view.info("(the model had nothing to add)")
            if reply.signal is not None:
                raise reply.signal
            return Outcome(error=reply.error, interrupted=reply.interrupted)
        self.view.end_reply(self._priced(reply.stats))
        merged = Message(
            "assistant",
            last.content + reply.text,
            last.reasoning + reply.reasoning,
            reply.stats,
        )
        self._conversation.messages[-1] = merged
        if reply.error is not None:
            self.view.error(f"{reply.error} (partial continuation kept)")
        self._changed()
        if reply.signal is not None:
            raise reply.signal
        self._check_fill()
        return Outcome(error=reply.error, interrupted=reply.interrupted, reply=merged)

    def compare(
        self, targets: list[Target], question: str | None = None, *, blind: bool = False
    ) -> Comparison:
        """Ask every target the same thing at once and show the replies live, side by side.

        Without a question the last user message is asked again (with the conversation
        before it). The conversation is left as it was: the comparison is kept in
        `last_comparison` (for /pick and /vote) and returned. Blind, the columns are
        shuffled (never in the previous blind comparison's order) and named by letter
        until `reveal()`. Ctrl-C stops every target and keeps what each sent.
        """
        if not targets:
            raise CommandError("nothing to compare: name at least one model")
        history = list(self._conversation.messages)
        asked: Message | None = None
        if question is None:
            while history and history[-1].role == "assistant":
                history.pop()
            if not history or history[-1].role != "user":
                raise CommandError("nothing to compare yet: /compare MODEL... -- QUESTION")
            asked = history.pop()  # as it was sent, its attachments too
            question = asked.content
        refusal = self._dialect_refusal()
        if refusal is not None:
            raise CommandError(refusal)
        scratch = Conversation(list(history), compactions=list(self._conversation.compactions))
        scratch.add_user(question, asked.attachments if asked is not None else ())
        previous = self.last_comparison
        order: list[int] = []
        if blind:
            before = previous.order if previous is not None and previous.blind else ()
            order = blind_order(len(targets), previous=before, rng=self.rng)
        comparison = Comparison(
            history=history,
            question=question,
            targets=list(targets),
            order=order,
            blind=blind,
            revealed=not blind,
            turn=sum(1 for m in scratch.messages if m.role == "user"),
        )
        jobs = [self._job(target, scratch) for target in targets]
        self.view.begin_compare(comparison)

        def done(index: int, result: CompareResult) -> None:
            # each column's stats line shows what its reply cost
            self.view.compare_done(index, self._priced_result(result))

        outcome = fan_out(
            jobs,
            show=self.view.compare_show,
            done=done,
            clock=self._clock,
            wall_clock=self._wall_clock,
        )
        comparison.results = [self._priced_result(r) for r in outcome.results]
        self.last_comparison = comparison
        self.view.end_compare(comparison)
        if outcome.signal is not None:
            raise outcome.signal
        return comparison

    def reveal(self) -> None:
        """Show which model gave which reply of the last (blind) comparison."""
        comparison = self.last_comparison
        if comparison is None:
            raise CommandError("nothing to reveal: no comparison yet")
        if comparison.revealed:
            return
        comparison.revealed = True
        self.view.reveal(comparison)

    def _job(self, target: Target, conversation: Conversation) -> Job:
        """How to stream one target: its backend and request, or why it cannot go."""
        try:
            backend = self.backend_for(target)
            payload = self.payload_for(target, conversation)
        except (ChatReplError, TypeError, ValueError) as exc:
            failure = exc if isinstance(exc, ChatReplError) else CommandError(str(exc))
            return Job(target.model, None, failure=failure)
        # the stats say what was asked for: the request's own values
        return Job(
            target.model,
            lambda: backend.stream(payload),
            temperature=payload.get("temperature"),
            max_tokens=payload.get("max_tokens"),
        )

    def _priced_result(self, result: CompareResult) -> CompareResult:
        stats = self._priced(result.reply.stats)
        return CompareResult(result.model, replace(result.reply, stats=stats))

    # --- comparison targets (core/specs.py turns what the user typed into them) ----

    def backend_for(self, target: Target) -> Backend:
        """The backend that serves `target`: its profile's endpoint (its own pooled
        connection, built on first use), or the session's."""
        if target.profile is None or target.profile == self.settings.profile:
            return self.backend
        if self.endpoints is None:
            raise CommandError(f"{target.spec}: this session has no other endpoints")
        return self.endpoints(target.profile).backend

    def payload_for(self, target: Target, conversation: Conversation) -> dict[str, Any]:
        """The streamed request body for `target`: the session's settings, its model and
        overrides (setting names from the settings table; any other is a request
        parameter) applied."""
        fields = {k: v for k, v in target.overrides.items() if k in SETTING_FIELDS}
        params = {k: v for k, v in target.overrides.items() if k not in SETTING_FIELDS}
        model = target.model
        settings = self.settings
        if target.profile is not None and target.profile != settings.profile:
            if self.endpoints is None:
                raise CommandError(f"{target.spec}: this session has no other endpoints")
            other = self.endpoints(target.profile).settings
            model = model or other.model or ""
            settings = replace(settings, dialect=other.dialect)
        if not model:
            raise CommandError(f"{target.spec}: no model named (PROFILE:MODEL)")
        if params:
            fields["params"] = {**(settings.params or {}), **params}
        settings = replace(settings, model=model, stream=True, **fields)
        problem = temperature_problem(settings.dialect, settings.temperature) or think_problem(
            settings.dialect, settings.think
        )
        if problem:
            raise CommandError(f"{target.spec}: {problem}")
        return conversation.payload(settings, image_url=self.image_url)

    # --- one turn -------------------------------------------------------------

    def _refusal(self) -> str | None:
        """Why the next request must not be sent at all (nothing reaches the server)."""
        if not self.settings.model:
            return "no model chosen: /model NAME picks one (/models lists them)"
        return self._dialect_refusal()

    def _dialect_refusal(self) -> str | None:
        settings = self.settings
        problem = temperature_problem(settings.dialect, settings.temperature)
        if problem:
            return f"{problem} (/temperature X changes it)"
        problem = think_problem(settings.dialect, settings.think)
        if problem:
            return f"{problem} (/think off turns it off)"
        return None

    def _payload(self, conversation: Conversation) -> dict[str, Any]:
        """The request body; a CommandError when it must not be sent (no model, a value
        the dialect refuses), an AttachmentError when an image has gone from its folder."""
        refusal = self._refusal()
        if refusal is not None:
            raise CommandError(refusal)
        return conversation.payload(self.settings, image_url=self.image_url)

    def _stream(self, payload: dict[str, Any], settings: Settings | None = None) -> Reply:
        """Send one request and show the reply as it streams."""
        settings = self.settings if settings is None else settings
        collector = ReplyCollector(
            model=settings.model,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            params=settings.params,
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
        if reply.limits is not None:
            self._limits = reply.limits
        return reply

    def _report_empty(self, reply: Reply, *, hint: bool = True) -> None:
        # nothing to keep: an empty assistant message would be sent back next turn
        self.view.end_reply(None)
        if reply.error is not None:
            self.view.error(self._failure_line(reply.error) if hint else str(reply.error))
        elif reply.interrupted and reply.signal is None:
            again = "/retry resends" if hint else "/continue asks again"
            again = f"; {again}" if self.interactive else ""  # one-shot has no commands
            self.view.info(f"(interrupted before the reply began{again})")

    def _run_turn(self, *, force: bool = False, make_room: bool = True) -> Outcome:
        if not force:
            held = self._hold_if_too_big(make_room=make_room)
            if held is not None:
                return held
        try:
            payload = self._payload(self._conversation)
        except ChatReplError as exc:
            self.view.error(self._failure_line(exc))
            self._changed()  # the message is kept for /retry
            return Outcome(error=exc)
        message: Message | None = None
        overflowed = False
        try:
            reply = _never_empty(self._stream(payload))
            if not reply.text and reply.signal is None and is_overflow(reply.error):
                overflowed = True  # made room for, or reported, below
            else:
                if reply.text:
                    # kept before anything is drawn: drawing can fail (a closed terminal)
                    message = self._conversation.add_assistant(
                        reply.text, reasoning=reply.reasoning, stats=reply.stats
                    )
                self._show_outcome(reply)
        finally:
            if not overflowed:
                self._changed()  # whatever happened, the file holds it before the next prompt
        if overflowed:
            return self._overflowed(reply, make_room=make_room)
        if reply.signal is not None:
            raise reply.signal  # saved: now the process may end
        self._check_fill()
        return Outcome(error=reply.error, interrupted=reply.interrupted, reply=message)

    def _show_outcome(self, reply: Reply) -> None:
        if not reply.text:  # the message stays pending for /retry
            self._report_empty(reply)
            return
        self.view.end_reply(self._priced(reply.stats))
        if reply.error is not None:
            kept = "partial reply kept — /retry" if self.interactive else "partial reply kept"
            self.view.error(f"{reply.error}; {kept}")

    def _failure_line(self, failure: ChatReplError) -> str:
        if not self.interactive:
            return str(failure)
        if getattr(failure, "retry_after", None):
            return f"{failure} — /retry when ready"
        return f"{failure} — /retry resends your message"

    def _changed(self) -> None:
        """Autosave: a failure is reported, never fatal to the session."""
        if self.store is None or not self._autosave:
            return
        try:
            self.keep_images()
            self.store.save(self._conversation, settings_of(self.settings))
        except (TranscriptError, AttachmentError) as exc:
            self.view.error(f"autosave failed: {exc} (the conversation is still here)")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _never_empty(reply: Reply) -> Reply:
    """A reply with nothing in it is an error: an empty assistant message would be sent
    back next turn (some servers refuse it) and would look like an answer."""
    if reply.error is not None or reply.interrupted or reply.text:
        return reply
    reason = reply.stats.finish_reason
    what = f"finish reason '{reason}'" if reason else "no finish reason"
    stats = replace(reply.stats, finish_reason="error")
    return replace(reply, stats=stats, error=ApiError(f"the model sent an empty reply ({what})"))
