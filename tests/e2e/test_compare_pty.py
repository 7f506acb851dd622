"""The live /compare view in a real pseudo-terminal, read through the terminal emulator.

Every reply is longer than the screen and the models stream at different speeds, so
rows go into scrollback while other columns are still live. Afterwards each column,
read top to bottom from the emulated scrollback, must hold its whole reply exactly once:
no character cut (long words and URLs wrap), no line duplicated by a redraw.
"""

from __future__ import annotations

import re
import time

import pytest
from fakeserver import FakeServer, Recorded, Reply, sse_chunks
from terminal import Terminal, chat_env

from chatrepl.ui.compare_view import GAP, MIN_COLUMN

ROWS = 30
SPEEDS = {"m1": 0.004, "m2": 0.005, "m3": 0.0}  # seconds between chunks


def answer(model: str) -> str:
    """A reply of plain paragraphs (rendering keeps every character), a long URL, a word
    wider than any column, and a code block."""
    words = [f"{model}w{i}" for i in range(240)]
    paragraphs = [" ".join(words[i : i + 60]) for i in range(0, 240, 60)]
    url = f"https://example.com/{model}/" + "segment" * 12 + "?q=1"
    long_word = model + "X" * 90 + "end"
    code = f"```python\n{model}_value = 1  # code\nprint({model}_value)\n```"
    return "\n\n".join([paragraphs[0], url, paragraphs[1], long_word, code, *paragraphs[2:]])


def expected(model: str) -> str:
    """What of the reply a reader sees: everything but the code fences, without spaces."""
    kept = [line for line in answer(model).splitlines() if not line.startswith("```")]
    return re.sub(r"\s+", "", "".join(kept))


def serve(server: FakeServer) -> None:
    def respond(request: Recorded) -> Reply | None:
        model = str((request.body or {}).get("model"))
        if model not in SPEEDS:
            return None
        chunks = sse_chunks(answer(model), 8, model=model)
        # m2 is slow to start: its first byte comes after the others have streamed a lot
        return Reply(chunks=chunks, delay=SPEEDS[model], pause=1.5 if model == "m2" else 0)

    server.respond = respond


def seen_before(term: Terminal, needle: str, later: str, timeout: float = 30) -> bool:
    """Whether the visible screen showed `needle` before `later` appeared anywhere."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        term.pump()
        if later in term.text():
            return False
        if needle in "\n".join(term.screen.display):
            return True
    return False


def column_texts(screen: list[str], count: int, cols: int) -> list[str]:
    """Each column's characters, read top to bottom, without spaces."""
    width = (cols - len(GAP) * (count - 1)) // count
    texts = []
    for p in range(count):
        start = p * (width + len(GAP))
        texts.append(re.sub(r"\s+", "", "".join(line[start : start + width] for line in screen)))
    return texts


@pytest.mark.parametrize(("cols", "models"), [(80, ["m1", "m2"]), (160, ["m1", "m2", "m3"])])
def test_every_character_of_every_reply_is_in_the_scrollback_once(
    fake_server: FakeServer, started: list[Terminal], cols: int, models: list[str]
) -> None:
    serve(fake_server)
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="m1", COLUMNS=str(cols), LINES=str(ROWS))
    term = Terminal([], env, rows=ROWS, cols=cols)
    started.append(term)
    term.wait_for_prompt()
    term.type(f"/compare {' '.join(models)} -- tell me")
    if cols == 160:
        # m3 has ended while m2 has not even begun: m3's end is on screen, not held back
        assert seen_before(term, "m3w239", "m2w0"), term.text()
    term.wait_for("output tokens", timeout=60)  # the metrics table: every reply ended
    term.wait_for_prompt()
    lines = term.text().split("\n")
    start = next(i for i, line in enumerate(lines) if "/compare" in line) + 1
    end = next(i for i, line in enumerate(lines) if "output tokens" in line)
    shown = lines[start:end]
    side = (cols - len(GAP) * (len(models) - 1)) // len(models) >= MIN_COLUMN
    assert side == (cols == 160)  # 80 columns stack two models; 160 fit three side by side
    if side:
        headers = shown[0]
        assert all(m in headers for m in models)  # one header row, every model in it
        texts = column_texts(shown, len(models), cols)
    else:
        texts = [re.sub(r"\s+", "", "".join(shown))] * len(models)
        for model in models:
            assert (
                sum(line.startswith(f"{models.index(model) + 1} · {model} ─") for line in shown)
                == 1
            )  # one panel each
    for model, text in zip(models, texts, strict=True):
        assert text.count(expected(model)) == 1, model
        # its reply ends with its own stats line
        assert text.split(expected(model))[1].startswith("firsttoken"), model
    table = lines[end:]
    for model in models:
        assert any(line.split()[:1] == [model] for line in table), model
    assert "★" in "\n".join(table)
    assert "Traceback" not in term.text()


def test_ctrl_c_in_the_repl_keeps_every_partial_and_the_conversation(
    fake_server: FakeServer, started: list[Terminal]
) -> None:
    held = {
        m: Reply(chunks=sse_chunks(f"{m} partial words " * 4, 4, model=m), hold_after=8)
        for m in ("m1", "m2")
    }
    fake_server.respond = lambda request: held.get(str((request.body or {}).get("model")))
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="m1", COLUMNS="120", LINES=str(ROWS))
    term = Terminal([], env, rows=ROWS, cols=120)
    started.append(term)
    term.wait_for_prompt()
    term.type("/compare m1 m2 -- go")
    term.wait_for("m1 partial")
    term.wait_for("m2 partial")
    term.child.sendintr()
    term.wait_for("output tokens")  # the table, after Ctrl-C too
    term.wait_for_prompt()
    for reply in held.values():
        reply.release.set()
    fake_server.respond = None  # the echo from here on
    screen = term.text()
    after = screen[screen.rindex("/compare m1 m2") :]
    table = after[after.index("output tokens") :]
    assert table.count("interrupted") == 2  # both kept, both marked
    assert after.count("m1 partial") >= 1 and after.count("m2 partial") >= 1
    assert after[: after.index("output tokens")].count("interrupted") == 2  # column ends
    term.type("next question")
    term.wait_for("You said: next question")
    # the comparison was a look: the next request carries no trace of it
    last = fake_server.chat_requests[-1].body
    assert last["messages"] == [{"role": "user", "content": "next question"}]
    assert "Traceback" not in term.text()


TRAILING_SPACE = re.compile(rb" +(?:\x1b\[[0-9;]*m)*\r?\n")


@pytest.mark.parametrize(("cols", "models"), [(80, ["m1", "m2"]), (160, ["m1", "m2", "m3"])])
def test_no_row_is_written_with_trailing_padding_and_code_keeps_its_background(
    fake_server: FakeServer, started: list[Terminal], cols: int, models: list[str]
) -> None:
    fake_server.respond = lambda request: Reply(
        chunks=sse_chunks(answer(str((request.body or {}).get("model"))), 16), delay=0.001
    )
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="m1", COLUMNS=str(cols), LINES=str(ROWS))
    term = Terminal([], env, rows=ROWS, cols=cols)
    started.append(term)
    term.wait_for_prompt()
    term.type(f"/compare {' '.join(models)} -- tell me")
    term.wait_for("output tokens", timeout=60)
    term.wait_for_prompt()
    start = term.raw.index(b"/compare")
    written = term.raw[start : term.raw.index(b"output tokens", start)]
    assert not TRAILING_SPACE.findall(written)
    # The last model's code rows end the screen row (stacked: every panel's do): their
    # background is painted by "erase characters", still to the column's right edge.
    last = models[-1]
    lines = [*term.screen.history.top, *(term.screen.buffer[y] for y in range(ROWS))]
    rows = [
        line
        for line in lines
        if f"{last}_value = 1" in "".join(line[x].data for x in range(cols) if x in line)
    ]
    assert rows, term.text()
    side = cols == 160
    width = (cols - len(GAP) * (len(models) - 1)) // len(models) if side else cols - 1
    edge = (len(models) - 1) * (width + len(GAP)) + width - 1 if side else width - 1
    for line in rows:
        assert line[edge].bg != "default", [line[x].bg for x in range(cols)]
    assert "Traceback" not in term.text()
