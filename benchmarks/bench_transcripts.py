"""Transcript benchmarks: loading a big conversation, and autosave cost per turn.

Run: python benchmarks/bench_transcripts.py [--dir FOLDER] [--runs N]

1. Load + first turn: `chatrepl --load FILE "hello"` against tests/fakeserver.py, for a
   2,000-message (~2 MB) transcript and an empty one, alternating, in one run. Measured
   from process start to the server receiving the request (the whole request, so the
   2 MB body and the fake server's parsing of it are counted), and to process exit
   (which adds autosaving the 2 MB conversation to a new session file). Floor: the
   median difference to the request is under 0.5 s.
2. Autosave cost per turn at 10, 500 and 2,000 messages: the append chatrepl does, next
   to a full atomic rewrite (temp file, fsync, rename, fsync folder) of the same file.
   Both fsync, so the folder should be on a real disk (--dir; default: the temp folder).
Exits 1 if the load floor fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakeserver import FakeServer  # noqa: E402

from chatrepl.adapters.storage import Autosaver, write_private  # noqa: E402
from chatrepl.core import transcript  # noqa: E402
from chatrepl.core.conversation import Conversation  # noqa: E402
from chatrepl.core.messages import TurnStats, Usage  # noqa: E402

LOAD_FLOOR_S = 0.5
SETTINGS = {"model": "bench-model", "temperature": 0.7}


def big_conversation(messages: int) -> Conversation:
    """User questions of ~300 characters, replies of ~1,700 with full stats: ~1 KB each."""
    conversation = Conversation()
    for n in range(messages // 2):
        conversation.add_user(f"Question {n}: " + "why is the sky blue, in detail? " * 9)
        stats = TurnStats(
            model="bench-model",
            temperature=0.7,
            started_at=1.7e9 + n,
            ttft=0.21,
            duration=3.4,
            usage=Usage(1200 + n, 400, 1600 + n),
            finish_reason="stop",
        )
        reply = f"Answer {n}:\n\n" + "Rayleigh scattering favours short wavelengths. " * 36
        conversation.add_assistant(reply, stats=stats)
    return conversation


def bench_load(folder: Path, runs: int) -> bool:
    big = folder / "big.json"
    empty = folder / "empty.json"
    big.write_text(transcript.dumps(big_conversation(2000), SETTINGS), encoding="utf-8")
    empty.write_text(transcript.dumps(Conversation(), SETTINGS), encoding="utf-8")
    size = big.stat().st_size
    home = folder / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
    }
    env = {k: v for k, v in env.items() if not k.startswith(("INFERENCE_", "OPENAI_"))}
    timings: dict[str, tuple[list[float], list[float]]] = {"empty": ([], []), "big": ([], [])}
    with FakeServer() as server:
        env.update(INFERENCE_URL=server.url, INFERENCE_KEY="inf-bench-0123456789abcdef")
        for run in range(runs + 1):  # run 0 warms the disk cache and .pyc files
            for name, path in (("empty", empty), ("big", big)):
                count = len(server.requests) + 1
                start = time.perf_counter()
                child = subprocess.Popen(
                    [sys.executable, "-m", "chatrepl", "--load", str(path), "hello"],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                if not server.wait_for_requests(count, timeout=30):
                    raise SystemExit(f"no request from chatrepl --load {path}")
                sent = time.perf_counter() - start
                if child.wait(timeout=60) != 0:
                    raise SystemExit(f"chatrepl --load {path} exited {child.returncode}")
                done = time.perf_counter() - start
                if run:
                    timings[name][0].append(sent)
                    timings[name][1].append(done)
        last = server.chat_requests[-1].body["messages"]
        assert len(last) == 2000 + 1, len(last)  # the history, then "hello"
    to_request = statistics.median(timings["big"][0]) - statistics.median(timings["empty"][0])
    to_exit = statistics.median(timings["big"][1]) - statistics.median(timings["empty"][1])
    print(
        f"1. load + first turn ({runs} runs each, medians; transcript {size / 1e6:.2f} MB, "
        "2,000 messages)"
    )
    print(f"   {'':18}{'empty':>10}{'2,000 msgs':>12}{'difference':>12}")
    for label, index, diff in (("request received", 0, to_request), ("process exit", 1, to_exit)):
        e, b = (statistics.median(timings[k][index]) for k in ("empty", "big"))
        print(f"   {label:18}{e * 1000:>8.0f}ms{b * 1000:>10.0f}ms{diff * 1000:>10.0f}ms")
    ok = to_request < LOAD_FLOOR_S
    print(
        f"   {'PASS' if ok else 'FAIL'}: {to_request * 1000:.0f} ms more to send the first "
        f"turn (floor {LOAD_FLOOR_S * 1000:.0f} ms)"
    )
    return ok


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_autosave(folder: Path, turns: int) -> None:
    print(f"\n2. autosave cost per turn (median of {turns} turns, with fsync; folder {folder})")
    print(f"   {'messages':>9}{'file':>10}{'append':>11}{'full rewrite':>14}{'ratio':>8}")
    for size in (10, 500, 2000):
        sessions = folder / f"sessions-{size}"
        sessions.mkdir()
        conversation = big_conversation(size)
        saver = Autosaver(sessions)
        path = saver.save(conversation, SETTINGS)
        assert path is not None
        kb = path.stat().st_size / 1000
        # appends first, rewrites after: interleaved, the rewrites' background writeback
        # would slow the appends' fsync and blur what each costs on its own
        appends, rewrites = [], []
        for samples, rewrite in ((appends, False), (rewrites, True)):
            os.sync()  # start each phase with no earlier writes still being flushed
            for _ in range(turns):
                conversation.add_user("one more question " * 16)
                conversation.add_assistant("one more answer " * 100, stats=TurnStats(model="m"))
                start = time.perf_counter()
                if rewrite:  # the alternative: rewrite it all, atomically
                    write_private(
                        path,
                        transcript.header_line(SETTINGS)
                        + "".join(map(transcript.message_line, conversation.messages)),
                    )
                else:  # what autosave does: append the new turn
                    saver.save(conversation, SETTINGS)
                samples.append(time.perf_counter() - start)
        a, r = _median_ms(appends), _median_ms(rewrites)
        print(f"   {size:>9,}{kb:>8.0f}KB{a:>9.2f}ms{r:>12.2f}ms{r / a:>7.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp folder)")
    parser.add_argument("--runs", type=int, default=5, help="load runs per transcript")
    parser.add_argument("--turns", type=int, default=30, help="autosave turns per size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        ok = bench_load(folder, args.runs)
        bench_autosave(folder, args.turns)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
