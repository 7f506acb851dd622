"""Scale: 10,000 saved sessions (about 200,000 messages) and a 2,000-turn conversation.

Generates the sessions in a temporary data folder (JSON Lines, as autosave writes them,
spread over a year), then measures side by side in one run:

- the full index rebuild (SQLite FTS5) from the session files;       floor: < 30 s
- `/sessions` through the engine, from the index and (for contrast) by reading the
  folder the way chatrepl did before the index;                      floor: < 50 ms
- `/search` through the engine, for a rare word, a common word, a phrase, and with
  --role / --model / --since filters;                                floor: < 100 ms
- `chatrepl -c` to an interactive prompt in a pseudo-terminal, with the 10,000 sessions
  and with a data folder holding only the session being continued (`-c` needs one);
  also plain `chatrepl` with an empty data folder;                   floor: within 20 ms
- the meter after each turn of a 2,000-turn conversation;            floor: < 1 ms a turn
- autosave per turn with the index kept in step, against without it.

The machine is shared: the load average is printed with the results.
Run: python benchmarks/bench_sessions.py [--sessions N] [--runs N]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from chatrepl.adapters.search_index import SessionIndex  # noqa: E402
from chatrepl.adapters.storage import FileSessionStore, list_sessions  # noqa: E402
from chatrepl.app.cli import build_parser  # noqa: E402
from chatrepl.app.environment import Environment  # noqa: E402
from chatrepl.app.wiring import Session  # noqa: E402
from chatrepl.core import transcript  # noqa: E402
from chatrepl.core.context import Meter  # noqa: E402
from chatrepl.core.conversation import Conversation  # noqa: E402
from chatrepl.core.messages import Message, TurnStats, Usage  # noqa: E402

PROMPT = r"\x1b\[0m>"  # the first frame prompt_toolkit draws the "> " prompt in
YEAR = 365 * 86400.0
RARE = "quokka"  # in a handful of messages only

WORDS = [
    "the",
    "a",
    "to",
    "of",
    "and",
    "in",
    "is",
    "for",
    "on",
    "that",
    "with",
    "as",
    "it",
    "this",
    "be",
    "are",
    "by",
    "from",
    "or",
    "an",
    "at",
    "not",
    "can",
    "you",
    "your",
    "we",
    "use",
    "when",
    "which",
    "if",
    "will",
    "one",
    "all",
    "more",
    "about",
    "how",
    "there",
    "so",
    "time",
    "what",
    "they",
    "request",
    "server",
    "stream",
    "token",
    "model",
    "reply",
    "error",
    "retry",
    "context",
    "window",
    "index",
    "query",
    "python",
    "function",
    "value",
    "list",
    "string",
    "file",
    "folder",
    "session",
    "message",
    "turn",
    "table",
    "column",
    "cache",
    "memory",
    "latency",
    "thread",
    "process",
    "signal",
    "socket",
    "buffer",
    "header",
    "status",
    "code",
    "test",
    "json",
    "yaml",
    "toml",
    "sqlite",
    "postgres",
    "redis",
    "docker",
    "heroku",
    "deploy",
    "build",
    "config",
    "setting",
    "key",
]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def generate(folder: Path, sessions: int, *, seed: int = 13) -> int:
    """Write `sessions` session files of 10 turns each; the number of messages written."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    total = 0
    for n in range(sessions):
        start = now - YEAR + YEAR * n / sessions
        model = rng.choice(["claude-4-5-sonnet", "claude-4-5-haiku", "gpt-4o", "llama3.2"])
        messages = []
        for t in range(10):
            at = start + 60 * t
            question = sentence(rng, rng.randint(8, 30)) + "?"
            if rng.random() < 0.0005:
                question += f" what about the {RARE}"
            answer = sentence(rng, rng.randint(60, 160)) + "."
            usage = Usage(200 + 300 * t, rng.randint(60, 400), cached_tokens=0)
            messages.append(Message("user", question))
            stats = TurnStats(model=model, started_at=at, duration=2.0, usage=usage)
            messages.append(Message("assistant", answer, stats=stats))
        conversation = Conversation(messages)
        text = transcript.header_line({"model": model}, conversation)
        text += "".join(map(transcript.message_line, messages))
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(start))
        path = folder / f"{stamp}.{n % 1000:03d}_{n:04x}.jsonl"
        path.write_text(text, encoding="utf-8")
        os.utime(path, (start + 600, start + 600))
        total += len(messages)
    return total


def timed(work: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per run."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        out.append((time.perf_counter() - start) * 1000)
    return out


def environment(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INFERENCE_", "OPENAI_", "CHATREPL_"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=f"{home}/config",
        XDG_DATA_HOME=f"{home}/data",
        XDG_STATE_HOME=f"{home}/state",
        INFERENCE_URL="http://127.0.0.1:9",
        INFERENCE_KEY="inf-benchmark-key-000000",
        INFERENCE_MODEL_ID="m",
        TERM="xterm-256color",
    )
    return env


def engine_for(env: dict[str, str]):  # type: ignore[no-untyped-def]
    """An engine wired as the REPL wires it (a view that records nothing)."""
    from fakes import FakeBackend, RecordingView

    environment_ = Environment(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        env=env,
        stdin_isatty=True,
        stdout_isatty=True,
    )
    backend = FakeBackend()
    session = Session(build_parser().parse_args([]), environment_, backend=lambda _: backend)
    session.__enter__()
    view = RecordingView()
    return session.build_engine(view, interactive=True), view


def time_to_prompt(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(24, 100), encoding="utf-8")
    child.expect(PROMPT, timeout=60)
    elapsed = time.perf_counter() - start
    child.sendcontrol("d")
    child.expect(pexpect.EOF, timeout=20)
    child.close()
    return elapsed * 1000


def report(name: str, values: list[float], floor: str = "") -> float:
    median = statistics.median(values)
    spread = f"(min {min(values):.2f}, max {max(values):.2f})"
    print(f"  {name:<58} median {median:8.2f} ms  {spread} {floor}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    runs = options.runs
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average before: {load} ({os.cpu_count()} cores)")
    base = Path(tempfile.mkdtemp(prefix="chatrepl-bench-"))
    try:
        home = base / "many"
        env = environment(home)
        folder = home / "data" / "chatrepl" / "sessions"
        start = time.perf_counter()
        messages = generate(folder, options.sessions)
        size = sum(p.stat().st_size for p in folder.glob("*.jsonl")) / 1e6
        print(
            f"generated {options.sessions:,} sessions, {messages:,} messages, {size:.0f} MB "
            f"in {time.perf_counter() - start:.1f} s"
        )
        index_path = home / "data" / "chatrepl" / "index.sqlite3"

        print("full index rebuild (floor < 30 s):")
        start = time.perf_counter()
        count = SessionIndex(index_path, folder).rebuild()
        rebuild = time.perf_counter() - start
        megabytes = index_path.stat().st_size / 1e6
        print(f"  {count:,} sessions indexed in {rebuild:.1f} s ({megabytes:.0f} MB)")

        engine, view = engine_for(env)
        print("/sessions (floor < 50 ms):")
        sessions_ms = report(
            "/sessions from the index", timed(lambda: engine.handle("/sessions"), runs)
        )
        assert view.tables[-1][1], "no sessions listed"
        scan = report(
            "the folder read without the index (as before)",
            timed(lambda: list_sessions(folder, limit=20), max(3, runs // 3)),
        )
        print(f"  ratio: {scan / sessions_ms:.0f}x faster with the index")

        print("/search (floor < 100 ms):")
        searches = {
            f"/search {RARE} (rare)": f"/search {RARE}",
            "/search retry (common)": "/search retry",
            '/search "context window" (phrase)': '/search "context window"',
            "/search sqlite --role user": "/search sqlite --role user",
            "/search cache --model claude-* --since 30d": (
                "/search cache --model claude-* --since 30d"
            ),
            "/search heroku deploy docker (three words)": "/search heroku deploy docker",
        }
        hits = {}
        for name, line in searches.items():
            report(name, timed(lambda line=line: engine.handle(line), runs))
            assert not view.errors, view.errors
            hits[name] = len(view.tables[-1][1]) if view.tables else 0
        print(f"  hits: {', '.join(str(n) for n in hits.values())} (a search shows the newest 20)")

        print("chatrepl -c to an interactive prompt (floor: within 20 ms of an empty data folder):")
        chatrepl = str(Path(sys.executable).with_name("chatrepl"))
        latest = max(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        one = base / "one"
        one_env = environment(one)
        one_folder = one / "data" / "chatrepl" / "sessions"
        one_folder.mkdir(parents=True)
        shutil.copy2(latest, one_folder / latest.name)
        empty = base / "empty"
        empty_env = environment(empty)
        no_index = base / "noindex"
        no_index_env = environment(no_index)
        shutil.copytree(folder, no_index / "data" / "chatrepl" / "sessions")
        cases = {
            "chatrepl -c, 10,000 sessions": ([chatrepl, "-c"], env),
            "chatrepl -c, only the session it continues": ([chatrepl, "-c"], one_env),
            "chatrepl, an empty data folder": ([chatrepl], empty_env),
            "chatrepl -c, 10,000 sessions, no index (folder scan)": (
                [chatrepl, "-c"],
                no_index_env,
            ),
        }
        for argv, case_env in cases.values():
            time_to_prompt(argv, case_env)  # warm the file cache
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(max(5, runs // 2)):
            for name, (argv, case_env) in cases.items():
                samples[name].append(time_to_prompt(argv, case_env))
                (no_index / "data" / "chatrepl" / "index.sqlite3").unlink(missing_ok=True)
        startup = {name: report(name, values) for name, values in samples.items()}
        first, second, third, _ = startup.values()
        print(
            f"  -c with 10,000 sessions vs -c with one: {first - second:+.1f} ms; "
            f"vs an empty data folder: {first - third:+.1f} ms"
        )

        print("the meter over a 2,000-turn conversation (floor < 1 ms a turn):")
        meter = Meter()
        conversation = Conversation()
        per_turn = []
        rng = random.Random(7)
        for t in range(2000):
            conversation.add_user(sentence(rng, 20))
            stats = TurnStats(model="m", usage=Usage(300 * t + 50, 200))
            conversation.add_assistant(sentence(rng, 120), stats=stats)
            begin = time.perf_counter()
            meter.read(conversation.messages, system="Be brief.", compaction=None, window=None)
            per_turn.append((time.perf_counter() - begin) * 1000)
        report("meter reading after each turn (2,000 turns)", per_turn)
        print(f"  last 100 turns: median {statistics.median(per_turn[-100:]):.4f} ms")
        no_usage = Conversation([Message(m.role, m.content) for m in conversation.messages])
        cold = Meter()
        cold.read(no_usage.messages, system=None, compaction=None, window=None)
        no_usage.add_user("one more")
        report(
            "… with no usage at all (all estimated), 4,000 messages",
            timed(
                lambda: cold.read(no_usage.messages, system=None, compaction=None, window=None),
                runs,
            ),
        )
        report(
            "… the first reading of 4,000 messages (nothing cached)",
            timed(
                lambda: Meter().read(no_usage.messages, system=None, compaction=None, window=None),
                5,
            ),
        )

        print("autosave per turn at 2,000 messages:")
        save_folder = base / "saves" / "sessions"
        indexed = FileSessionStore(
            save_folder, index=SessionIndex(base / "saves" / "i.sqlite3", save_folder)
        )
        plain = FileSessionStore(base / "plain")
        for store in (indexed, plain):
            long = Conversation(list(conversation.messages[:2000]))
            store.save(long, {"model": "m"})
            if store is indexed:
                store.sessions(limit=1)  # build the index
            values = []
            for _ in range(runs):
                long.add_user(sentence(rng, 20))
                long.add_assistant(sentence(rng, 120))
                begin = time.perf_counter()
                store.save(long, {"model": "m"})
                values.append((time.perf_counter() - begin) * 1000)
            report(
                "with the index kept in step" if store is indexed else "without an index", values
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
