"""Writing into a pipe whose reader shares our terminal (`chatrepl | tee log`)."""

from __future__ import annotations

import io
import os
import threading
import time

from chatrepl.core.messages import TextDelta, TurnStats
from chatrepl.ui.plain import PlainView
from chatrepl.ui.terminal import is_pipe, wait_for_reader


def test_a_stderr_line_waits_for_the_pipe_only_after_stdout_was_written() -> None:
    out, err, waits = io.StringIO(), io.StringIO(), []
    view = PlainView(out, err, settle=lambda: waits.append(out.getvalue()))
    view.info("before any reply")
    assert waits == []  # nothing was written to the pipe: nothing to wait for
    view.begin_reply()
    view.show(TextDelta("the reply"))
    view.end_reply(TurnStats(model="m"))
    view.info("and after")
    assert waits == ["the reply\n"]  # once, before the stats line, with the reply flushed
    assert err.getvalue().splitlines() == ["before any reply", "m", "and after"]


def test_wait_for_reader_returns_once_the_reader_took_everything() -> None:
    read_fd, write_fd = os.pipe()
    taken: list[bytes] = []

    def slow_reader() -> None:
        time.sleep(0.05)
        taken.append(os.read(read_fd, 1 << 16))

    with os.fdopen(write_fd, "w") as pipe:
        assert is_pipe(pipe) and not is_pipe(io.StringIO())
        pipe.write("a line for tee\n")
        pipe.flush()
        reader = threading.Thread(target=slow_reader)
        reader.start()
        wait_for_reader(pipe, timeout=10)
        assert taken == [b"a line for tee\n"]  # not returned before the reader read it
        reader.join()
    os.close(read_fd)


def test_wait_for_reader_gives_up_on_a_reader_that_does_not_read() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "w") as pipe:
        pipe.write("nobody reads this\n")
        pipe.flush()
        wait_for_reader(pipe, timeout=0.01)  # returns: bounded
    os.close(read_fd)


def test_a_stderr_line_wider_than_its_terminal_breaks_between_parts() -> None:
    out, err = io.StringIO(), io.StringIO()
    view = PlainView(out, err, err_width=lambda: 40)
    view.info("claude-4-5-sonnet · first token 0.01s · total 0.02s · 6 tokens")
    view.info("short")
    assert err.getvalue().splitlines() == [
        "claude-4-5-sonnet · first token 0.01s",
        "total 0.02s · 6 tokens",
        "short",
    ]


def test_a_table_wider_than_the_terminal_is_laid_out_to_fit() -> None:
    rows = [
        ("url", "http://127.0.0.1:8080", "env INFERENCE_URL"),
        ("model", "m", "remembered for this endpoint (/home/u/.local/state/chatrepl/e.json)"),
        ("/retry, /r", "resend the last message, replacing its reply, as often as asked", ""),
    ]
    out, err = io.StringIO(), io.StringIO()
    PlainView(out, err, err_width=lambda: 60).table([r[:2] for r in rows[2:]] + rows[:2])
    assert err.getvalue().splitlines() == [
        "  /retry, /r   resend the last message, replacing its",
        "               reply, as often as asked",
        "  url          http://127.0.0.1:8080   env INFERENCE_URL",
        "  model        m",
        "      remembered for this endpoint",
        "      (/home/u/.local/state/chatrepl/e.json)",
    ]
    wide = io.StringIO()
    PlainView(out, wide, err_width=lambda: 200).table(rows[:2])
    assert wide.getvalue().splitlines()[0] == "  url    http://127.0.0.1:8080  env INFERENCE_URL"
