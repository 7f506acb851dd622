"""The streamed reply in a real pty: no padding written, no copies after a resize."""

from __future__ import annotations

import re

import pytest
from fakeserver import FakeServer, Reply
from terminal import COLS, ROWS, Terminal, chat_env

# Longer than the narrowed window: a row drawn at the old width would wrap there.
ITEMS = [
    f"- item {n:02d}: a line of the list long enough to wrap in a window of sixty"
    for n in range(36)
]
REPLY = "A list follows.\n\n" + "\n".join(ITEMS) + "\n\nA closing paragraph after the list.\n"
TRAILING_SPACE = re.compile(rb" +(?:\x1b\[[0-9;]*m)*\r?\n")


def reply_bytes(term: Terminal) -> bytes:
    """What the program wrote from the reply's first line to its stats line."""
    start = term.raw.index(b"A list follows")
    return term.raw[start : term.raw.index(b"tok/s", start)]


@pytest.mark.parametrize("columns_exported", [True, False])
def test_narrowing_the_window_mid_reply_leaves_no_copies(
    fake_server: FakeServer, columns_exported: bool
) -> None:
    env = chat_env(fake_server.url)
    if not columns_exported:
        del env["COLUMNS"], env["LINES"]
    term = Terminal([], env)
    try:
        term.wait_for_prompt()
        # ~10 ms a chunk: the list (one block, so all of it live) takes about a second.
        fake_server.enqueue(Reply.text(REPLY, chunk_size=8, delay=0.01))
        term.type("a list please")
        term.wait_for("item 12")
        term.child.setwinsize(ROWS, COLS - 40)
        term.screen.resize(ROWS, COLS - 40)
        term.wait_for("closing paragraph")
        term.wait_for("tok/s")
        screen = term.text()
        for item in ITEMS:
            assert screen.count(item[2:11]) == 1, (item, screen)  # "item 07: "
        assert not TRAILING_SPACE.findall(reply_bytes(term))
    finally:
        term.close()


def test_a_reply_in_a_terminal_writes_no_trailing_spaces(fake_server: FakeServer) -> None:
    code = "```python\n" + "".join(f"x_{n} = {n}\n" for n in range(20)) + "```\n"
    fake_server.enqueue(Reply.text(REPLY + "\n" + code, chunk_size=16, delay=0.002))
    term = Terminal([], chat_env(fake_server.url))
    try:
        term.wait_for_prompt()
        term.type("go")
        term.wait_for("tok/s")
        written = reply_bytes(term)
        assert not TRAILING_SPACE.findall(written)
        assert b"\x1b[K" in written  # the code block's background, painted to the edge
        assert term.count("x_19 = 19") == 1
    finally:
        term.close()
