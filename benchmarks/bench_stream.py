"""What a user feels while a reply streams: the real chatrepl in a pseudo-terminal.

    python benchmarks/bench_stream.py [--quick] [--repeat N] [--client-root DIR]

Each case starts `python -m chatrepl` in a pty that answers cursor-position requests
(ESC[6n -> ESC[row;colR) as a terminal does, waits for its prompt, types a question and
reads everything it writes, timestamped per read. A loopback server in its own process
streams a realistic markdown reply (benchmarks/markdown_sample.py) as one SSE event per
4-character token, unpaced or paced by the clock, and notes when it wrote the first and
the last token (CLOCK_MONOTONIC, shared by every process on the machine).

Per case, side by side in one run (the median of `--repeat` runs):

- first text: from the server writing the first token to the first read from the pty
  that shows reply text;
- longest gap: the longest stretch without any write to the pty while tokens arrive
  (from the first visible text to the last token);
- wall: from pressing Enter to the stats line; beside it curl reading the same stream
  from the same server into /dev/null, and rich printing the finished markdown once
  (into /dev/null, 100 columns, in this process): floor = curl + printing once;
- CPU: the chatrepl process's user+system time for the turn, and printing once's;
- bytes written to the pty for the turn (live redraws included) beside the bytes rich
  writes printing the reply once (padded), and lines that end in spaces;
- copies of a sample paragraph line and code line in the emulated scrollback (pyte
  replays every byte afterwards): 1 each, or the screen duplicated something;
- start: Enter to the server writing the first token (the request); after: the server
  writing the last token to the stats line (what was left to draw).

The paced 32 KB case at 1,000 tokens/s and 2 KB at 50 also run `chatrepl --plain` in
the same repeats (their rows end in `--plain`): the reply written as it comes, no
markdown and no colour. Its CPU is what reading the stream and showing text 20 times a
second cost this machine before any markdown work, the floor under the markdown row's
CPU (it has no copies column: raw markdown is not the rendered lines looked for).

`--client-root` runs chatrepl from another checkout (e.g. main) for a before/after.
`llm` is not installed here, so there is no `llm chat` column.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from markdown_sample import realistic_markdown  # noqa: E402

ROWS, COLS = 30, 100
PRINT_BUDGET = 0.03  # as chatrepl.ui.rich_view's
TOKEN = 4  # characters per token, as the test server's default
KB = 1024
MODEL = "bench-model"


# --- the server (run as `bench_stream.py --serve SIZE RATE`) -------------------------


def serve(size: int, rate: float, port_file: str) -> None:
    """Stream the reply for every chat request; print one JSON line of timings each."""
    text = realistic_markdown(size)
    tokens = [text[i : i + TOKEN] for i in range(0, len(text), TOKEN)]
    events = [
        b"data: "
        + json.dumps(
            {"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]}
        ).encode()
        + b"\n\n"
        for t in tokens
    ]
    tail = (
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":9,"completion_tokens":%d,"total_tokens":%d}}\n\n'
        b"data: [DONE]\n\n" % (len(tokens), len(tokens) + 9)
    )
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    Path(port_file).write_text(str(listener.getsockname()[1]))
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_connection, args=(conn, events, tail, rate), daemon=True).start()


_PRINTING = threading.Lock()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _connection(conn: socket.socket, events: list[bytes], tail: bytes, rate: float) -> None:
    reader = conn.makefile("rb")
    try:
        while True:
            request = reader.readline()
            if not request:
                return
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            reader.read(length)
            if b"/chat/completions" not in request:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n"
            )
            conn.sendall(
                head + _chunk(b'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n')
            )
            first, last, writes = _stream(conn, events, rate)
            conn.sendall(_chunk(tail) + b"0\r\n\r\n")
            with _PRINTING:  # four replies may end at once: one whole line each
                print(json.dumps({"first": first, "last": last, "writes": writes}), flush=True)
    except OSError:
        return
    finally:
        conn.close()


def _stream(conn: socket.socket, events: list[bytes], rate: float) -> tuple[float, float, int]:
    """Send every event: one write each when unpaced, else what is due by the clock."""
    send, clock = conn.sendall, time.monotonic
    start = clock()
    first = 0.0
    writes = 0
    if not rate:
        for n, event in enumerate(events):
            send(_chunk(event))
            if not n:
                first = clock()
        return first, clock(), len(events)
    n = 0
    while n < len(events):
        due = int((clock() - start) * rate) + 1
        if due <= n:
            time.sleep((n - due + 1) / rate)
            continue
        send(_chunk(b"".join(events[n:due])))
        writes += 1
        if not n:
            first = clock()
        n = due
    return first, clock(), writes


class Server:
    """The server process for one reply size and rate."""

    def __init__(self, size: int, rate: float) -> None:
        port_file = tempfile.mktemp()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(size), str(rate), port_file],
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while not (Path(port_file).exists() and Path(port_file).read_text()):
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{Path(port_file).read_text()}"
        Path(port_file).unlink()

    def timings(self) -> dict[str, float]:
        """The next response's timings."""
        assert self.process.stdout is not None
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(5)


# --- the terminal ----------------------------------------------------------------------


@dataclass
class Turn:
    """What the pty saw during one turn."""

    enter: float
    reads: list[tuple[float, bytes]] = field(default_factory=list)
    end: float = 0.0
    cpu: float = 0.0


class Pty:
    """chatrepl in a pseudo-terminal answering cursor-position requests."""

    def __init__(
        self, env: dict[str, str], *, client_root: Path | None, plain: bool = False
    ) -> None:
        import pyte

        if client_root is not None:
            env = {**env, "PYTHONPATH": str(client_root)}
        pid, fd = os.forkpty()
        if pid == 0:  # the child
            import fcntl
            import struct
            import termios

            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.chdir(env["HOME"])  # `-m` looks in the working directory first
            flags = ["--no-save", *(["--plain"] if plain else [])]
            os.execve(sys.executable, [sys.executable, "-m", "chatrepl", *flags], env)
        self.pid, self.fd = pid, fd
        self.screen = pyte.HistoryScreen(COLS, ROWS, history=200_000)
        self.screen.write_process_input = self._answer  # type: ignore[method-assign]
        self.stream = pyte.ByteStream(self.screen)
        self.unfed: list[bytes] = []
        self.all = bytearray()

    def _answer(self, data: str) -> None:
        os.write(self.fd, data.encode())

    def read(self, timeout: float) -> tuple[float, bytes] | None:
        """One read, timestamped; answers a cursor-position request in it."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:
            return None
        now = time.monotonic()
        self.all += data
        self.unfed.append(data)
        if b"\x1b[6n" in data:
            self.feed()  # brings the emulator up to date, which answers the request
        return now, data

    def feed(self) -> None:
        """Replay what the emulator has not seen yet."""
        for data in self.unfed:
            self.stream.feed(data)
        self.unfed.clear()

    def wait_for(self, needle: bytes, timeout: float = 30) -> None:
        """Read until `needle` has been written."""
        deadline = time.monotonic() + timeout
        seen = bytearray()
        while time.monotonic() < deadline:
            got = self.read(0.05)
            if got:
                seen += got[1]
                if needle in seen:
                    return
        raise RuntimeError(f"{needle!r} never came")

    def cpu(self) -> float:
        """The child's user+system CPU seconds so far (every thread)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def turn(self, line: str, *, done: re.Pattern[bytes], timeout: float) -> Turn:
        """Type a line, press Enter, read until `done` is written."""
        os.write(self.fd, line.encode())
        time.sleep(0.2)
        while self.read(0.05):
            pass
        cpu = self.cpu()
        turn = Turn(enter=time.monotonic())
        os.write(self.fd, b"\r")
        deadline = turn.enter + timeout
        window = b""
        while time.monotonic() < deadline:
            got = self.read(0.5)
            if got is None:
                continue
            turn.reads.append(got)
            window = (window + got[1])[-4096:]
            if done.search(window):
                turn.end = got[0]
                break
        else:
            raise RuntimeError("the reply never finished")
        turn.cpu = self.cpu() - cpu
        return turn

    def text(self) -> str:
        """Scrollback and screen as text."""
        self.feed()
        screen = self.screen
        rows = ["".join(line[x].data for x in range(screen.columns)) for line in screen.history.top]
        return "\n".join(row.rstrip() for row in [*rows, *screen.display])

    def close(self) -> None:
        try:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        os.close(self.fd)


# --- the floors -------------------------------------------------------------------------


def curl(url: str) -> tuple[float, float]:
    """Wall and CPU seconds for curl to read the whole stream into /dev/null."""
    body = json.dumps(
        {"model": MODEL, "messages": [{"role": "user", "content": "go"}], "stream": True}
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [
            "curl",
            "-sN",
            "-o",
            "/dev/null",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            url + "/v1/chat/completions",
        ],
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def print_once(text: str) -> tuple[float, float]:
    """Wall and CPU seconds for rich to print the finished markdown once."""
    from rich.console import Console
    from rich.markdown import Markdown

    with open(os.devnull, "w") as sink:
        console = Console(
            file=sink, width=COLS, height=ROWS, force_terminal=True, color_system="truecolor"
        )
        console.print(Markdown("warm `up`\n\n```python\nx = 1\n```"))
        wall, cpu = time.perf_counter(), time.process_time()
        console.print(Markdown(text))
        return time.perf_counter() - wall, time.process_time() - cpu


def printed_once_bytes(text: str) -> int:
    """Bytes rich writes printing the finished reply once (every line padded to the width),
    as the pty's terminal type (xterm-256color) gets them."""
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(
        file=io.StringIO(), width=COLS, height=ROWS, force_terminal=True, color_system="256"
    )
    console.print(Markdown(text))
    return len(console.file.getvalue().encode())


def samples(text: str) -> list[str]:
    """A paragraph line and a code line from the middle of the reply, as rendered once."""
    import io

    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(file=io.StringIO(), width=COLS, color_system=None)
    console.print(Markdown(text))
    lines = [line.strip() for line in console.file.getvalue().splitlines()]
    prose = [
        line
        for line in lines
        if len(line) > 40 and lines.count(line) == 1 and line[0].isalpha() and "│" not in line
    ]
    code = [line for line in lines if line.startswith("def handler_") and lines.count(line) == 1]
    return [prose[len(prose) // 2], *code[len(code) // 2 :][:1]]


# --- one case ---------------------------------------------------------------------------


# The stats line after the reply ("tok/s" is left out when the reply took no time).
_STATS = re.compile(rb"total \d+\.\d\ds")
_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
_TRAILING = re.compile(rb" +(?:\x1b\[[0-9;]*m)*\r?\n")


# What a live /compare redraws that is not reply text: its status line, the model names.
_COMPARE_CHROME = re.compile(r"streaming.*?Ctrl-C stops all|model-\d+")


def visible_text(data: bytes, *, compare: bool = False) -> bool:
    """Whether a read shows reply text (not just escapes, the placeholder or spaces; in a
    /compare, not just its status line redrawn)."""
    plain = _ESCAPE.sub(b"", data).decode("utf-8", "replace")
    if compare:
        plain = _COMPARE_CHROME.sub("", plain)
    return any(ch.isalnum() for ch in plain)


@dataclass
class Result:
    first_text: float
    start: float  # Enter -> the server writes the first token
    after: float  # the server writes the last token -> the stats line
    gap: float
    wall: float
    cpu: float
    written: int
    trailing: int
    copies: list[int]


def run_case(
    size: int,
    rate: float,
    *,
    client_root: Path | None,
    home: Path,
    models: int = 1,
    plain: bool = False,
) -> Result:
    server = Server(size, rate)
    try:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "INFERENCE_URL": server.url,
            "INFERENCE_KEY": "inf-benchkey-0123456789",
            "INFERENCE_MODEL_ID": MODEL,
        }
        pty = Pty(env, client_root=client_root, plain=plain)
        try:
            pty.wait_for(b"/help")
            time.sleep(1.0)  # the warm-up thread builds what the first reply needs
            timeout = 120 + (size / TOKEN / rate if rate else 0)
            if models == 1:
                turn = pty.turn("go", done=_STATS, timeout=timeout)
            else:  # /compare streams live; it is over when the metrics table is printed
                names = " ".join(f"model-{n}" for n in range(models))
                turn = pty.turn(
                    f"/compare {names} -- go", done=re.compile(b"output tokens"), timeout=timeout
                )
            every = [server.timings() for _ in range(models)]
            timings = {
                "first": min(t["first"] for t in every),
                "last": max(t["last"] for t in every),
            }
            if models == 1 and not plain:
                copies = [pty.text().count(s) for s in samples(realistic_markdown(size))]
            else:
                copies = []
        finally:
            pty.close()
    finally:
        server.close()
    first_token, last_token = timings["first"], timings["last"]
    shown = [
        t for t, data in turn.reads if t >= first_token and visible_text(data, compare=models > 1)
    ]
    first_visible = shown[0] if shown else turn.end
    updates = [t for t, _ in turn.reads if first_visible <= t <= last_token]
    marks = [first_visible, *updates, max(last_token, first_visible)]
    written = b"".join(data for _, data in turn.reads)
    return Result(
        first_text=first_visible - first_token,
        start=first_token - turn.enter,
        after=turn.end - last_token,
        gap=max(b - a for a, b in pairwise(marks)),
        wall=turn.end - turn.enter,
        cpu=turn.cpu,
        written=len(written),
        trailing=len(_TRAILING.findall(written)),
        copies=copies,
    )


def median_result(results: list[Result]) -> Result:
    med = statistics.median
    return Result(
        first_text=med(r.first_text for r in results),
        start=med(r.start for r in results),
        after=med(r.after for r in results),
        gap=med(r.gap for r in results),
        wall=med(r.wall for r in results),
        cpu=med(r.cpu for r in results),
        written=int(med(r.written for r in results)),
        trailing=max(r.trailing for r in results),
        copies=[max(c) for c in zip(*(r.copies for r in results), strict=True)],  # worst run
    )


# The cases also run with `--plain` (see the docstring), and how their rows are marked.
PLAIN_ANCHORS = ((32 * KB, 1000, 1), (2 * KB, 50, 1))
PLAIN_LABEL = " --plain"


def cases(quick: bool) -> list[tuple[int, float, int]]:
    """(size, tokens per second (0: unpaced), models); paced cases take under a minute."""
    if quick:
        return [
            (16 * KB, 0, 1), (64 * KB, 0, 1), (256 * KB, 0, 1), (16 * KB, 5000, 1),
            (32 * KB, 1000, 1), (32 * KB, 0, 4),
        ]  # fmt: skip
    return [
        (16 * KB, 0, 1), (64 * KB, 0, 1), (256 * KB, 0, 1), (1024 * KB, 0, 1),
        (16 * KB, 5000, 1), (64 * KB, 5000, 1), (256 * KB, 5000, 1), (1024 * KB, 5000, 1),
        (16 * KB, 500, 1), (32 * KB, 1000, 1), (2 * KB, 50, 1),
        (32 * KB, 0, 4), (32 * KB, 1000, 4),
    ]  # fmt: skip


def bench_columns(size: int, rate: float, *, models: int = 4) -> None:
    """Four replies streamed side by side into four column-wide StreamRenderers driven by
    one refresh loop in this process (what a live /compare would run; issue 10 draws the
    columns): first text, longest refresh gap while tokens arrive, CPU against printing
    each answer once at the column's width. No pty: rows are rendered, not written."""
    from rich.console import Console
    from rich.markdown import Markdown

    from chatrepl.adapters.http import HttpBackend
    from chatrepl.core.messages import TextDelta
    from chatrepl.core.settings import Settings
    from chatrepl.ui.stream_render import StreamRenderer

    width = (COLS - 1) // models - 1
    server = Server(size, rate)
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the console
    console = Console(
        file=sink, width=COLS, height=ROWS, force_terminal=True, color_system="truecolor"
    )
    console.print(Markdown("warm `up`\n\n```python\nx = 1\n```"))
    renderers = [StreamRenderer(console, width=width, height=ROWS) for _ in range(models)]
    pending: list[list[str]] = [[] for _ in range(models)]
    lock, done = threading.Lock(), threading.Event()
    wake = threading.Event()
    left = [models]

    def read(n: int) -> None:
        payload = {
            "model": f"m{n}",
            "messages": [{"role": "user", "content": "go"}],
            "stream": True,
        }
        with HttpBackend(Settings(url=server.url, timeout=60)) as backend:
            for event in backend.stream(payload):
                if isinstance(event, TextDelta):
                    with lock:
                        pending[n].append(event.text)
                    wake.set()
        with lock:
            left[0] -= 1
            if not left[0]:
                done.set()
        wake.set()

    cpu = time.process_time()
    threads = [threading.Thread(target=read, args=(n,), daemon=True) for n in range(models)]
    for thread in threads:
        thread.start()
    shown_at, ticks, last = 0.0, [], 0.0
    while True:
        wake.wait()
        pause = last + 0.05 - time.perf_counter()
        if pause > 0 and shown_at:
            time.sleep(pause)
        wake.clear()
        last = time.perf_counter()
        with lock:
            texts = ["".join(p) for p in pending]
            for p in pending:
                p.clear()
            finished = done.is_set()
        for renderer, text in zip(renderers, texts, strict=True):
            if text:
                renderer.feed(text)
            if finished:
                renderer.finish()
            renderer.print_rows(PRINT_BUDGET / models)
            if renderer.live_rows() and not shown_at:
                shown_at = time.monotonic()
        ticks.append(time.monotonic())
        if finished and not any(r.backlog for r in renderers):
            break
        if any(r.backlog for r in renderers):
            wake.set()
    cpu = time.process_time() - cpu
    every = [server.timings() for _ in range(models)]
    server.close()
    first, end = min(t["first"] for t in every), max(t["last"] for t in every)
    marks = [shown_at, *(t for t in ticks if shown_at <= t <= end), end]
    text = realistic_markdown(size)
    column = Console(file=sink, width=width, force_terminal=True, color_system="truecolor")
    once = time.process_time()
    for _ in range(models):
        column.print(Markdown(text))
    once = time.process_time() - once
    name = f"renderer {models}x{size // KB} KB " + (f"{rate:g} tok/s" if rate else "unpaced")
    print(
        f"{name:<28}{(shown_at - first) * 1000:>9.1f}ms"
        f"{max(b - a for a, b in pairwise(marks)) * 1000:>7.0f}ms"
        f"   cpu {cpu:.2f}s vs printing each once {once:.2f}s ({cpu / once:.1f}x)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter cases")
    parser.add_argument("--repeat", type=int, default=0, help="runs per case (median)")
    parser.add_argument("--client-root", type=Path, help="run chatrepl from this checkout")
    parser.add_argument("--skip", type=int, default=0, help="skip the first N cases")
    parser.add_argument(
        "--only",
        help="only these cases, e.g. '64:0,32:1000,4x32:0' (KB:tokens per second, 0: unpaced)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="also run chatrepl from this checkout, alternating with this one in every "
        "repeat (a before/after side by side in one run)",
    )
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), float(args.serve[1]), args.serve[2])
        return 0
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    header = (
        f"{'case':<28}{'first text':>11}{'max gap':>9}{'wall':>8}{'curl':>7}{'print 1x':>9}"
        f"{'wall/floor':>11}{'cpu':>7}{'cpu/1x':>7}{'written':>10}{'1x':>8}{'trail':>6}{'copies':>8}"
        f"{'start':>9}{'after':>9}"
    )
    print(header)
    chosen = cases(args.quick)[args.skip :]
    if args.only:
        chosen = [_parse_case(case) for case in args.only.split(",")]
    roots: list[tuple[str, Path | None, bool]] = [("", args.client_root, False)]
    if args.before is not None:
        roots = [("before ", args.before, False), ("after ", args.client_root, False)]
    with tempfile.TemporaryDirectory() as home:
        for size, rate, models in chosen:
            repeat = args.repeat or (3 if not rate or size / TOKEN / rate < 10 else 1)
            text = realistic_markdown(size)
            clients = roots
            if (size, rate, models) in PLAIN_ANCHORS:
                clients = [*roots, ("", args.client_root, True)]
            runs: dict[tuple[str, bool], list[Result]] = {
                (label, plain): [] for label, _, plain in clients
            }
            curls, onces = [], []
            for _ in range(repeat):  # side by side: each run measures all of them
                for label, root, plain in clients:
                    runs[label, plain].append(
                        run_case(
                            size,
                            rate,
                            client_root=root,
                            home=Path(home),
                            models=models,
                            plain=plain,
                        )
                    )
                server = Server(size, rate)
                try:
                    curls.append(curl(server.url))
                finally:
                    server.close()
                wall, cpu = print_once(text)
                onces.append((wall * models, cpu * models))  # every answer printed once
            curl_wall = statistics.median(c[0] for c in curls)
            once_wall = statistics.median(o[0] for o in onces)
            once_cpu = statistics.median(o[1] for o in onces)
            for (label, plain), results in runs.items():
                r = median_result(results)
                name = f"{size // KB} KB " + (f"{rate:g} tok/s" if rate else "unpaced")
                if models > 1:
                    name = f"/compare {models}x{name}"
                if plain:
                    name += PLAIN_LABEL
                _print_row(label + name, r, curl_wall, once_wall, once_cpu, text, models)
        if not args.only:
            for rate in (0, 1000):
                bench_columns(32 * KB, rate)
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    return 0


def _parse_case(case: str) -> tuple[int, float, int]:
    """`64:1000` -> (64 KB, 1000 tokens/s, 1 model); `4x32:0` -> four models."""
    size, _, rate = case.partition(":")
    models, _, size = size.rpartition("x")
    return int(size) * KB, float(rate or 0), int(models or 1)


def _print_row(
    name: str,
    r: Result,
    curl_wall: float,
    once_wall: float,
    once_cpu: float,
    text: str,
    models: int,
) -> None:
    print(
        f"{name:<28}{r.first_text * 1000:>9.1f}ms{r.gap * 1000:>7.0f}ms{r.wall:>7.2f}s"
        f"{curl_wall:>6.2f}s{once_wall:>8.2f}s{r.wall / (curl_wall + once_wall):>10.2f}x"
        f"{r.cpu:>6.2f}s{r.cpu / once_cpu:>6.1f}x{r.written / KB:>8.0f}KB"
        f"{printed_once_bytes(text) * models / KB:>6.0f}KB{r.trailing:>6}"
        f"{'/'.join(map(str, r.copies)) or '-':>8}"
        f"{r.start * 1000:>7.0f}ms{r.after * 1000:>7.0f}ms",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
