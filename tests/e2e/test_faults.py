"""The fault suite: every fault a server or network can throw, in every mode.

70 faults (13 error statuses x JSON, HTML, plain-text and empty bodies; a refused
connection; resets before the headers and mid-stream; malformed events; a stream cut
without [DONE]; an error event after a 200; stalls before the headers, before the first
token and mid-stream; a 1 MB event; invalid UTF-8; a redirect to another origin; a
captive portal; a gzip stream; a server echoing the Authorization header into its
bodies), each streamed and not, each in one-shot mode (the whole CLI, in-process) and in
the REPL's engine with the real rich view (in-process), then a few in a real terminal per
family of faults. For every run:

- one readable line (or none, for the faults a client should simply survive), no
  traceback, no internal error;
- the session goes on: the user's message is kept for /retry, and the next request
  (/retry in the REPL, `-c` in one-shot) is well-formed: roles alternate, nothing empty;
- the session file reads back and is consistent;
- the key appears nowhere, not even 8 characters of it, in any byte written to the
  screen or to any file under the isolated HOME.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakeserver import FakeServer, Recorded, Reply, error_body, sse_chunks, sse_event
from terminal import Terminal, chat_env

from chatrepl.adapters.storage import read_transcript
from chatrepl.app.cli import build_parser, guarded
from chatrepl.app.environment import Environment
from chatrepl.app.wiring import Session

KEY = "inf-faultsuite-0123456789abcdefXYZ"
MESSAGE = "what is a fault?"
STATUSES = (400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504)
RETRIED = {408, 409, 429, 500, 502, 503, 504}
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]|\r")


def key_runs(data: bytes | str, size: int = 8) -> list[str]:
    """Every `size`-character run of the key found in `data`."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [KEY[i : i + size] for i in range(len(KEY) - size + 1) if KEY[i : i + size] in text]


@dataclass(frozen=True)
class Fault:
    """One way things go wrong; `replies(stream)` answers the request (and its retries)."""

    name: str
    family: str
    replies: Callable[[bool], list[Reply]] = lambda stream: []
    respond: Callable[[Recorded], Reply] | None = None  # built from the request itself
    survivable: bool = False  # a client should just cope: a reply, no error line
    flags: tuple[str, ...] = ()
    refused: bool = False  # point at a closed port instead of the server
    words: str = ""  # must be in the error line

    def __str__(self) -> str:
        return self.name


def _status_body(status: int, kind: str) -> Reply:
    headers = {"retry-after-ms": "1"} if status in RETRIED else {}  # no real waits here
    if kind == "json":
        return Reply.error(status, f"status {status} says no", headers=headers)
    if kind == "html":
        page = f"<html><head><title>{status} Error</title></head><body><h1>No</h1></body></html>"
        return Reply(status=status, body=page, content_type="text/html", headers=headers)
    if kind == "text":
        return Reply(
            status=status,
            body=f"upstream said {status}",
            content_type="text/plain",
            headers=headers,
        )
    return Reply(status=status, body=b"", content_type="text/plain", headers=headers)


def _status_fault(status: int, kind: str) -> Fault:
    attempts = 3 if status in RETRIED else 1
    return Fault(
        f"{status}-{kind}",
        "status",
        lambda stream: [_status_body(status, kind) for _ in range(attempts)],
        words=f"HTTP {status}",
    )


def _role() -> bytes:
    return sse_chunks("", usage=False, done=False, finish=None)[0]


def _delta(text: str) -> bytes:
    return sse_event({"choices": [{"index": 0, "delta": {"content": text}}]})


def _finish_and_done() -> list[bytes]:
    finish = sse_event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return [finish, b"data: [DONE]\n\n"]


def _echo_reply(request: Recorded) -> Reply:
    seen = request.headers.get("authorization", "")
    text = f"Your request carried Authorization: {seen} (echoed)"
    if isinstance(request.body, dict) and not request.body.get("stream"):
        return Reply.completion(text)
    return Reply.text(text, chunk_size=5)


def _echo_error(status: int, kind: str) -> Callable[[Recorded], Reply]:
    def respond(request: Recorded) -> Reply:
        seen = request.headers.get("authorization", "")
        if kind == "json":
            return Reply(status=status, body=error_body(status, f"bad credentials: {seen}"))
        page = f"<html><body><pre>{'x' * 120} Authorization: {seen}</pre></body></html>"
        return Reply(
            status=status, body=page, content_type="text/html", headers={"retry-after-ms": "1"}
        )

    return respond


def _echo_event(request: Recorded) -> Reply:
    seen = request.headers.get("authorization", "")
    chunks = [_role(), _delta("Partial"), sse_event({"error": {"message": f"denied {seen}"}})]
    return Reply(chunks=chunks)


BIG = sse_event(
    {"choices": [{"index": 0, "delta": {"content": "A big event."}}], "obfuscation": "x" * 2**20}
)
BAD_UTF8 = b'data: {"choices":[{"index":0,"delta":{"content":"caf\xe9 \xff au lait"}}]}\n\n'
PORTAL = b"<html><head><title>Hotel WiFi: sign in</title></head><body>Welcome</body></html>"

FAULTS: list[Fault] = [
    *(
        _status_fault(status, kind)
        for status in STATUSES
        for kind in ("json", "html", "text", "empty")
    ),
    Fault(
        "refused",
        "connection",
        refused=True,
        flags=("--max-retries", "0"),
        words="connection refused",
    ),
    Fault(
        "reset-before-headers",
        "connection",
        lambda s: [Reply(reset=True)],
        flags=("--max-retries", "0"),
        words="cannot reach",
    ),
    Fault(
        "reset-mid-stream",
        "connection",
        lambda s: [Reply.text("Some of the answer, then more", drop_after=3)],
        words="mid-reply",
    ),
    Fault(
        "malformed-event",
        "stream",
        lambda s: [Reply(chunks=[_role(), _delta("Par"), b"data: {oops, not json\n\n"])],
        words="malformed stream",
    ),
    Fault(
        "no-done",
        "stream",
        lambda s: [Reply.text("Cut off here", done=False, finish=None, usage=False)],
        words="closed mid-reply",
    ),
    Fault(
        "error-event-after-200",
        "stream",
        lambda s: [
            Reply(
                chunks=[
                    _role(),
                    _delta("Partial"),
                    sse_event({"error": {"message": "model overloaded"}}),
                ]
            )
        ],
        words="model overloaded",
    ),
    Fault(
        "1mb-event",
        "stream",
        lambda s: [Reply(chunks=[_role(), BIG, *_finish_and_done()])],
        survivable=True,
    ),
    Fault(
        "invalid-utf8",
        "stream",
        lambda s: [Reply(chunks=[_role(), BAD_UTF8, *_finish_and_done()])],
        survivable=True,
    ),
    Fault(
        "stall-before-headers",
        "stall",
        lambda s: [Reply(pause=3.0)],
        flags=("--timeout", "0.3"),
        words="sent no response within 0.3 s",
    ),
    Fault(
        "stall-before-first-token",
        "stall",
        lambda s: [Reply(chunks=[], hold_after=0)],
        flags=("--timeout", "0.3"),
        words="0.3 s",
    ),
    Fault(
        "stall-mid-stream",
        "stall",
        lambda s: [Reply.hanging("Partial answer")],
        flags=("--timeout", "0.3"),
        words="0.3 s",
    ),
    Fault(
        "redirect-elsewhere",
        "elsewhere",
        lambda s: [Reply(status=307, headers={"Location": "http://localhost:1/collect"})],
        words="not followed",
    ),
    Fault(
        "captive-portal",
        "elsewhere",
        lambda s: [Reply(chunks=[PORTAL], content_type="text/html")],
        words="a web page",
    ),
    Fault(
        "gzip-stream",
        "elsewhere",
        lambda s: [
            Reply.text("Compressed answer", gzip=True)
            if s
            else Reply.completion("Compressed answer", gzip=True)
        ],
        survivable=True,
    ),
    Fault("echo-into-reply", "echo", respond=_echo_reply, survivable=True),
    Fault("echo-401-json", "echo", respond=_echo_error(401, "json"), words="HTTP 401"),
    Fault("echo-502-html", "echo", respond=_echo_error(502, "html"), words="HTTP 502"),
    Fault("echo-error-event", "echo", respond=_echo_event, words="denied"),
]
assert len(FAULTS) == 70


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Scene:
    """The server armed with one fault, and the environment chatrepl runs in."""

    server: FakeServer
    fault: Fault
    stream: bool
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def arm(self) -> None:
        self.server.respond = None
        if self.fault.respond is not None:
            respond, used = self.fault.respond, [0]

            def once(request: Recorded) -> Reply | None:  # the fault, then a healthy server
                if not request.path.endswith("/chat/completions") or used[0] >= 3:
                    return None
                used[0] += 1
                return respond(request)

            self.server.respond = once
        self.server.enqueue(*self.fault.replies(self.stream))

    def heal(self) -> None:
        """Answer normally from now on."""
        self.server.respond = None
        self.server._queues.clear()

    @property
    def flags(self) -> list[str]:
        return [*self.fault.flags, *([] if self.stream else ["--no-stream"])]


@pytest.fixture(params=[True, False], ids=["stream", "no-stream"])
def scene(request: Any, fake_server: FakeServer, isolated_env: Path) -> Iterator[Scene]:
    fault: Fault = request.node.callspec.params["fault"]
    url = f"http://127.0.0.1:{closed_port()}" if fault.refused else fake_server.url
    env = {**os.environ, "INFERENCE_URL": url, "INFERENCE_KEY": KEY, "INFERENCE_MODEL_ID": "m"}
    yield Scene(fake_server, fault, request.param, isolated_env, env)


def one_readable_line(text: str, fault: Fault) -> None:
    """The error line (exactly one, naming the fault), and nothing alarming around it."""
    assert "Traceback" not in text and "internal error" not in text, text
    errors = [line for line in text.splitlines() if "error: " in line]
    if fault.survivable:
        assert errors == [], text
        return
    assert len(errors) == 1, text
    assert fault.words in errors[0], errors[0]


def files_hold_no_key(home: Path) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            assert key_runs(path.read_bytes()) == [], path


def session_is_consistent(fault: Fault) -> list[dict[str, str]]:
    """The newest session file: readable, alternating, our message kept, nothing empty."""
    folder = Path(os.environ["XDG_DATA_HOME"]) / "chatrepl" / "sessions"
    newest = max(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    messages = [m.to_api() for m in read_transcript(newest).conversation.messages]
    well_formed(messages)
    users = [m["content"] for m in messages if m["role"] == "user"]
    assert users and MESSAGE in users[0]
    return messages


def well_formed(messages: list[dict[str, str]]) -> None:
    roles = [m["role"] for m in messages if m["role"] != "system"]
    assert roles and roles[0] == "user"
    assert all(a != b for a, b in itertools.pairwise(roles)), roles
    assert all(m["content"] for m in messages), messages


def chat_bodies(server: FakeServer) -> list[dict[str, Any]]:
    return [r.body for r in server.chat_requests if isinstance(r.body, dict)]


# --- one-shot: the whole CLI, in-process --------------------------------------------


def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    environment = Environment(stdin=io.StringIO(), stdout=out, stderr=err, env=env)
    return guarded(argv, environment), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("fault", FAULTS, ids=str)
def test_one_shot_survives(fault: Fault, scene: Scene) -> None:
    scene.arm()
    status, out, err = run([*scene.flags, MESSAGE], scene.env)
    assert status == (0 if fault.survivable else 1), err
    one_readable_line(err, fault)
    session_is_consistent(fault)
    # the turn is kept: the next run (to a healthy server) sends it along, well-formed
    scene.heal()
    if fault.refused:
        scene.env["INFERENCE_URL"] = scene.server.url
    status, next_out, next_err = run(["-c", *scene.flags, "and then?"], scene.env)
    assert status == 0, next_err
    sent = chat_bodies(scene.server)[-1]["messages"]
    well_formed(sent)
    assert MESSAGE in sent[0]["content"] and "and then?" in sent[-1]["content"]
    assert key_runs(out + err + next_out + next_err) == []
    files_hold_no_key(scene.home)


# --- the REPL's engine and rich view, in-process ---------------------------------------


@pytest.mark.parametrize("fault", FAULTS, ids=str)
def test_repl_engine_survives(fault: Fault, scene: Scene) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = {**scene.env, "FORCE_COLOR": "1", "COLUMNS": "400", "LINES": "30"}  # no wrapping
    environment = Environment(
        stdin=io.StringIO(),
        stdout=out,
        stderr=err,
        env=env,
        stdin_isatty=True,
        stdout_isatty=True,
    )
    args = build_parser().parse_args(scene.flags)
    with Session(args, environment) as session:
        engine = session.build_engine(session.view(), interactive=True)
        scene.arm()
        outcome = engine.handle(MESSAGE)  # never raises: the REPL goes on
        screen = ANSI.sub("", out.getvalue())
        one_readable_line(screen, fault)
        assert (outcome.error is None) == fault.survivable
        if not fault.survivable:
            assert "/retry" in screen
        session_is_consistent(fault)
        scene.heal()
        if fault.refused:  # the server "comes back": a new backend for the new URL
            return
        engine.handle("/retry")
        sent = chat_bodies(scene.server)[-1]["messages"]
        well_formed(sent)
        assert sent[-1] == {"role": "user", "content": MESSAGE}  # resent as it was
        assert engine.conversation.messages[-1].role == "assistant"
    assert key_runs(out.getvalue() + err.getvalue()) == []
    files_hold_no_key(scene.home)


# --- the REPL in a real terminal: a few faults of each family in one session --------


def turn_output(screen: str, question: str) -> str:
    """What a turn printed (between its prompt line and the next), wrapped lines joined."""
    lines = []
    for line in screen.rpartition(f"> {question}")[2].splitlines()[1:]:
        if line.startswith(">"):
            break
        lines.append(line)
    return " ".join(lines)


FAMILIES = {
    "status": ["401-json", "404-html", "413-text", "429-empty", "503-json", "422-html"],
    "connection": ["reset-before-headers", "reset-mid-stream"],
    "stream": ["malformed-event", "no-done", "error-event-after-200", "invalid-utf8"],
    "stall": ["stall-before-headers", "stall-before-first-token", "stall-mid-stream"],
    "elsewhere": ["redirect-elsewhere", "captive-portal", "gzip-stream"],
    "echo": ["echo-into-reply", "echo-401-json", "echo-502-html", "echo-error-event"],
}
BY_NAME = {fault.name: fault for fault in FAULTS}


@pytest.mark.parametrize(
    ("family", "stream"),
    [(family, True) for family in FAMILIES] + [("status", False), ("stream", False)],
    ids=lambda v: v if isinstance(v, str) else ("stream" if v else "no-stream"),
)
def test_repl_in_a_terminal_survives(
    family: str, stream: bool, fake_server: FakeServer, isolated_env: Path
) -> None:
    flags = [] if stream else ["--no-stream"]
    if family in ("stall", "connection"):
        flags += ["--timeout", "0.3", "--max-retries", "0"]
    env = chat_env(fake_server.url, INFERENCE_KEY=KEY, INFERENCE_MODEL_ID="m")
    term = Terminal(flags, env)
    try:
        term.wait_for_prompt()
        for number, name in enumerate(FAMILIES[family]):
            fault = BY_NAME[name]
            scene = Scene(fake_server, fault, stream, isolated_env)
            scene.arm()
            question = f"{MESSAGE} #{number}"
            term.type(question)
            expect = "first token" if fault.survivable else "error: "
            term.wait_for_after(f"> {question}", expect)
            term.wait_for_prompt()
            one_readable_line(turn_output(term.text(), question), fault)
            scene.heal()
            if not fault.survivable:
                term.type("/retry")
                term.wait_for_after("> /retry", f"You said: {question}")
                term.wait_for_prompt()
            well_formed(chat_bodies(fake_server)[-1]["messages"])
        assert term.child.isalive()
        term.child.sendeof()
        assert term.exit_code() == 0
        assert key_runs(term.raw) == []
        files_hold_no_key(isolated_env)
    finally:
        term.close()
