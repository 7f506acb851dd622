"""A real HTTP/1.1 server on 127.0.0.1 that speaks enough chat-completions for tests.

In-process (the usual way, via the `fake_server` fixture)::

    server = FakeServer().start()          # serves from a background thread
    server.enqueue(Reply.error(500, "boom"), Reply.text("Hello"))
    ...                                    # point chatrepl at server.url
    server.requests[0].body["messages"]    # what the client sent
    server.stop()

Without a scripted reply, a POST to `…/chat/completions` streams "You said: <last user
message>" in 4-character deltas (plus a usage chunk when `stream_options.include_usage`
is set, then `[DONE]`), or answers with one JSON completion when `stream` is false.

Standalone, for a test that wants it in another process::

    python tests/fakeserver.py --port 0 --script replies.json   # prints its URL, then serves

A script is a JSON list of replies, or `{"replies": [...], "models": [...],
"available_models": [...], "require_key": "...", "routes": {"/v1/models": [...]}}`; each
reply is a dict of `Reply` fields, plus `text` (streamed with `sse_chunks`, taking
`chunk_size`, `usage`, `done`, `crlf`, `events_per_chunk`) or `error` (a message).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import select
import signal
import socket
import struct
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
HEROKU_MODELS_PATH = "/available-models"
DEFAULT_MODEL = "fake-model"
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


# --- building replies -----------------------------------------------------------


def sse_event(data: Any) -> bytes:
    """One `data:` event: a str as is, anything else as compact JSON."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return b"data: " + text.encode() + b"\n\n"


def _chunk(model: str, choices: list[Any], **extra: Any) -> dict[str, Any]:
    head = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model}
    return {**head, "choices": choices, **extra}


def sse_chunks(
    text: str,
    chunk_size: int = 4,
    *,
    usage: bool = True,
    done: bool = True,
    crlf: bool = False,
    finish: str | None = "stop",
    reasoning: str = "",
    model: str = DEFAULT_MODEL,
    prompt_tokens: int = 9,
) -> list[bytes]:
    """A whole OpenAI-style stream for `text`, one SSE event per list item."""
    step = max(1, chunk_size)
    thoughts = [reasoning[i : i + step] for i in range(0, len(reasoning), step)]
    pieces = [text[i : i + step] for i in range(0, len(text), step)]
    objs = [_chunk(model, [_delta({"role": "assistant", "content": ""})])]
    objs += [_chunk(model, [_delta({"reasoning_content": t})]) for t in thoughts]
    objs += [_chunk(model, [_delta({"content": p})]) for p in pieces]
    if finish:
        objs.append(_chunk(model, [_delta({}, finish)]))
    if usage:
        counts = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces) + len(thoughts),
            "total_tokens": prompt_tokens + len(pieces) + len(thoughts),
        }
        objs.append(_chunk(model, [], usage=counts))
    events = [sse_event(o) for o in objs]
    if done:
        events.append(b"data: [DONE]\n\n")
    return [e.replace(b"\n", b"\r\n") for e in events] if crlf else events


def _delta(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish}


def completion_body(text: str, *, model: str = DEFAULT_MODEL, prompt_tokens: int = 9) -> dict:
    """A non-streamed chat.completion with `text` as the answer."""
    done = max(1, len(text) // 4)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": done,
            "total_tokens": prompt_tokens + done,
        },
    }


def error_body(status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    """An OpenAI/Heroku-shaped error object."""
    kinds = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error"}
    kinds |= {403: "authorization_error", 429: "rate_limit_error"}
    kind = kind or kinds.get(status, "server_error")
    return {"error": {"code": status, "message": message, "type": kind}}


@dataclass(eq=False)
class Reply:
    """How the server answers one request. Streams when `chunks` is set, else sends `body`."""

    status: int = 200
    chunks: list[bytes] | None = None  # SSE bytes; each item is written (and flushed) alone
    body: Any = None  # JSON value, or bytes/str sent as is, when `chunks` is None
    headers: dict[str, str] = field(default_factory=dict)
    pause: float = 0.0  # seconds to wait before answering at all (read timeouts)
    delay: float = 0.0  # seconds to wait before each chunk after the first
    chunked: bool = True  # False: no Content-Length, the stream ends by closing the connection
    hold_after: int | None = None  # after this many chunks, wait for `release` or a disconnect
    hold_timeout: float = 30.0  # a forgotten hold gives up rather than block a thread forever
    drop_after: int | None = None  # after this many chunks, cut the connection mid-stream
    gzip: bool = False  # Content-Encoding: gzip (flushed per chunk, so it still streams)
    content_type: str | None = None
    reset: bool = False  # reset the connection (RST) instead of answering at all
    # filled in by the server while it serves the reply:
    release: threading.Event = field(default_factory=threading.Event, repr=False)
    disconnected: threading.Event = field(default_factory=threading.Event, repr=False)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)
    sent_at: list[float] = field(default_factory=list, repr=False)  # monotonic, after each flush

    @classmethod
    def text(cls, text: str, chunk_size: int = 4, **options: Any) -> Reply:
        """A streamed answer (see `sse_chunks` for `usage`, `done`, `crlf`, `reasoning`...)."""
        names = {f.name for f in fields(cls)}
        reply_options = {k: v for k, v in options.items() if k in names}
        sse_options = {k: v for k, v in options.items() if k not in names}
        return cls(chunks=sse_chunks(text, chunk_size, **sse_options), **reply_options)

    @classmethod
    def hanging(cls, text: str = "Partial", chunk_size: int = 4, **options: Any) -> Reply:
        """Streams the start of an answer, then hangs until released or the client leaves."""
        chunks = sse_chunks(text, chunk_size, usage=False, done=False, finish=None)
        return cls(chunks=chunks, hold_after=len(chunks), **options)

    @classmethod
    def error(cls, status: int, message: str, *, kind: str | None = None, **options: Any) -> Reply:
        """An HTTP error with an OpenAI-shaped JSON body."""
        return cls(status=status, body=error_body(status, message, kind), **options)

    @classmethod
    def completion(cls, text: str, **options: Any) -> Reply:
        """A non-streamed JSON completion."""
        return cls(body=completion_body(text), **options)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Reply:
        """A reply from a JSON script entry."""
        spec = dict(spec)
        text = spec.pop("text", None)
        message = spec.pop("error", None)
        group = int(spec.pop("events_per_chunk", 1))
        sse_keys = ("chunk_size", "usage", "done", "crlf", "finish", "reasoning", "model")
        sse_options = {k: spec.pop(k) for k in sse_keys if k in spec}
        if "chunks" in spec:
            spec["chunks"] = [c.encode() if isinstance(c, str) else c for c in spec["chunks"]]
        if text is not None:
            spec["chunks"] = sse_chunks(text, **sse_options)
        if message is not None:
            spec["body"] = error_body(spec.get("status", 500), message)
        if group > 1 and spec.get("chunks"):
            c = spec["chunks"]
            spec["chunks"] = [b"".join(c[i : i + group]) for i in range(0, len(c), group)]
        return cls(**spec)


@dataclass
class Recorded:
    """One request as the server saw it. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None
    raw: bytes
    reply: Reply | None = None
    received_at: float = field(default_factory=time.monotonic)  # when its body was read


# --- the server -----------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so tests can count connection reuse
    timeout = 60  # an idle keep-alive connection is closed after this
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        # Small SSE writes must leave at once, not wait for the previous one's ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake.connection_opened(self.connection)

    def finish(self) -> None:
        self.server.fake.connection_closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write(f"fakeserver: {format % args}\n")

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = Recorded(self.command, self.path.split("?")[0], headers, body, raw)
        reply = self.server.fake.reply_for(record)
        record.reply = reply
        self.server.fake.record(record)
        try:
            if reply.pause and self.server.fake.stopping.wait(reply.pause):
                self.close_connection = True
                return
            if reply.reset:
                self._reset()
                return
            self._send(reply)
        except _GONE:
            reply.disconnected.set()
            self.close_connection = True
        finally:
            reply.finished.set()

    def _send(self, reply: Reply) -> None:
        streaming = reply.chunks is not None
        self.send_response(reply.status)
        default_type = "text/event-stream" if streaming else "application/json"
        self.send_header("Content-Type", reply.content_type or default_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        if not streaming:
            payload = _encode_body(reply.body)
            if reply.gzip:
                payload = _gzip(payload)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self._stream(reply)

    def _stream(self, reply: Reply) -> None:
        packer = zlib.compressobj(wbits=31) if reply.gzip else None
        chunks = reply.chunks or []
        for i in range(len(chunks) + 1):
            if reply.drop_after == i:
                self._drop()
                return
            if reply.hold_after == i and not self._hold(reply):
                return
            if i == len(chunks):
                break
            if i and reply.delay:
                time.sleep(reply.delay)
            data = chunks[i]
            if packer is not None:
                data = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
            self._write(data, chunked=reply.chunked)
            reply.sent_at.append(time.monotonic())
        if packer is not None:
            self._write(packer.flush(), chunked=reply.chunked)
        if reply.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write(self, data: bytes, *, chunked: bool) -> None:
        if not data:
            return  # an empty chunk would end a chunked body
        # One write per chunk: header, data and trailer leave in a single segment.
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)

    def _hold(self, reply: Reply) -> bool:
        """Wait for `reply.release`; False if the client left or the server is stopping."""
        deadline = time.monotonic() + reply.hold_timeout
        while not reply.release.wait(0.02):
            if self._client_gone():
                reply.disconnected.set()
                self.close_connection = True
                return False
            if self.server.fake.stopping.is_set() or time.monotonic() > deadline:
                self.close_connection = True
                return False
        return True

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True

    def _reset(self) -> None:
        """Abort the connection: linger 0 makes close() send RST, not FIN."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _encode_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=31)
    return packer.compress(data) + packer.flush()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up is normal here (Ctrl-C tests); only real bugs get a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FakeServer:
    """A scripted chat-completions server on 127.0.0.1, served from a background thread."""

    def __init__(
        self,
        *,
        port: int = 0,
        require_key: str | None = None,
        models: Any = (DEFAULT_MODEL,),
        available_models: Any = None,
        chunk_size: int = 4,
        delay: float = 0.0,
        verbose: bool = False,
    ) -> None:
        self.requested_port = port
        self.require_key = require_key
        self.models = list(models) if isinstance(models, tuple) else models  # None: 404
        self.available_models = available_models  # Heroku's listing; None: 404
        self.chunk_size = chunk_size  # of the default reply
        self.delay = delay  # of the default reply
        self.verbose = verbose
        self.requests: list[Recorded] = []
        self.connections = 0  # TCP connections accepted so far
        # called first for every request; a Reply it returns is the answer (e.g. one
        # built from what the request carried), None falls through to the queue
        self.respond: Callable[[Recorded], Reply | None] | None = None
        self.stopping = threading.Event()
        self._queues: dict[str, deque[Reply]] = {}
        self._lock = threading.Condition()
        self._sockets: set[socket.socket] = set()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> FakeServer:
        """Bind and serve from a daemon thread; returns self."""
        self._httpd = _HttpServer(("127.0.0.1", self.requested_port), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection (held replies give up)."""
        self.stopping.set()
        if self._httpd is None:
            return
        self._httpd.shutdown()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port actually bound."""
        assert self._httpd is not None, "start() the server first"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`: the origin, like Heroku's INFERENCE_URL (no /v1)."""
        return f"http://127.0.0.1:{self.port}"

    # --- scripting -----------------------------------------------------------------

    def enqueue(self, *replies: Reply, path: str = CHAT_PATH) -> None:
        """Answer the next requests to `path` with these replies, in order."""
        with self._lock:
            self._queues.setdefault(path, deque()).extend(replies)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until `count` requests have arrived; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.requests) >= count, timeout)

    @property
    def chat_requests(self) -> list[Recorded]:
        """The recorded chat-completions POSTs."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # --- called by the handler ---------------------------------------------------------

    def connection_opened(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self._sockets.add(sock)

    def connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def record(self, record: Recorded) -> None:
        with self._lock:
            self.requests.append(record)
            self._lock.notify_all()

    def reply_for(self, request: Recorded) -> Reply:
        """The scripted reply for this request, or the default one."""
        path = CHAT_PATH if request.path.endswith("/chat/completions") else request.path
        locked = self.require_key is not None and path != HEROKU_MODELS_PATH  # Heroku's is public
        if locked and request.headers.get("authorization") != f"Bearer {self.require_key}":
            return Reply.error(401, "Invalid API Key")
        if self.respond is not None:
            answer = self.respond(request)
            if answer is not None:
                return answer
        with self._lock:
            queue = self._queues.get(path)
            if queue:
                return queue.popleft()
        if path == CHAT_PATH and request.method == "POST":
            return self._echo(request.body if isinstance(request.body, dict) else {})
        if path == MODELS_PATH and request.method == "GET" and self.models is not None:
            return Reply(body=_models_body(self.models))
        if path == HEROKU_MODELS_PATH and self.available_models is not None:
            return Reply(body=self.available_models)
        return Reply.error(404, f"no route for {request.method} {request.path}")

    def _echo(self, payload: dict[str, Any]) -> Reply:
        """The default answer: 'You said: <last user message>'."""
        messages = [m for m in payload.get("messages") or [] if isinstance(m, dict)]
        users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
        text = f"You said: {users[-1] if users else ''}"
        model = str(payload.get("model") or DEFAULT_MODEL)
        words = sum(len(str(m.get("content", "")).split()) for m in messages)
        if not payload.get("stream"):
            return Reply(body=completion_body(text, model=model, prompt_tokens=words))
        options = payload.get("stream_options")
        usage = isinstance(options, dict) and bool(options.get("include_usage"))
        chunks = sse_chunks(text, self.chunk_size, usage=usage, model=model, prompt_tokens=words)
        return Reply(chunks=chunks, delay=self.delay)


def _models_body(models: Any) -> Any:
    if isinstance(models, list) and all(isinstance(m, str) for m in models):
        return {"object": "list", "data": [{"id": m, "object": "model"} for m in models]}
    return models


# --- standalone -------------------------------------------------------------------


def load_script(server: FakeServer, script: Any) -> None:
    """Apply a JSON script (see the module docstring) to a server."""
    if isinstance(script, list):
        script = {"replies": script}
    server.enqueue(*(Reply.from_dict(r) for r in script.get("replies", [])))
    for path, replies in (script.get("routes") or {}).items():
        server.enqueue(*(Reply.from_dict(r) for r in replies), path=path)
    for name in ("models", "available_models", "require_key"):
        if name in script:
            setattr(server, name, script[name])


def main(argv: Iterable[str] | None = None) -> int:
    """Serve until interrupted, after printing the URL on the first line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--script", help="a JSON file of scripted replies")
    parser.add_argument("--require-key", help="answer 401 unless this bearer token is sent")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(list(argv) if argv is not None else None)
    server = FakeServer(port=args.port, require_key=args.require_key, verbose=args.verbose)
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            load_script(server, json.load(f))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: `&` jobs start with it ignored
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    print(server.url, flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
