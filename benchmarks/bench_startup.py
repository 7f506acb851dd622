"""Startup: time until the interactive prompt is visible in a pseudo-terminal.

Compares `chatrepl` with a bare prompt_toolkit prompt and `python -c pass`, alternating
runs in one process so machine noise hits all three alike, and checks that the heavy
modules (rich.markdown, markdown_it, pygments, requests) are not imported before the
first prompt. With no model configured the first thing shown is the model picker,
which needs the endpoint's model list: that is timed too, against the Heroku-like
loopback server of the tests (reported, not held to the prompt's floor).
Run: python benchmarks/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from herokuserver import KEY, HerokuServer  # noqa: E402

BARE_PROMPT = "from prompt_toolkit import PromptSession; PromptSession().prompt('> ')"
HEAVY = ("rich.markdown", "markdown_it", "pygments", "requests")
FLOOR_MS = 30.0
PROMPT = r"\x1b\[0m>"  # the first frame prompt_toolkit draws the "> " prompt in


def environment(home: str) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE (set in some sandboxes) would recompile every module on
    # every start; a user's Python caches bytecode, so the benchmark lets it.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INFERENCE_", "OPENAI_", "CHATREPL_"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=f"{home}/config",
        XDG_DATA_HOME=f"{home}/data",
        XDG_STATE_HOME=f"{home}/state",
        INFERENCE_URL="http://127.0.0.1:9",
        INFERENCE_KEY="inf-benchmark-key-000000",
        # a model is configured: with none, the REPL first lists the endpoint's models
        # for the user to pick from, which needs the network before any prompt
        INFERENCE_MODEL_ID="benchmark-model",
        TERM="xterm-256color",
    )
    return env


def time_to_prompt(argv: list[str], env: dict[str, str], marker: str) -> float:
    """Seconds from spawn until `marker` (a regex) appears on the terminal."""
    start = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(24, 100), encoding="utf-8")
    child.expect(marker, timeout=30)
    elapsed = time.perf_counter() - start
    child.sendcontrol("d")
    child.expect(pexpect.EOF, timeout=10)
    child.close()
    return elapsed


def time_to_exit(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


def heavy_modules_before_prompt(env: dict[str, str]) -> list[str]:
    """Run chatrepl with an input hook that lists loaded modules when the prompt starts."""
    probe = (
        "import sys, prompt_toolkit\n"
        "p = prompt_toolkit\n"
        "def prompt(self, *a, **k):\n"
        f"    print('LOADED', [m for m in {HEAVY!r} if m in sys.modules], flush=True)\n"
        "    raise EOFError\n"
        "p.PromptSession.prompt = prompt\n"
        "from chatrepl.app.cli import main; sys.exit(main([]))\n"
    )
    child = pexpect.spawn(sys.executable, ["-c", probe], env=env, encoding="utf-8")
    child.expect(r"LOADED (\[.*\])", timeout=30)
    loaded = ast.literal_eval(child.match.group(1))
    child.expect(pexpect.EOF, timeout=10)
    return loaded


def time_to_picker(home: str, runs: int) -> float:
    """Median ms until the model picker asks, with only a URL and a key (Heroku's standard
    plan), the list served from loopback; the state folder is emptied between runs so
    no remembered model skips the question."""
    import shutil

    samples = []
    with HerokuServer() as server:
        for _ in range(runs):
            shutil.rmtree(f"{home}/state", ignore_errors=True)
            env = environment(home)
            del env["INFERENCE_MODEL_ID"]
            env.update(INFERENCE_URL=server.url, INFERENCE_KEY=KEY)
            chatrepl = [str(Path(sys.executable).with_name("chatrepl"))]
            start = time.perf_counter()
            child = pexpect.spawn(chatrepl[0], env=env, dimensions=(24, 100), encoding="utf-8")
            child.expect("model>", timeout=30)
            samples.append(time.perf_counter() - start)
            child.sendcontrol("d")
            child.sendcontrol("d")
            child.expect(pexpect.EOF, timeout=10)
            child.close()
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as home:
        env = environment(home)
        chatrepl = [str(Path(sys.executable).with_name("chatrepl"))]  # the console script users run
        bare = [sys.executable, "-c", BARE_PROMPT]
        samples: dict[str, list[float]] = {
            "python -c pass": [],
            "bare prompt_toolkit": [],
            "chatrepl": [],
        }
        time_to_prompt(chatrepl, env, PROMPT)  # warm the file cache
        for _ in range(runs):
            samples["python -c pass"].append(time_to_exit([sys.executable, "-c", "pass"]))
            samples["bare prompt_toolkit"].append(time_to_prompt(bare, env, PROMPT))
            samples["chatrepl"].append(time_to_prompt(chatrepl, env, PROMPT))
        loaded = heavy_modules_before_prompt(env)
        picker = time_to_picker(home, runs)
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    print(f"time to an interactive prompt, median of {runs} alternating runs:")
    for name, ms in medians.items():
        print(f"  {name:<22} {ms:7.1f} ms")
    gap = medians["chatrepl"] - medians["bare prompt_toolkit"]
    ratio = medians["chatrepl"] / medians["bare prompt_toolkit"]
    print(f"  chatrepl - bare prompt: {gap:+.1f} ms (ratio {ratio:.2f}x)")
    print(f"  heavy modules imported before the prompt: {loaded or 'none'}")
    print(f"  no model set: start to the model picker (loopback list): {picker:.1f} ms")
    ok = gap <= FLOOR_MS and not loaded
    print(f"{'PASS' if gap <= FLOOR_MS else 'FAIL'}: within {FLOOR_MS:.0f} ms of the bare prompt")
    print(f"{'PASS' if not loaded else 'FAIL'}: no {', '.join(HEAVY)} before the prompt")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
