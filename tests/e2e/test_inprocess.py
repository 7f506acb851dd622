"""Whole one-shot and piped runs, in-process, through an injected Environment.

The same `guarded()` boundary the console script uses, with StringIO streams and a dict
for the environment: no subprocess, so each run takes milliseconds. The pseudo-terminal
tests (test_e2e.py) keep the real terminal covered.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply

from chatrepl.app.cli import guarded
from chatrepl.app.environment import Environment
from chatrepl.core.errors import ExitStatus

KEY = "inf-inprocess-0123456789abcdef"


class Run:
    """One in-process run: its exit status and what it wrote."""

    def __init__(
        self, argv: list[str], env: dict[str, str], *, stdin: str = "", stdin_isatty: bool = False
    ) -> None:
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        environment = Environment(
            stdin=io.StringIO(stdin),
            stdout=self.stdout,
            stderr=self.stderr,
            env=env,
            stdin_isatty=stdin_isatty,
        )
        self.status = guarded(argv, environment)

    @property
    def out(self) -> str:
        return self.stdout.getvalue()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()


def environment(server: FakeServer, **extra: str) -> dict[str, str]:
    return {**os.environ, "INFERENCE_URL": server.url, "INFERENCE_KEY": KEY, **extra}


def test_a_one_shot_question_prints_the_reply_alone(fake_server: FakeServer) -> None:
    run = Run(["-m", "m1", "what", "is", "SSE?"], environment(fake_server))
    assert run.status == ExitStatus.OK
    assert run.out == "You said: what is SSE?\n"
    assert "m1" in run.err and "first token" in run.err  # the stats line, on stderr
    (request,) = fake_server.chat_requests
    assert request.body["model"] == "m1"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_piped_text_is_appended_to_the_words(fake_server: FakeServer) -> None:
    run = Run(["summarise:"], environment(fake_server), stdin="line one\nline two\n")
    assert run.status == ExitStatus.OK
    assert run.out == "You said: summarise:\n\nline one\nline two\n"


def test_piped_text_alone_is_the_message(fake_server: FakeServer) -> None:
    run = Run([], environment(fake_server), stdin="just this\n")
    assert (run.status, run.out) == (ExitStatus.OK, "You said: just this\n")


def test_nothing_to_send_is_a_usage_error(fake_server: FakeServer) -> None:
    run = Run([], environment(fake_server), stdin="  \n")
    assert run.status == ExitStatus.USAGE
    assert run.err == "chatrepl: nothing to send: give a message or pipe one in\n"
    assert fake_server.requests == []


def test_a_server_error_is_one_line_and_exit_1(fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply.error(400, "bad things"))
    run = Run(["hi"], environment(fake_server))
    assert run.status == ExitStatus.API
    assert run.out == ""
    assert run.err.strip().splitlines() == ["error: HTTP 400: bad things"]
    assert KEY not in run.out + run.err


def test_a_bad_flag_is_exit_2_even_with_debug(fake_server: FakeServer) -> None:
    run = Run(["--temperature", "9", "--debug", "hi"], environment(fake_server))
    assert run.status == ExitStatus.USAGE
    assert "must be a number from 0 to 2" in run.err


def test_no_endpoint_is_exit_2_naming_what_to_set() -> None:
    run = Run(["hi"], dict(os.environ))
    assert run.status == ExitStatus.USAGE
    assert "INFERENCE_URL" in run.err and "--local" in run.err


def test_one_shot_turns_are_saved_and_continue_picks_them_up(
    fake_server: FakeServer, isolated_env: Path
) -> None:
    env = environment(fake_server)
    assert Run(["first"], env).status == ExitStatus.OK
    run = Run(["-c", "second"], env)
    assert run.status == ExitStatus.OK
    messages = fake_server.chat_requests[-1].body["messages"]
    assert [m["content"] for m in messages] == ["first", "You said: first", "second"]
    (session,) = (isolated_env / ".local/share/chatrepl/sessions").glob("*.jsonl")
    assert KEY not in session.read_text()
    assert len(session.read_text().splitlines()) == 5  # header + four messages


def test_no_stream_asks_for_json(fake_server: FakeServer) -> None:
    run = Run(["--no-stream", "hi"], environment(fake_server))
    assert (run.status, run.out) == (ExitStatus.OK, "You said: hi\n")
    assert fake_server.chat_requests[0].body["stream"] is False


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_exit_0(flag: str) -> None:
    with pytest.raises(SystemExit) as exited:  # argparse exits by itself for these
        Run([flag], dict(os.environ))
    assert exited.value.code == 0


def test_a_loaded_request_body_is_continued(fake_server: FakeServer, tmp_path: Path) -> None:
    body = {
        "model": "claude-x",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
        ],
    }
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    run = Run(["--load", str(path), "q2"], environment(fake_server))
    assert run.status == ExitStatus.OK
    sent = fake_server.chat_requests[0].body
    assert sent["model"] == "claude-x"
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert [m["content"] for m in sent["messages"][1:]] == ["q1", "a1", "q2"]


def test_the_warm_up_puts_what_startup_loaded_out_of_the_collectors_sight() -> None:
    # Otherwise a full collection mid-reply scans everything rich, pygments and
    # prompt_toolkit are made of: ~50 ms at once, a frozen screen (bench_stream.py).
    code = textwrap.dedent(
        """
        import gc, io, time
        from types import SimpleNamespace
        from rich.console import Console
        from chatrepl.app.repl import LazyEngine, _start_warm_up
        from chatrepl.ui.rich_view import RichView
        from chatrepl.ui.views import LazyView

        engine = SimpleNamespace(known_models=["a-model"])
        view = LazyView(lambda: RichView(Console(file=io.StringIO(), force_terminal=True)))
        _start_warm_up(LazyEngine(lambda: engine), None, view)
        deadline = time.monotonic() + 30
        while not gc.get_freeze_count() and time.monotonic() < deadline:
            time.sleep(0.02)
        print(gc.get_freeze_count(), len(gc.get_objects()))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    frozen, tracked = map(int, result.stdout.split())
    assert frozen > 10 * tracked  # a full collection now scans a tenth of it at most
