"""Against a real OpenAI-compatible server nobody here wrote: llama.cpp's, via `--local`.

What llama.cpp sends is what we must parse: `"content": null` in the first delta, a
`timings` object, model ids that are aliases, its own 401 body. One server (SmolLM2,
loaded once per session) serves the in-process tests; the CLI and REPL tests start
their own with `--local`, so that path is covered end to end, exit included.

Replies are capped at a few tokens and sampled at temperature 0 to keep this fast.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from chatrepl.adapters.llamacpp import LocalServer, bundled_model_installed, start_local_server
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.engine import Engine
from chatrepl.core.settings import Layer, Resolved, Secret, resolve
from tests.fakes import RecordingView

pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None or not bundled_model_installed(),
        reason="needs pip install '.[local]' and the model (see the README's Install)",
    ),
]

MAX_TOKENS = 24


@pytest.fixture(scope="session")
def llama() -> Iterator[LocalServer]:
    """llama.cpp's server with SmolLM2, started once for the whole session."""
    with start_local_server() as server:
        yield server


class RecordingBackend:
    """The real HttpBackend, keeping a copy of every payload it sends."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.payloads: list[dict[str, Any]] = []

    def stream(self, payload: dict[str, Any]) -> Iterator[Any]:
        self.payloads.append(copy.deepcopy(payload))
        return self.backend.stream(payload)

    def list_models(self) -> list[str]:
        return self.backend.list_models()


def settings_for(server: LocalServer, *, key: str | None = None, **values: Any) -> Resolved:
    layer = {
        "url": server.url,
        "key": Secret(key or server.key, "INFERENCE_KEY"),
        "model": server.model,
        "temperature": 0.0,
        "max_tokens": MAX_TOKENS,
        **values,
    }
    return resolve(Layer("test", layer))


@pytest.fixture
def make_engine(
    llama: LocalServer,
) -> Iterator[Callable[..., tuple[Engine, RecordingBackend, RecordingView]]]:
    """Engine + real HttpBackend + recording view; backends are closed afterwards."""
    from chatrepl.adapters.http import HttpBackend

    opened: list[HttpBackend] = []

    def make(**values: Any) -> tuple[Engine, RecordingBackend, RecordingView]:
        key = values.pop("key", None)
        resolved = settings_for(llama, key=key, **values)
        http = HttpBackend(resolved.settings)
        opened.append(http)
        backend, view = RecordingBackend(http), RecordingView()
        return Engine(resolved, backend, view, commands=builtin_commands()), backend, view

    yield make
    for http in opened:
        http.close()


# --- through the engine, in process ---------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "non-streaming"])
def test_two_turns_the_second_request_carries_the_first_reply(
    make_engine: Any, stream: bool
) -> None:
    engine, backend, view = make_engine(stream=stream)
    engine.handle("My name is Ada. Say hello to me.")
    assert view.errors == []
    first = engine.conversation.messages[-1]
    assert first.role == "assistant" and first.content.strip()
    engine.handle("What is my name?")
    assert view.errors == []
    second = engine.conversation.messages[-1]
    assert second.role == "assistant" and second.content.strip()

    sent = backend.payloads[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"] == first.content
    assert backend.payloads[1]["stream"] is stream
    # The server's own count proves it received the longer history.
    assert first.stats and first.stats.usage and second.stats and second.stats.usage
    u1, u2 = first.stats.usage, second.stats.usage
    assert u1.prompt_tokens and u1.completion_tokens and u2.prompt_tokens
    assert u2.prompt_tokens > u1.prompt_tokens + u1.completion_tokens - 2
    deltas = [e for e in view.shown if e.text]
    # Streaming shows the reply piece by piece; otherwise it arrives in one piece per turn.
    assert len(deltas) > 2 if stream else len(deltas) == 2


def test_a_reply_reports_finish_and_timing(make_engine: Any) -> None:
    engine, _, view = make_engine(max_tokens=8)
    engine.handle("Count to twenty.")
    stats = engine.conversation.messages[-1].stats
    assert stats is not None
    assert stats.finish_reason == "length" and not stats.truncated
    assert stats.ttft is not None and 0 < stats.ttft < stats.duration
    assert stats.usage is not None and stats.usage.completion_tokens == 8
    assert view.ended[-1] is stats


def test_models_lists_the_alias(make_engine: Any, llama: LocalServer) -> None:
    engine, _, view = make_engine()
    engine.handle("/models")
    assert view.errors == []
    ((_title, rows),) = view.tables
    assert ("*", llama.model) in rows and llama.model == "smollm2"
    assert list(engine.known_models) == ["smollm2"]


def test_a_wrong_key_gives_one_clean_line_naming_the_variable(make_engine: Any) -> None:
    engine, _, view = make_engine(key="not-the-key-0123456789")
    engine.handle("hello")
    (line,) = view.errors
    assert line.startswith("HTTP 401") and "$INFERENCE_KEY" in line
    assert "Invalid API Key" in line and "\n" not in line
    assert "not-the-key-0123456789" not in line
    assert engine.conversation.pending_user is not None  # kept for /retry


def test_llamacpp_announces_its_dialect_and_takes_think_on(
    make_engine: Any, llama: LocalServer
) -> None:
    # what core/dialect.py's llama.cpp rules rest on, checked against the real server
    from chatrepl.adapters.http import HttpBackend
    from chatrepl.core.dialect import Detected

    with HttpBackend(settings_for(llama).settings) as http:
        assert http.list_models() == ["smollm2"]
        assert http.announced == Detected("llamacpp", "detected: Server: llama.cpp header")
    engine, backend, view = make_engine(dialect="llamacpp", think="on", temperature=1.5)
    engine.handle("Say hi.")
    assert view.errors == []
    sent = backend.payloads[-1]
    assert sent["chat_template_kwargs"] == {"enable_thinking": True}
    assert sent["temperature"] == 1.5  # llama.cpp's range is not Heroku's
    assert engine.conversation.messages[-1].content.strip()


# --- the real command line --------------------------------------------------------


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def chatrepl(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatrepl", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def llama_noise(stderr: str) -> list[str]:
    """Lines that look like llama.cpp's or ggml's logging rather than ours."""
    markers = ("llama", "ggml", "srv ", "load_model", "common_")
    return [line for line in stderr.splitlines() if any(m in line for m in markers)]


def test_one_shot_local_prints_a_reply_and_exits_0() -> None:
    result = chatrepl("--local", "--max-tokens", "16", "--no-save", "Say hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert llama_noise(result.stderr) == []


def test_one_shot_against_the_server_through_the_environment(llama: LocalServer) -> None:
    env = {"INFERENCE_URL": llama.url, "INFERENCE_KEY": llama.key}
    result = chatrepl("--max-tokens", "16", "--no-save", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_one_shot_with_a_wrong_key_exits_1_with_one_line(llama: LocalServer) -> None:
    env = {"INFERENCE_URL": llama.url, "INFERENCE_KEY": "inf-wrong0123456789"}
    result = chatrepl("--no-save", "hi", env=env)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "HTTP 401" in line and "$INFERENCE_KEY" in line and "wrong0123456789" not in line


def test_continue_after_a_local_chat_starts_the_local_server_again() -> None:
    # The README's own `chatrepl --local`, then `chatrepl -c` with no endpoint configured:
    # the session recorded the `local` profile, and resuming it starts the server again.
    first = chatrepl("--local", "--max-tokens", "8", "--temperature", "0", "Say hi")
    assert first.returncode == 0, first.stderr
    again = chatrepl("-c", "--max-tokens", "8", "And again")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() and "no endpoint configured" not in again.stderr
    folder = Path(os.environ["XDG_DATA_HOME"]) / "chatrepl" / "sessions"
    (session,) = folder.glob("*.jsonl")
    header, *messages = session.read_text().splitlines()
    assert '"profile": "local"' in header
    assert [json.loads(m)["role"] for m in messages] == ["user", "assistant"] * 2


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    # A process of its own: xllamacpp is only dependable with one server per process.
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)


def test_the_server_stops_when_its_block_raises() -> None:
    code = (
        "import socket\n"
        "from chatrepl.adapters.llamacpp import start_local_server\n"
        "try:\n"
        "    with start_local_server() as server:\n"
        "        port = int(server.url.rsplit(':', 1)[1])\n"
        "        socket.create_connection(('127.0.0.1', port)).close()\n"
        "        raise RuntimeError('boom')\n"
        "except RuntimeError:\n"
        "    pass\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', port)).close()\n"
        "    print('still listening')\n"
        "except ConnectionRefusedError:\n"
        "    print('stopped')\n"
    )
    result = run_python(code)
    assert (result.returncode, result.stdout, result.stderr) == (0, "stopped\n", "")


def test_an_abandoned_server_does_not_hang_the_exit() -> None:
    # Entered but never exited: the atexit hook stops it as the interpreter ends.
    code = (
        "from chatrepl.adapters.llamacpp import start_local_server\n"
        "manager = start_local_server()\n"
        "server = manager.__enter__()\n"
        "print(server.url)\n"
    )
    result = run_python(code)
    assert result.returncode == 0 and result.stdout.startswith("http://127.0.0.1:")
    assert result.stderr == ""


# --- the REPL in a real pseudo-terminal -------------------------------------------


class Terminal:
    """`chatrepl` in a pty, its output fed to a pyte screen so assertions see what a user sees."""

    def __init__(self, *args: str, rows: int = 40, cols: int = 120) -> None:
        import pexpect
        import pyte

        env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "chatrepl", *args],
            env=env,
            dimensions=(rows, cols),
            encoding="utf-8",
            codec_errors="replace",
        )
        self.screen = pyte.HistoryScreen(cols, rows, history=2000)
        self.stream = pyte.Stream(self.screen)

    def text(self) -> str:
        """Everything scrolled off plus the screen, as plain lines."""
        above = ["".join(ch.data for ch in line.values()) for line in self.screen.history.top]
        return "\n".join([*above, *self.screen.display])

    def pump(self, seconds: float) -> bool:
        """Read output for up to `seconds`; False once the program has ended."""
        import pexpect

        try:
            self.stream.feed(self.child.read_nonblocking(65536, timeout=seconds))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while not predicate(text := self.text()):
            if time.monotonic() > deadline or not self.pump(0.1):
                raise AssertionError(f"never saw {what}; the terminal shows:\n{text}")
        return text

    def type(self, line: str) -> None:
        self.child.send(line)
        time.sleep(0.2)  # let the completion menu settle before Enter
        self.child.send("\r")

    def exit_status(self, timeout: float = 20) -> int | None:
        deadline = time.monotonic() + timeout
        while self.pump(0.1):
            assert time.monotonic() < deadline, f"still running:\n{self.text()}"
        self.child.close()
        return (
            self.child.exitstatus
            if self.child.exitstatus is not None
            else (-(self.child.signalstatus or 0))
        )

    def kill(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)


@pytest.fixture
def repl() -> Iterator[Callable[..., tuple[Terminal, int]]]:
    """Start `chatrepl --local ARGS` in a pty; gives the terminal and the server's port."""
    started: list[Terminal] = []

    def start(*args: str) -> tuple[Terminal, int]:
        term = Terminal("--local", "--no-save", "--temperature", "0", *args)
        started.append(term)
        text = term.wait_for(lambda t: "/help for commands" in t, "the banner")
        host = text.split(" at 127.0.0.1:", 1)[1]
        port = int(host.split()[0])
        term.wait_for(lambda t: "> " in t.split("/help for commands", 1)[1], "the prompt")
        assert port_open(port)
        return term, port

    yield start
    for term in started:
        term.kill()


def replies(text: str) -> int:
    return text.count("first token")  # the stats line under each reply


def test_repl_a_turn_then_model_then_exit(repl: Any) -> None:
    term, port = repl("--max-tokens", "16")
    term.type("Say hi")
    term.wait_for(lambda t: replies(t) == 1, "the reply's stats line")
    term.type("/model")
    term.wait_for(lambda t: "model: smollm2" in t, "/model's answer")
    term.type("/exit")
    assert term.exit_status() == 0
    assert not port_open(port)
    assert "Traceback" not in term.text() and llama_noise(term.text()) == []


def test_repl_ctrl_c_stops_a_reply_and_ctrl_d_leaves(repl: Any) -> None:
    term, port = repl("--max-tokens", "2000")
    term.type("List 200 animals, numbered.")  # about 2000 tokens at temperature 0
    term.wait_for(
        lambda t: re.search(r"^\s*3\.?\s+\w", t, re.MULTILINE) is not None, "the reply streaming"
    )
    term.child.sendintr()
    term.wait_for(lambda t: "> " in t.partition("[interrupted]")[2], "the prompt again")
    term.child.sendeof()
    assert term.exit_status() == 0
    assert not port_open(port)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_repl_killed_or_hung_up_exits_and_closes_the_server(repl: Any, signum: int) -> None:
    term, port = repl()
    term.child.kill(signum)
    assert term.exit_status() == 128 + signum
    assert not port_open(port)


def test_repl_sigterm_while_the_model_loads_waits_for_it_then_exits() -> None:
    # The load runs in C holding the GIL; the app's handler is held until the server is
    # safely up (stopping it half-started would hang), then the run ends with 143.
    term = Terminal("--local", "--no-save")
    try:
        deadline = time.monotonic() + 30
        while "Loading" not in term.text() and "/help" not in term.text():
            assert term.pump(0.02) and time.monotonic() < deadline, term.text()
        term.child.kill(signal.SIGTERM)
        assert term.exit_status(timeout=30) == 143
        assert "Traceback" not in term.text()
    finally:
        term.kill()


@pytest.mark.parametrize("delay", [0.2, 0.35, 0.5])
def test_repl_ctrl_c_while_the_model_loads_exits_cleanly(delay: float) -> None:
    # Depending on the moment, Ctrl-C lands in the spinner, inside the load (held until
    # the server is safely up) or at the first prompt; none may hang or print a traceback.
    term = Terminal("--local", "--no-save")
    try:
        time.sleep(delay)
        term.child.sendintr()
        deadline = time.monotonic() + 30  # a busy 2-core CI box can load slowly
        while term.pump(0.1) and "> " not in term.text().partition("/help for commands")[2]:
            assert time.monotonic() < deadline, f"hung after Ctrl-C:\n{term.text()}"
        if term.child.isalive():
            term.child.sendeof()  # it reached the prompt first
        assert term.exit_status(timeout=30) in (0, 130)
        assert "Traceback" not in term.text()
    finally:
        term.kill()
