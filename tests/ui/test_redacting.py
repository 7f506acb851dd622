"""The redacting view: every string on its way to the screen loses the secrets."""

from __future__ import annotations

from fakes import RecordingView

from chatrepl.core.comparison import Comparison, Target
from chatrepl.core.errors import ApiError
from chatrepl.core.messages import ReasoningDelta, TextDelta, TurnStats
from chatrepl.core.redact import Redactor
from chatrepl.core.reply import CompareResult, Reply
from chatrepl.ui.redacting import RedactingView

KEY = "inf-redacted-0123456789abcdef"


def view() -> tuple[RedactingView, RecordingView]:
    inner = RecordingView()
    return RedactingView(inner, Redactor([KEY, "hunter2-pass"])), inner


def test_lines_tables_and_notices_are_redacted() -> None:
    shown, inner = view()
    shown.info(f"key {KEY}")
    shown.error(f"HTTP 401 (Authorization: Bearer {KEY[:20]})")
    shown.notice("https://bob:hunter2-pass@h.example/v1 — retrying")
    shown.table([("url", "https://bob:hunter2-pass@h.example", "env")], title=f"t {KEY}")
    text = repr(inner.calls)
    assert KEY[:8] not in text and "hunter2" not in text and "bob" not in text
    assert inner.infos == ["key ***"]
    assert inner.notices == ["https://***@h.example/v1 — retrying"]


def test_reply_text_loses_only_the_secrets() -> None:
    shown, inner = view()
    shown.show(TextDelta(f"Use `Authorization: Bearer $KEY`, not {KEY}."))
    shown.show(ReasoningDelta("thinking"))
    assert inner.text == "Use `Authorization: Bearer $KEY`, not ***."
    assert inner.reasoning == "thinking"


def test_comparisons_are_redacted() -> None:
    shown, inner = view()
    failed = Reply("", "", TurnStats(), ApiError(f"denied {KEY}"))
    fine = Reply(f"echo {KEY}", "", TurnStats())
    comparison = Comparison([], "q", [Target("a", "a"), Target("b", "b")])
    comparison.results = [CompareResult("a", failed), CompareResult("b", fine)]
    shown.begin_compare(comparison)
    shown.compare_show(1, TextDelta(f"echo {KEY}"))
    shown.compare_done(0, comparison.results[0])
    shown.end_compare(comparison)
    shown.reveal(comparison)
    assert inner.of("compare_show")[0][2].text == "echo ***"
    assert inner.of("compare_done")[0][2].error == "denied ***"
    for kind in ("end_compare", "reveal"):
        ((_, cleaned),) = inner.of(kind)
        assert [r.error for r in cleaned.results] == ["denied ***", None]
        assert cleaned.results[1].text == "echo ***"
    assert comparison.results[1].text == f"echo {KEY}"  # the engine's own copy is whole
