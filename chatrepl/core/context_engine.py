"""The engine's part that keeps a conversation inside the model's context window.

`ContextWindow` is mixed into `Engine`: the meter (`reading`), where the window size comes
from (`window`, `probe_window`), what happens when a conversation outgrows it (held back
before sending, or refused by the server: auto_compact, or the message waits for /retry),
/compact and /trim, and what replies cost. It works on the engine's state through the
attributes declared below, so the engine module keeps to dispatch and turns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chatrepl.core.compaction import Cut, plan_cut
from chatrepl.core.context import (
    BUILTIN_WINDOWS,
    TARGET,
    Meter,
    Reading,
    Window,
    compact_number,
    estimate,
    lookup,
    tokens_in_error,
    window_in_error,
)
from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import ChatReplError, CommandError, ContextError
from chatrepl.core.messages import Compaction, Message, TextDelta, TurnStats, Usage
from chatrepl.core.ports import SearchIndex, SessionStore, View, WindowProbe
from chatrepl.core.pricing import Price, UsageRow
from chatrepl.core.reply import Clock, Outcome, Reply
from chatrepl.core.settings import Settings

if TYPE_CHECKING:
    from chatrepl.core.search import Hit, SearchQuery


class ContextWindow:
    """Window sizes, the meter, overflow, /compact, /trim, costs and search (a mixin)."""

    # the engine's state this part works on (Engine sets them all)
    view: View
    store: SessionStore | None
    interactive: bool
    windows: Mapping[str, int]
    prices: Mapping[str, Price]
    probe: WindowProbe | None
    index: SearchIndex | None
    _conversation: Conversation
    _wall_clock: Clock
    _meter: Meter
    _reported: dict[str, int | None]
    _warned: bool
    _held: bool

    if TYPE_CHECKING:  # the engine's own methods this part calls, declared for mypy

        @property
        def settings(self) -> Settings: ...

        def _stream(self, payload: dict[str, Any], settings: Settings | None = None) -> Reply: ...

        def _run_turn(self, *, force: bool = False, make_room: bool = True) -> Outcome: ...

        def _report_empty(self, reply: Reply, *, hint: bool = True) -> None: ...

        def _changed(self) -> None: ...

    # --- the context window, /compact and /trim ------------------------------------

    def window(self) -> Window | None:
        """The model's context window: the config's, else the server's, else the
        built-in table's; None when nobody knows."""
        model = self.settings.model
        configured = lookup(self.windows, model)
        if configured:
            return Window(configured, "config")
        reported = self._reported.get(model or "")
        if reported:
            return Window(reported, "the server")
        known = lookup(BUILTIN_WINDOWS, model)
        return Window(known, "built-in table") if known else None

    def probe_window(self) -> None:
        """Ask the server for the model's window, once per model: after a reply, on the
        connection that just served it (never before a request, which would delay the
        first token, and never alongside one, which would open a second connection)."""
        model = self.settings.model or ""
        if self.probe is None or model in self._reported or lookup(self.windows, model):
            return
        try:
            self._reported[model] = self.probe.context_window(model or None)
        except ChatReplError:
            self._reported[model] = None

    def reading(self) -> Reading:
        """How big the next request is (the server's count where there is one, estimated
        since), against the window."""
        c = self._conversation
        system = c.system_text(self.settings.system)
        return self._meter.read(
            c.messages, system=system, compaction=c.compaction, window=self.window()
        )

    def _check_fill(self) -> None:
        """After a reply: learn the window if need be; past 80 % of it, say so, once per
        conversation."""
        if not self.interactive:
            return
        self.probe_window()
        if self._warned:
            return
        reading = self.reading()
        if reading.warn and reading.window is not None:
            self._warned = True
            self.view.info(
                f"the conversation fills {reading.text()} of the window of "
                f"{self.settings.model or 'the model'}: /compact summarises the older "
                "turns, /trim drops them (the session file keeps every message)"
            )

    def _hold_if_too_big(self, *, make_room: bool) -> Outcome | None:
        """Before sending: a conversation over the window is not sent, unless
        auto_compact makes room; the message waits for /retry."""
        auto = self.settings.auto_compact != "off"
        if not self.interactive and not auto:
            return None  # one-shot: the server decides, and its error says what to do
        reading = self.reading()
        if not reading.over or reading.window is None:
            return None
        if auto and make_room and self._make_room():
            return None
        self._held = True
        what = f"~{compact_number(reading.tokens)} tokens"
        where = f"the {compact_number(reading.window.tokens)}-token window of "
        where += self.settings.model or "the model"
        if self.interactive:
            line = (
                f"not sent: {what} is over {where}; /compact summarises the older turns or "
                "/trim drops the oldest, then /retry sends it (/retry alone sends it anyway)"
            )
        else:
            line = f"not sent: {what} is over {where}, even after auto_compact"
        self.view.error(line)
        self._changed()  # the message is kept for /retry
        return Outcome(error=ContextError(line))

    def _overflowed(self, reply: Reply, *, make_room: bool) -> Outcome:
        """The server refused the request as too big: learn what it said, then make room
        (auto_compact) and try once more, or keep the message for /retry."""
        error = reply.error
        assert error is not None
        model = self.settings.model or ""
        before = self.reading()
        window = window_in_error(error)
        if window:
            self._reported[model] = window
        counted = tokens_in_error(error)
        if counted and not before.counted:
            self._meter.learn(counted, round(before.tokens / self._meter.scale))
        if make_room and self.settings.auto_compact != "off":
            self.view.end_reply(None)
            self.view.notice(f"{error}")
            if self._make_room(after_error=True):
                return self._run_turn(force=True, make_room=False)
        else:
            self._report_empty(reply, hint=False)
        self.view.info(
            "the conversation outgrew the model's window: /compact summarises the older "
            "turns or /trim drops the oldest, then /retry sends your message"
            if self.interactive
            else "the conversation outgrew the model's window: continue it with chatrepl -c "
            'and /compact or /trim, or set auto_compact = "trim" or "summarise" in the config'
        )
        self._changed()  # the message is kept for /retry
        return Outcome(error=ContextError(str(error)))

    def _make_room(self, *, after_error: bool = False) -> bool:
        """auto_compact: trim or summarise until the conversation fits; whether it does.

        After the server refused a request, its word beats the estimate: if the estimate
        says the conversation fits, the older half of what is sent goes anyway.
        """
        from chatrepl.core.compaction import turn_starts

        mode = self.settings.auto_compact
        sent = len(turn_starts(self._conversation.messages, self._start()))
        try:
            if mode == "trim":
                keep = None if self.window() else max(1, sent // 2)
                try:
                    record = self.trim(keep, target=not after_error)
                except CommandError:
                    if not after_error or sent < 2:
                        raise
                    record = self.trim(max(1, sent // 2))
            else:
                record = self.compact(None)
        except ChatReplError as exc:
            self.view.error(f"auto_compact could not make room: {exc}")
            return False
        self.view.info(f"auto_compact: {self.describe_compaction(record)}")
        return not self.reading().over

    def _start(self) -> int:
        compaction = self._conversation.compaction
        return compaction.upto if compaction is not None else 0

    def trim(self, keep: int | None = None, *, target: bool = True) -> Compaction:
        """Stop sending the oldest turns: keep the last `keep`, or as many as fit in 75 %
        of the window. The system prompt (and any summary) stays; nothing is deleted."""
        c = self._conversation
        active = c.compaction
        if keep is None:
            window = self.window()
            if window is None:
                raise CommandError(
                    f"the window of {self.settings.model or 'this model'} is unknown: /trim N "
                    'keeps the last N turns (or set [models."NAME"] context = N in the config)'
                )
            system = c.system_text(self.settings.system)
            share = TARGET if target else TARGET * TARGET
            budget = int(window.tokens * share) - (estimate(system) if system else 0)
            cut = plan_cut(
                c.messages,
                start=self._start(),
                size_from=lambda i: self._meter.tail(c.messages, i),
                budget=budget,
            )
            if cut is None:
                if self.reading().over:
                    raise CommandError("nothing to trim: the last turn alone is over the window")
                raise CommandError(
                    f"nothing to trim: the conversation fits ({self.reading().text()})"
                )
        else:
            cut = plan_cut(c.messages, start=self._start(), keep=keep)
            if cut is None:
                raise CommandError(f"nothing to trim: {_plural(keep, 'turn')} or fewer are sent")
        summary = active.summary if active is not None else None
        record = Compaction(cut.upto, len(c.messages), self._wall_clock(), "trim", summary)
        self._apply(record)
        return record

    def compact(self, keep: int | None = None) -> Compaction:
        """Have the model summarise the older turns; from now on the summary is sent in
        their place (as a system note) and the last `keep` turns as they are."""
        from chatrepl.core import compaction as rules

        c = self._conversation
        start = self._start()
        window = self.window()
        if keep is None:
            keep = rules.DEFAULT_KEEP
            starts = rules.turn_starts(c.messages, start)
            # the kept turns must leave room: fewer of them when they are big
            while window and keep > 1 and len(starts) >= keep:
                if self._meter.tail(c.messages, starts[-keep]) <= window.tokens // 2:
                    break
                keep -= 1
        cut = rules.plan_cut(c.messages, start=start, keep=keep)
        if cut is None:
            sent = len(rules.turn_starts(c.messages, start))
            raise CommandError(
                f"nothing to compact: {_plural(sent, 'turn')} sent, and /compact keeps the "
                f"last {_plural(keep, 'turn')} as they are"
            )
        active = c.compaction
        previous = active.summary if active is not None else None
        summary, stats = self._summarise(c.messages[start : cut.upto], previous, cut)
        record = Compaction(
            cut.upto, len(c.messages), self._wall_clock(), "summary", summary, stats
        )
        self._apply(record)
        return record

    def _summarise(
        self, messages: Sequence[Message], previous: str | None, cut: Cut
    ) -> tuple[str, TurnStats]:
        """Ask the model for a summary of `messages` (in slices that fit, folding), shown
        as it streams. Raises, having changed nothing, when a request fails."""
        from chatrepl.core import compaction as rules

        window = self.window()
        window_tokens = window.tokens if window is not None else None
        pieces = rules.slices(messages, budget=rules.slice_budget(window_tokens))
        settings = replace(
            self.settings,
            system=rules.SUMMARY_SYSTEM,
            max_tokens=rules.summary_cap(window_tokens),
            params=None,  # a stop sequence or a response format must not shape the summary
            think=None,  # nor a thinking budget bigger than the summary's cap
        )
        summary, replies = previous, []
        turns = f"turn {cut.first}" if cut.first == cut.last else f"turns {cut.first}-{cut.last}"
        for part, piece in enumerate(pieces, 1):
            label = f" (part {part} of {len(pieces)})" if len(pieces) > 1 else ""
            self.view.info(f"summarising {turns}{label}…")
            prompt = rules.summary_prompt(piece, summary, part=part, parts=len(pieces))
            payload = Conversation([Message("user", prompt)]).payload(settings)
            reply = self._stream(payload, settings)
            self.view.end_reply(self._priced(reply.stats) if reply.text else None)
            if reply.error is not None or reply.interrupted or not reply.text.strip():
                why = reply.error or ("interrupted" if reply.interrupted else "an empty summary")
                raise ChatReplError(f"compaction stopped ({why}); nothing changed")
            summary = reply.text.strip()
            replies.append(reply.stats)
        assert summary is not None
        return summary, _summed(replies)

    def send_everything(self) -> Compaction:
        """Undo /compact and /trim: send the whole conversation again."""
        c = self._conversation
        active = c.compaction
        if active is None or active.how == "full":
            raise CommandError("the whole conversation is already sent")
        record = Compaction(0, len(c.messages), self._wall_clock(), "full")
        self._apply(record)
        return record

    def _apply(self, record: Compaction) -> None:
        self._conversation.compactions.append(record)
        self._warned = False
        self._changed()

    def describe_compaction(self, record: Compaction) -> str:
        """One line on what a compaction left out and where the window stands now."""
        c = self._conversation
        if record.how == "full":
            return f"the whole conversation is sent again ({self.reading().text()})"
        left = sum(1 for m in c.messages[: record.upto] if m.role == "user")
        what = "summarised" if record.how == "summary" else "no longer sent"
        turns = "turn 1" if left == 1 else f"turns 1-{left}"
        extra = ""
        if record.how == "summary" and record.summary:
            extra = f" (a {compact_number(estimate(record.summary))}-token summary goes instead)"
        elif record.summary:
            extra = " (the summary of earlier turns stays)"
        return (
            f"{turns} {what}{extra}; now {self.reading().text()}; the session file keeps "
            "every message"
        )

    def now(self) -> float:
        """The wall clock, seconds since the epoch."""
        return self._wall_clock()

    # --- cost, usage and search -------------------------------------------------------

    def _priced(self, stats: TurnStats) -> TurnStats:
        """The stats with what the reply cost, when the config prices its model."""
        from chatrepl.core.pricing import cost, price_of

        dollars = cost(stats.usage, price_of(self.prices, stats.model or self.settings.model))
        return stats if dollars is None else replace(stats, cost=dollars)

    def session_usage(self) -> list[UsageRow]:
        """Every reply this conversation paid for: its turns, earlier branches, summaries."""
        from chatrepl.core.pricing import reply_rows

        stats = [s for _, s in self._conversation.billed()]
        return reply_rows(stats, fallback_model=self.settings.model)

    def search(self, query: SearchQuery) -> list[Hit]:
        """Search every saved session; `/load N` then opens hit N at its turn."""
        if self.index is None:
            raise CommandError("search is not available in this session (no sessions folder)")
        hits = self.index.search(query)
        if self.store is not None:
            self.store.remember([hit.session for hit in hits])
        return hits

    def show_turn(self, turn: int) -> None:
        """Show turn `turn` of the conversation: the message, then the reply."""
        messages = self._conversation.messages
        index = self._conversation.user_index(turn)
        if index is None:
            return
        self.view.info(f"turn {turn} of {self._conversation.turns}:")
        self.view.info("> " + messages[index].content.replace("\n", "\n> "))
        if index + 1 < len(messages) and messages[index + 1].role == "assistant":
            reply = messages[index + 1]
            self.view.begin_reply()
            self.view.show(TextDelta(reply.content))
            self.view.end_reply(reply.stats)


def _summed(replies: Sequence[TurnStats]) -> TurnStats:
    """One reply's stats for several summary requests: the last one, usage added up."""
    last = replies[-1]
    usages = [r.usage for r in replies if r.usage is not None]
    if len(replies) == 1 or not usages:
        return last

    def total(name: str) -> int | None:
        values = [getattr(u, name) for u in usages if getattr(u, name) is not None]
        return sum(values) if values else None

    usage = Usage(
        total("prompt_tokens"),
        total("completion_tokens"),
        total("total_tokens"),
        reasoning_tokens=total("reasoning_tokens"),
        cached_tokens=total("cached_tokens"),
    )
    return replace(last, started_at=replies[0].started_at, usage=usage)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"
