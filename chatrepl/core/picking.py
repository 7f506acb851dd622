"""The engine's part that turns comparisons into a workflow: specs, modes and keeping one.

`Comparing` is mixed into `Engine`: it resolves what the user typed into `Target`s
(`targets`, with "one spec means mine against that one"), keeps `/compare on` going for
every following turn (`compare_specs`), and decides what of a comparison enters the
conversation:

- `/pick N` puts that reply in the history as the assistant turn (with the question, when
  the question was typed with the comparison), every column stored beside it as an
  `Alternative`; it switches the session to that target's model, settings and endpoint
  unless `--keep-model`, tells the `pick_listeners` (a pick is a vote), and reveals a
  blind comparison.
- A new message without a pick keeps the reply of the session's own model, if it was
  one of the columns of a comparison whose question was typed with it and it finished;
  otherwise the comparison stays a look and the conversation is as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from chatrepl.core.comparison import Comparison, Target
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import ChatReplError, CommandError
from chatrepl.core.messages import Alternative, Message
from chatrepl.core.ports import Backend, Endpoints, View
from chatrepl.core.reply import CompareResult, Outcome
from chatrepl.core.settings import Resolved, Settings
from chatrepl.core.specs import current_target, expand, is_current

if TYPE_CHECKING:
    from chatrepl.core.attachments import Staged

SETTING_FIELDS = frozenset(f.name for f in fields(Settings))


class Comparing:
    """Specs to targets, /compare on, /pick and what a comparison leaves in the history."""

    # the engine's state this part works on (Engine sets them all)
    view: View
    backend: Backend
    endpoints: Endpoints | None
    profiles: tuple[str, ...]
    compare_sets: Mapping[str, tuple[str, ...]]
    compare_specs: tuple[str, ...] | None
    compare_blind: bool
    _last_comparison: Comparison | None
    pick_listeners: list[Callable[[Comparison, int], None]]
    _conversation: Conversation
    _resolved: Resolved
    _compared_tail: tuple[int, Message | None] | None
    _pending: list[Staged]

    if TYPE_CHECKING:  # the engine's own methods this part calls, declared for mypy

        @property
        def settings(self) -> Settings: ...

        def set(self, key: str, value: Any, source: str) -> None: ...

        def set_param(self, key: str, value: Any, source: str) -> None: ...

        def _changed(self) -> None: ...

        def reveal(self) -> None: ...

        def compare(
            self, targets: list[Target], question: str | None = None, *, blind: bool = False
        ) -> Comparison: ...

    # --- specs ------------------------------------------------------------------------

    def targets(self, words: Sequence[str]) -> list[Target]:
        """What the user typed as Targets; one target alone is compared with the session's
        own model ("mine against that one")."""
        targets = expand(words, profiles=self.profiles, sets=self.compare_sets)
        model = self.settings.model
        if len(targets) == 1 and model and not is_current(targets[0], model):
            targets.insert(0, current_target(model))
        return targets

    def compare_mode(self, specs: Sequence[str] | None, *, blind: bool = False) -> None:
        """`/compare on SPECS`: every following message is a comparison; None turns it off."""
        if specs is not None:
            targets = self.targets(specs)  # a bad spec is refused now, not at the next turn
            if len(targets) < 2:
                raise CommandError("/compare on needs two models (or one besides yours)")
            shown = ", ".join(t.spec for t in targets)
            self.view.info(f"comparing every message on {shown} until /compare off")
        elif self.compare_specs is not None:
            self.view.info("comparisons off: messages go to the session's model again")
        else:
            self.view.info("comparisons are not on: /compare on SPEC... turns them on")
        self.compare_specs = tuple(specs) if specs is not None else None
        self.compare_blind = blind

    def _compare_turn(self, text: str, line: str) -> Outcome:
        """/compare on: a message is the question of a comparison of the chosen specs."""
        if self._pending:
            self.view.info("(attached files wait for a message sent after /compare off)")
        try:
            self._settle()
            targets = self.targets(self.compare_specs or ())
            self.compare(targets, text, blind=self.compare_blind)
        except ChatReplError as exc:
            self.view.error(str(exc))
            return Outcome(error=exc, prefill=line)
        self._changed()
        return Outcome()

    # --- what a comparison leaves in the conversation -----------------------------

    @property
    def last_comparison(self) -> Comparison | None:
        """The latest comparison: what /pick and /vote act on."""
        return self._last_comparison

    @last_comparison.setter
    def last_comparison(self, comparison: Comparison | None) -> None:
        # Whoever runs a comparison only sets it here; the conversation as it stands now
        # tells whether /pick may still keep a reply, and whether the question is in it
        # (asked again) or not (typed with the comparison: its history is all of it).
        self._last_comparison = comparison
        messages = self._conversation.messages
        if comparison is None:
            self._compared_tail = None
            return
        comparison.asked = len(messages) == len(comparison.history)
        self._compared_tail = (len(messages), messages[-1] if messages else None)

    def _open_comparison(self) -> Comparison | None:
        """The last comparison, if the conversation has not moved on since and nothing of
        it was kept yet."""
        comparison, tail = self.last_comparison, self._compared_tail
        if comparison is None or tail is None or comparison.picked is not None:
            return None
        messages = self._conversation.messages
        if tail != (len(messages), messages[-1] if messages else None):
            return None
        return comparison

    def pick(self, name: str, *, keep_model: bool = False) -> Message:
        """Keep one reply of the last comparison as this turn's, by column number, letter,
        spec or model; the session goes on with that target unless `keep_model`."""
        comparison = self.last_comparison
        if comparison is None:
            raise CommandError("nothing to pick: /compare MODEL MODEL first")
        if comparison.picked is not None:
            chosen = comparison.label(comparison.picked)
            raise CommandError(f"already picked from that comparison ({chosen})")
        if self._open_comparison() is None:
            raise CommandError(
                "the conversation has moved on since that comparison: /compare again"
            )
        index = comparison.find(name)
        count = len(comparison.targets)
        if index is None:
            shared = [
                str(comparison.order.index(i) + 1)
                for i, t in enumerate(comparison.targets)
                if name in (t.spec, t.header, t.model)
            ]
            if len(shared) > 1:
                raise CommandError(
                    f"{name} is more than one column ({', '.join(sorted(shared))}): "
                    "/pick its number or letter"
                )
            raise CommandError(
                f"no column {name!r}: /pick 1–{count}, a letter A–{chr(64 + count)}, or a model"
            )
        result = comparison.results[index]
        if not result.text:
            why = f" ({result.error})" if result.error else ""
            raise CommandError(f"{comparison.label(index)} has no reply to keep{why}")
        message = self._keep(comparison, index)
        comparison.picked = index
        for listener in list(self.pick_listeners):
            listener(comparison, index)  # a pick is a vote: recorded before any name shows
        if comparison.blind and not comparison.revealed:
            self.reveal()  # a blind pick names every column, as /vote does
        if keep_model:
            self.view.info(f"kept {comparison.label(index)}'s reply; the model stays as it was")
        else:
            self._switch_to(comparison.targets[index])
        self._changed()
        return message

    def _keep(self, comparison: Comparison, index: int) -> Message:
        """Put reply `index` in the conversation as the turn's reply (and the question as
        its user message when it was typed with the comparison)."""
        conversation = self._conversation
        if comparison.asked:
            conversation.add_user(comparison.question)
        else:
            while conversation.messages and conversation.messages[-1].role == "assistant":
                conversation.pop()  # the reply being replaced by the one picked
        reply = comparison.results[index].reply
        message = Message(
            "assistant",
            reply.text,
            reply.reasoning,
            reply.stats,
            alternatives=alternatives(comparison, index),
        )
        conversation.messages.append(message)
        self._compared_tail = None
        return message

    def _switch_to(self, target: Target) -> None:
        """The session goes on with the target's model, its settings and its endpoint."""
        source = f"/pick {target.spec}"
        before = self.settings.model
        same_endpoint = target.profile is None or target.profile == self.settings.profile
        if same_endpoint and target.model == before and not target.overrides:
            self.view.info(f"kept {target.header}'s reply; the session goes on with it as before")
            return
        if target.profile is not None and target.profile != self.settings.profile:
            if self.endpoints is None:
                raise CommandError(f"{target.spec}: no other endpoints in this session")
            endpoint = self.endpoints(target.profile)
            self.backend = endpoint.backend
            for key in ("url", "key", "dialect"):  # what /settings shows (the key masked)
                self.set(key, getattr(endpoint.settings, key), source)
            self.set("profile", target.profile, source)
        model = target.model or self._endpoint_model(target)
        if model:
            self.set("model", model, source)
        for key, value in target.overrides.items():
            if key in SETTING_FIELDS:
                self.set(key, value, source)
            else:
                self.set_param(key, value, source)
        now = target.header if target.model else f"{target.profile}:{model}"
        self.view.info(f"now using {now} (was {before or 'no model'})")

    def _endpoint_model(self, target: Target) -> str | None:
        if target.profile is None or self.endpoints is None:
            return None
        return self.endpoints(target.profile).settings.model

    def _settle(self) -> None:
        """A new message without a /pick: the session's own model's reply is kept, if it
        was a column of a comparison whose question was typed with it and it finished
        (one cut short by Ctrl-C or an error is /pick's to keep, not a default)."""
        comparison = self._open_comparison()
        if comparison is None or not comparison.asked:
            return
        model = self.settings.model
        for index, target in enumerate(comparison.targets):
            if index >= len(comparison.results) or not is_current(target, model):
                continue
            reply = comparison.results[index].reply
            if reply.text and reply.error is None and not reply.interrupted:
                self._keep(comparison, index)  # kept, not picked: no vote
                return


def alternatives(comparison: Comparison, picked: int) -> tuple[Alternative, ...]:
    """Every column of a comparison as the transcript keeps it, `picked` marked."""
    pairs = zip(comparison.targets, comparison.results, strict=True)
    return tuple(
        _alternative(target, result, picked=i == picked) for i, (target, result) in enumerate(pairs)
    )


def _alternative(target: Target, result: CompareResult, *, picked: bool) -> Alternative:
    reply = result.reply
    return Alternative(
        spec=target.spec,
        model=target.model,
        content=reply.text,
        profile=target.profile,
        settings=dict(target.overrides),
        reasoning=reply.reasoning,
        stats=reply.stats,
        error=result.error,
        picked=picked,
    )
