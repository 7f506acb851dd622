"""Soak and scale: a long REPL session, a crowded sessions folder, a huge paste.

Run: python benchmarks/bench_soak.py [--turns 1000] [--sessions 10000] [--paste-mb 5]
     [--parts paste,scale,soak,allocations]

1. Soak: the real REPL in a pseudo-terminal (rich view, autosave on) against
   tests/fakeserver.py for N turns in one process. Prints chatrepl's RSS after the first
   turn and after the last, and the median time per turn (Enter to the toolbar counting
   the new turn) over the first and the last 100 turns, with the request size at each:
   every turn sends the whole conversation, so the last turns carry more; anything else
   growing would show as a larger ratio. Then the same number of turns in-process under
   tracemalloc: what was allocated and kept, by chatrepl's modules and by rich.
2. Scale: a sessions folder holding N sessions. Prints the time `/sessions` takes
   (FileSessionStore.sessions, what the command runs) and `chatrepl -c "hi"` from start
   to exit, each next to the same with a single session, side by side in one run.
3. Paste: a bracketed paste of M MB into the real REPL, from the first byte written to
   the request arriving at the server; and prompt_toolkit's own parser against
   chatrepl's PasteParser on the same paste in-process (the parser alone).

The machine's load average is printed before and after, since it is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import pexpect  # noqa: E402
from fakeserver import FakeServer, Reply  # noqa: E402

from chatrepl.adapters.storage import FileSessionStore  # noqa: E402
from chatrepl.core import transcript  # noqa: E402
from chatrepl.core.conversation import Conversation  # noqa: E402

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")
RESUME = [sys.executable, "-m", "chatrepl", "-c", "--no-save", "hi"]


def isolated_env(home: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFERENCE_", "OPENAI_"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CONFIG_HOME=str(home / "config"),
        INFERENCE_URL=url,
        INFERENCE_KEY="inf-bench-0123456789abcdef",
        INFERENCE_MODEL_ID="bench-model",
        TERM="xterm-256color",
        PROMPT_TOOLKIT_NO_CPR="1",
    )
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (less noisy than wall time on a busy box)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Repl:
    """chatrepl in a pty; output read raw (no emulator: the reader must not be the cost)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.child = pexpect.spawn(
            sys.executable, ["-m", "chatrepl"], env=env, dimensions=(40, 120)
        )
        self.seen = b""

    def wait(self, needle: bytes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            with contextlib.suppress(pexpect.TIMEOUT):
                self.seen += ANSI.sub(b"", self.child.read_nonblocking(1 << 20, timeout=0.05))
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {needle!r}; last output: {self.seen[-300:]!r}")
        self.seen = self.seen[self.seen.index(needle) + len(needle) :]


def soak(turns: int) -> None:
    with tempfile.TemporaryDirectory() as folder, FakeServer() as server:
        repl = Repl(isolated_env(Path(folder), server.url))
        repl.wait(b"/help")
        times: list[float] = []
        rss: dict[int, int] = {}
        cpu: dict[int, float] = {0: cpu_seconds(repl.child.pid)}
        for n in range(1, turns + 1):
            started = time.perf_counter()
            repl.child.send(f"turn {n}: tell me something\r")
            repl.wait(b"tokens\r\n>")  # the reply's stats line, then the next prompt
            times.append(time.perf_counter() - started)
            if n in (1, turns):
                rss[n] = rss_kb(repl.child.pid)
            if n in (100, turns - 100, turns):
                cpu[n] = cpu_seconds(repl.child.pid)
        sizes = [len(r.raw) for r in server.chat_requests]
        repl.child.sendeof()
        repl.child.expect(pexpect.EOF, timeout=60)
    first, last = statistics.median(times[:100]), statistics.median(times[-100:])
    print(f"soak: {turns} turns in one REPL process, {sum(times):.0f} s in all")
    before, after = rss[1] / 1024, rss[turns] / 1024
    print(f"  RSS after turn 1: {before:.1f} MB; after turn {turns}: {after:.1f} MB")
    print(f"  RSS growth: +{after - before:.1f} MB")
    print(
        f"  time per turn, median: first 100 {first * 1000:.0f} ms, last 100 "
        f"{last * 1000:.0f} ms (x{last / first:.2f})"
    )
    early, late = (cpu[100] - cpu[0]) / 100, (cpu[turns] - cpu[turns - 100]) / 100
    print(
        f"  CPU per turn (chatrepl's own): first 100 {early * 1000:.1f} ms, last 100 "
        f"{late * 1000:.1f} ms (x{late / early:.2f})"
    )
    print(f"  request size: first {sizes[0] / 1024:.1f} KB, last {sizes[-1] / 1024:.1f} KB")


def allocations(turns: int) -> None:
    """What the engine and rich view hold on to over `turns` turns (tracemalloc; the server
    runs in another process so its records do not count)."""
    import gc
    import io
    import tracemalloc

    from chatrepl.app.cli import build_parser
    from chatrepl.app.environment import Environment
    from chatrepl.app.wiring import Session

    script = str(ROOT / "tests" / "fakeserver.py")
    server = subprocess.Popen([sys.executable, script], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as folder, open(os.devnull, "w") as null:
            env = {**isolated_env(Path(folder), url), "FORCE_COLOR": "1"}
            environment = Environment(
                stdin=io.StringIO(),
                stdout=null,
                stderr=null,
                env=env,
                stdin_isatty=True,
                stdout_isatty=True,
            )
            with Session(build_parser().parse_args([]), environment) as session:
                engine = session.build_engine(session.view(), interactive=True)
                for n in range(100):  # warm: imports, caches, the connection
                    engine.handle(f"turn {n}: tell me something")
                gc.collect()
                tracemalloc.start()
                before = tracemalloc.take_snapshot()
                for n in range(turns):
                    engine.handle(f"turn {n + 100}: tell me something")
                gc.collect()
                after = tracemalloc.take_snapshot()
                tracemalloc.stop()
                held = sum(len(m.content) + len(m.reasoning) for m in engine.conversation.messages)
    finally:
        server.terminate()
    stats = after.compare_to(before, "filename")
    total = sum(s.size_diff for s in stats)
    ours = sum(s.size_diff for s in stats if "/chatrepl/" in s.traceback[0].filename)
    rich = sum(s.size_diff for s in stats if "/rich/" in s.traceback[0].filename)
    print(f"allocations over {turns} more turns (in-process, rich view): +{total / 1024:.0f} KB")
    print(
        f"  chatrepl's modules +{ours / 1024:.0f} KB (the conversation: {held / 1024:.0f} KB of "
        f"text, {len(engine.conversation.messages)} messages with stats), rich +{rich / 1024:.0f}"
        " KB (its bounded caches)"
    )


def write_sessions(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    conversation = Conversation()
    conversation.add_user("What is SSE?")
    conversation.add_assistant("Server-sent events.")
    text = transcript.header_line({"model": "bench-model"}) + "".join(
        map(transcript.message_line, conversation.messages)
    )
    now = time.time()
    for n in range(count):
        path = folder / f"2024-01-01_00-00-00.000_{n:05d}.jsonl"
        path.write_text(text)
        os.utime(path, (now - count + n, now - count + n))


def timed(function: object, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def scale(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder, FakeServer() as server:
        results = {}
        for label, how_many in (("one", 1), ("many", count)):
            home = Path(folder) / label
            sessions = home / "data" / "chatrepl" / "sessions"
            write_sessions(sessions, how_many)
            store = FileSessionStore(sessions)
            listing = timed(lambda store=store: store.sessions(limit=20))
            env = isolated_env(home, server.url)
            resume = timed(lambda env=env: subprocess.run(RESUME, env=env, capture_output=True))
            results[label] = (listing, resume)
    (l1, c1), (ln, cn) = results["one"], results["many"]
    print(f"scale: {count:,} session files vs 1 (medians of 5)")
    print(f"  /sessions: {ln * 1000:.0f} ms vs {l1 * 1000:.1f} ms")
    print(
        f'  chatrepl -c "hi", start to exit: {cn * 1000:.0f} ms vs {c1 * 1000:.0f} ms '
        f"(+{(cn - c1) * 1000:.0f} ms)"
    )


def parser_time(parser_class: type, data: str) -> float:
    keys: list[object] = []
    parser = parser_class(keys.append)
    started = time.perf_counter()
    for i in range(0, len(data), 1024):  # prompt_toolkit reads 1,024 bytes at a time
        parser.feed(data[i : i + 1024])
    return time.perf_counter() - started


def paste(megabytes: float) -> None:
    from prompt_toolkit.input.vt100_parser import Vt100Parser

    from chatrepl.ui.paste import PasteParser

    size = int(megabytes * 1_000_000)
    line = "lorem ipsum dolor sit amet, consectetur adipiscing elit\n"
    text = (line * (size // len(line) + 1))[:size]
    data = "\x1b[200~" + text + "\x1b[201~"
    with tempfile.TemporaryDirectory() as folder, FakeServer() as server:
        server.enqueue(Reply.text("got it"))
        repl = Repl(isolated_env(Path(folder), server.url))
        repl.wait(b"/help")
        started = time.perf_counter()
        view = memoryview(data.encode())
        while view:
            view = view[os.write(repl.child.child_fd, view[:65536]) :]
            with contextlib.suppress(pexpect.TIMEOUT):
                repl.child.read_nonblocking(1 << 20, timeout=0)
        repl.child.send("\r")
        deadline = time.monotonic() + 120
        while not server.chat_requests:  # the warm-up's GET /v1/models does not count
            assert time.monotonic() < deadline, "the paste never arrived"
            time.sleep(0.002)
        arrived = time.perf_counter() - started
        got = len(json.loads(server.chat_requests[0].raw)["messages"][-1]["content"])
        repl.child.terminate(force=True)
    ours = parser_time(PasteParser, data)
    stock = parser_time(Vt100Parser, data)
    print(
        f"paste: {megabytes:g} MB bracketed paste into the REPL: {arrived:.2f} s to the server "
        f"({got:,} characters arrived)"
    )
    print(
        f"  the parser alone: prompt_toolkit's {stock:.2f} s, chatrepl's {ours * 1000:.0f} ms "
        f"(x{stock / ours:.0f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--paste-mb", type=float, default=5.0)
    parser.add_argument("--parts", default="paste,scale,soak,allocations")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} CPUs)"
    )
    if "paste" in parts:
        paste(args.paste_mb)
    if "scale" in parts:
        scale(args.sessions)
    if "soak" in parts:
        soak(args.turns)
    if "allocations" in parts:
        allocations(args.turns)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
