"""The redacting view: every string on its way to the screen loses the secrets."""

from __future__ import annotations

from fakes import RecordingView

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
    shown.compare([CompareResult("a", failed), CompareResult("b", fine)])
    ((_, results),) = inner.of("compare")
    assert [r.error for r in results] == ["denied ***", None]
    assert results[1].text == "echo ***"
