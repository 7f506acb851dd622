"""What a comparison costs: N models at once against one, and the live view's CPU.

    python benchmarks/bench_compare.py [--repeat N]

1. Wall time, through a real pty (`python -m chatrepl` at 160x40, the loopback test
   server in this process). Every model's reply waits 1 s before its first byte, then
   streams 2 KB as 4-character tokens 2 ms apart. `/compare` of 4 models and of 1 model
   (`/compare m1 m2 m3 m4`) and one model's plain turn (`go`, done at its stats line):
   from pressing Enter to the first reply text on screen, and to the metrics table;
   beside them the reply time (first to last token, from the server's own timestamps,
   the slowest model's). Comparing N models should cost the slowest one's wall time:
   first text within 1.2 s, done within 1.2 s + the reply time.
2. The live view's CPU in this process: 4 columns of markdown (benchmarks/
   markdown_sample.py) fed unpaced in 4-character pieces into `CompareStream` on a
   160x40 terminal console writing to /dev/null, at 8, 16, 32 and 64 KB per column;
   CPU seconds (every thread) and CPU per KB, which stays flat if the cost is linear;
   then 4 x 32 KB paced at 1,000 tokens/s per column (the tail redrawn 20 times a second).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeserver import FakeServer, Recorded, Reply, sse_chunks  # noqa: E402
from markdown_sample import realistic_markdown  # noqa: E402
from terminal import Terminal, chat_env  # noqa: E402

WAIT = 1.0  # seconds before each reply's first byte
REPLY = 2048  # characters per reply
DELAY = 0.002  # seconds between tokens
KB = 1024


def _answer(model: str) -> str:
    words = " ".join(f"{model}word{i}" for i in range(REPLY // 10))
    return words[:REPLY]


def wall_case(models: list[str], server: FakeServer) -> tuple[float, float, float]:
    """(first text, done, slowest reply time) for one /compare, in seconds."""
    replies: list[Reply] = []

    def respond(request: Recorded) -> Reply | None:
        model = str((request.body or {}).get("model"))
        reply = Reply(chunks=sse_chunks(_answer(model), 4, model=model), delay=DELAY, pause=WAIT)
        replies.append(reply)
        return reply

    server.respond = respond
    env = chat_env(server.url, INFERENCE_MODEL_ID="m1", COLUMNS="160", LINES="40")
    term = Terminal([], env, rows=40, cols=160)
    try:
        term.wait_for_prompt()
        # one model: a plain turn (its stats line ends it); more: /compare (its table)
        line = f"/compare {' '.join(models)} -- go" if len(models) > 1 else "go"
        finished = "output tokens" if len(models) > 1 else "tok/s"
        term.child.send(line)
        time.sleep(0.2)
        term.pump()
        start = time.monotonic()
        term.child.send("\r")
        first = done = None
        while done is None and time.monotonic() - start < 30:
            term.pump(0.002)
            text = term.text()
            now = time.monotonic()
            if first is None and "word1 " in text:
                first = now - start
            if finished in text:
                done = now - start
        assert first is not None and done is not None, term.text()
        spans = [r.sent_at[-1] - r.sent_at[1] for r in replies if len(r.sent_at) > 2]
        return first, done, max(spans)
    finally:
        term.close()


def cpu_case(size: int, *, columns: int = 4, rate: float | None = None) -> float:
    """CPU seconds for the live view to show `columns` replies of `size` characters,
    unpaced, or at `rate` 4-character tokens per second per column."""
    from rich.console import Console

    from chatrepl.core.comparison import Comparison, Target
    from chatrepl.core.messages import TextDelta, TurnStats
    from chatrepl.core.reply import CompareResult
    from chatrepl.core.reply import Reply as Answer
    from chatrepl.ui.compare_view import CompareStream

    texts = [realistic_markdown(size, seed=s) for s in range(columns)]
    comparison = Comparison([], "q", [Target(f"m{i}", f"m{i}") for i in range(columns)])
    with open(os.devnull, "w") as sink:
        console = Console(file=sink, width=160, height=40, force_terminal=True)
        began = time.process_time()
        stream = CompareStream(console, comparison)
        clock = time.monotonic()
        for step, offset in enumerate(range(0, max(len(t) for t in texts), 4)):
            if rate is not None:
                time.sleep(max(0.0, clock + step / rate - time.monotonic()))
            for index, text in enumerate(texts):
                piece = text[offset : offset + 4]
                if piece:
                    stream.add(index, TextDelta(piece))
        for index, text in enumerate(texts):
            stream.done(index, CompareResult(f"m{index}", Answer(text, "", TurnStats())))
        stream.close()
        return time.process_time() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"each reply: {WAIT:.0f} s before its first byte, then {REPLY} characters", flush=True)
    with FakeServer() as server:
        for models in (["m1"], ["m1", "m2", "m3", "m4"]):
            runs = [wall_case(models, server) for _ in range(args.repeat)]
            first, done, reply = (statistics.median(r[i] for r in runs) for i in range(3))
            what = f"/compare of {len(models)} models" if len(models) > 1 else "one model"
            print(
                f"{what}: first text {first:.3f} s, done {done:.3f} s "
                f"(reply time {reply:.3f} s; done - reply = {done - reply:.3f} s), "
                f"median of {args.repeat}",
                flush=True,
            )
    print("live view CPU, 4 columns, unpaced:", flush=True)
    for size in (8 * KB, 16 * KB, 32 * KB, 64 * KB):
        cpu = statistics.median(cpu_case(size) for _ in range(args.repeat))
        per_kb = cpu / (4 * size // KB) * 1000
        line = f"  {size // KB:>3} KB per column: {cpu:.2f} s CPU, {per_kb:.1f} ms per KB"
        print(line, flush=True)
    print("live view CPU, 4 columns of 32 KB, each at 1,000 tokens/s:", flush=True)
    cpu = cpu_case(32 * KB, rate=1000)
    print(f"  {cpu:.2f} s CPU over {32 * KB / 4 / 1000:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
