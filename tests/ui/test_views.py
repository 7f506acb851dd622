"""LazyView: the real view is built once, on first use, and then called directly."""

from __future__ import annotations

from fakes import RecordingView

from chatrepl.core.messages import TextDelta
from chatrepl.ui.views import LazyView


def test_lazy_view_builds_once_and_then_hands_out_the_real_show() -> None:
    built: list[RecordingView] = []

    def build() -> RecordingView:
        built.append(RecordingView())
        return built[-1]

    lazy = LazyView(build)
    assert built == []  # nothing built before the first output
    lazy.show(TextDelta("early"))  # before begin_reply still reaches the real view
    lazy.begin_reply()
    show = lazy.show  # what the engine binds once per turn
    assert show.__self__ is built[0]  # type: ignore[attr-defined]  # no forwarding
    show(TextDelta("late"))
    lazy.end_reply(None)
    assert len(built) == 1
    assert lazy.get() is built[0]
    assert [call[0] for call in built[0].calls] == ["show", "begin_reply", "show", "end_reply"]
