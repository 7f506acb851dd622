"""Make docs/session.svg, the README's picture, from a real run of the REPL in a terminal.

The real `chatrepl` runs in a pseudo-terminal (tests/terminal.py: pexpect and the pyte
emulator, answering cursor-position requests as a terminal does, so prompt_toolkit draws
its toolbar), against a loopback server (tests/fakeserver.py) that streams a scripted,
correct reply with code: the tiny bundled model's own answers are too often wrong to
show. What the emulator's screen holds at the end (banner, the question, the rendered
reply, the stats line, the prompt and the toolbar), colours included, is written as SVG
through rich. The blank rows between the prompt and the toolbar are left out.

    python docs/make_session_svg.py [docs/session.svg]

tests/e2e/test_session_svg.py runs this and checks that the picture's text is what a
fresh run shows (numbers aside: the port and the timings differ each run).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the emulator and the loopback server

import pyte  # noqa: E402
from fakeserver import FakeServer, Reply  # noqa: E402
from terminal import Terminal  # noqa: E402

MODEL = "demo-model"
COLS, ROWS = 104, 40
QUESTION = "Write a Python function that reverses a string, with an example."
ANSWER = """\
Slicing with a step of `-1` walks the string from its end:

```python
def reverse(text: str) -> str:
    \"\"\"Return `text` backwards.\"\"\"
    return text[::-1]


print(reverse("chatrepl"))  # lpertahc
```

- It works for any `str`, the empty one included.
- Strings are immutable, so this builds a new one; `text` is unchanged.
"""


class _FaintScreen(pyte.HistoryScreen):  # type: ignore[misc]
    """pyte drops SGR 2 (faint: the stats line is dim); keep it, in the `blink` flag,
    which nothing here uses."""

    def select_graphic_rendition(self, *attrs: int) -> None:
        codes = list(attrs) or [0]
        super().select_graphic_rendition(*codes)
        for code in codes:
            if code == 2:
                self.cursor.attrs = self.cursor.attrs._replace(blink=True)
            elif code in (0, 22):
                self.cursor.attrs = self.cursor.attrs._replace(blink=False)


# pyte's colour names -> rich's
_NAMES = {"brown": "yellow", "default": "default"}


def _color(name: str) -> str:
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return f"#{name}"
    bright = name.startswith("bright")
    base = _NAMES.get(name.removeprefix("bright"), name.removeprefix("bright"))
    return f"bright_{base}" if bright and base != "default" else base


def _row(line: Any, columns: int) -> Any:
    """One emulator row as rich Text, styled run by run."""
    from rich.style import Style
    from rich.text import Text

    text = Text(no_wrap=True, end="")
    run, run_style = "", None
    for x in range(columns):
        char = line[x]
        fg, bg = _color(char.fg), _color(char.bg)
        if char.reverse:
            fg, bg = (bg if bg != "default" else "black"), (fg if fg != "default" else "white")
        style = Style(color=fg, bgcolor=bg, bold=char.bold, italic=char.italics, dim=char.blink)
        if style != run_style and run:
            text.append(run, style=run_style)
            run = ""
        run, run_style = run + (char.data or " "), style
    if run.rstrip() or (run_style is not None and run_style.bgcolor is not None):
        text.append(run if run_style and run_style.bgcolor else run.rstrip(), style=run_style)
    return text


def _environment(home: Path, url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INFERENCE_", "OPENAI_", "CHATREPL_", "XDG_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        INFERENCE_URL=url,
        INFERENCE_KEY="inf-picture-0123456789abcdef",
        INFERENCE_MODEL_ID=MODEL,
        TERM="xterm-256color",
        COLUMNS=str(COLS),
        LINES=str(ROWS),
    )
    env.pop("NO_COLOR", None)
    return env


def screen_rows() -> list[Any]:
    """Run the session; the emulator's rows worth showing, as rich Text."""
    with tempfile.TemporaryDirectory() as home, FakeServer(models=[MODEL]) as server:
        server.enqueue(Reply.text(ANSWER, chunk_size=5, model=MODEL, delay=0.012))
        term = Terminal(
            [], _environment(Path(home), server.url), rows=ROWS, cols=COLS, answer_cpr=True
        )
        # nothing has been read from the terminal yet: the emulator can still be swapped
        term.screen = _FaintScreen(COLS, ROWS, history=5000)
        term.stream = pyte.ByteStream(term.screen)
        try:
            term.wait_for_prompt()
            term.type(QUESTION)
            term.wait_for("tok/s", timeout=30)
            term.wait_for_prompt()
            screen = term.screen
            lines = [screen.buffer[y] for y in range(screen.lines)]
            prompt_row = screen.cursor.y
            rows = [_row(line, screen.columns) for line in lines[: prompt_row + 1]]
            toolbar = _row(lines[-1], screen.columns)
        finally:
            term.close()
    from rich.text import Text

    return [*rows, Text(""), toolbar]


def main(argv: list[str]) -> None:
    """Write the picture to argv[0] (default: docs/session.svg)."""
    import io

    from rich.console import Console

    out = argv[0] if argv else str(Path(__file__).with_name("session.svg"))
    console = Console(
        file=io.StringIO(), record=True, force_terminal=True, width=COLS, color_system="truecolor"
    )
    for row in screen_rows():
        console.print(row, crop=True, overflow="crop", soft_wrap=False)
    console.save_svg(out, title="chatrepl")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
