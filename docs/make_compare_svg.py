"""Make docs/compare.svg, the README's picture of a live comparison, from a real run.

As docs/make_session_svg.py does: the real `chatrepl` in a pseudo-terminal (pyte), a
loopback server streaming scripted replies (three models at three speeds, one of them
slow to start). The screen is taken while the comparison is still live: the fast model
has ended with its stats line, the others are streaming, the status line says so.

    python docs/make_compare_svg.py [docs/compare.svg]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyte  # noqa: E402
from fakeserver import FakeServer, Recorded, Reply, sse_chunks  # noqa: E402
from make_session_svg import _environment, _FaintScreen, _row  # noqa: E402
from terminal import Terminal  # noqa: E402

COLS, ROWS = 150, 34
QUESTION = "/compare quick-model careful-model slow-model -- How do I reverse a list in Python?"
ANSWERS = {
    "quick-model": (
        0.004,
        0.0,
        """Use slicing or `reversed()`:

```python
items = [1, 2, 3]
print(items[::-1])        # [3, 2, 1], a new list
items.reverse()           # in place
```

`reversed(items)` gives an iterator, handy in a `for` loop.
""",
    ),
    "careful-model": (
        0.03,
        0.0,
        """There are three common ways, and which one fits depends on whether you want a
**new list** or to change the one you have.

1. **Slicing** — `items[::-1]` builds a reversed copy; the original is untouched.
2. **In place** — `items.reverse()` reverses the list itself and returns `None`,
   so `x = items.reverse()` is a classic bug.
3. **Lazily** — `reversed(items)` returns an iterator: no copy is made until you ask.

```python
items = ["a", "b", "c"]
for item in reversed(items):
    print(item)
```

For very large lists, prefer `reversed()` when you only need to walk them once.
""",
    ),
    "slow-model": (
        0.08,
        1.0,
        """Reversing a list in Python can be done with the built-in `reversed()` function,
the `list.reverse()` method, or extended slicing with a negative step.
""",
    ),
}


def screen_rows() -> list[Any]:
    """Run the comparison; the emulator's rows while it is live, as rich Text."""

    def respond(request: Recorded) -> Reply | None:
        model = str((request.body or {}).get("model"))
        if model not in ANSWERS:
            return None
        delay, pause, text = ANSWERS[model]
        chunks = sse_chunks(text, 5, model=model)
        return Reply(chunks=chunks, delay=delay, pause=pause)

    with tempfile.TemporaryDirectory() as home, FakeServer(models=list(ANSWERS)) as server:
        server.respond = respond
        env = _environment(Path(home), server.url)
        env.update(INFERENCE_MODEL_ID="quick-model", COLUMNS=str(COLS), LINES=str(ROWS))
        term = Terminal([], env, rows=ROWS, cols=COLS, answer_cpr=True)
        term.screen = _FaintScreen(COLS, ROWS, history=5000)
        term.stream = pyte.ByteStream(term.screen)
        try:
            term.wait_for_prompt()
            term.type(QUESTION)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the quick model's stats line, the others live
                term.pump()
                shown = "\n".join(term.screen.display)
                if shown.count("tok/s") == 1 and "Lazily" in shown and "Reversing" in shown:
                    break
            screen = term.screen
            rows = [_row(screen.buffer[y], screen.columns) for y in range(screen.lines)]
            term.wait_for("output tokens", timeout=30)
        finally:
            term.close()
    while rows and not rows[-1].plain.strip():
        rows.pop()
    return rows


def main(argv: list[str]) -> None:
    """Write the picture to argv[0] (default: docs/compare.svg)."""
    import io

    from rich.console import Console

    out = argv[0] if argv else str(Path(__file__).with_name("compare.svg"))
    console = Console(
        file=io.StringIO(), record=True, force_terminal=True, width=COLS, color_system="truecolor"
    )
    for row in screen_rows():
        console.print(row, crop=True, overflow="crop", soft_wrap=False)
    console.save_svg(out, title="chatrepl /compare")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
