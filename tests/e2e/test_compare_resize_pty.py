"""The live /compare view follows a resize of the terminal mid-comparison, in a real pty.

Three models stream side by side on a 160-column terminal; it shrinks to 80 columns
while one model has not sent a word yet. What comes after the resize must be laid out
for 80 columns: that model's whole reply appears once, in a panel, never cut or
interleaved with 160-column rows that the narrower terminal wraps.
"""

from __future__ import annotations

import re

from fakeserver import FakeServer, Recorded, Reply, sse_chunks
from terminal import Terminal, chat_env

ROWS = 30


def answer(model: str) -> str:
    words = [f"{model}w{i}" for i in range(120)]
    url = f"https://example.com/{model}/" + "segment" * 10
    return "\n\n".join([" ".join(words[:60]), url, " ".join(words[60:])])


def test_a_resize_mid_comparison_lays_the_rest_out_for_the_new_width(
    fake_server: FakeServer, started: list[Terminal]
) -> None:
    held = Reply(chunks=sse_chunks(answer("m2"), 8, model="m2"), hold_after=1)

    def respond(request: Recorded) -> Reply | None:
        model = str((request.body or {}).get("model"))
        if model == "m2":
            return held  # its role chunk, then nothing until the terminal is resized
        if model in ("m1", "m3"):
            return Reply(chunks=sse_chunks(answer(model), 8, model=model), delay=0.004)
        return None

    fake_server.respond = respond
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="m1", COLUMNS="160", LINES=str(ROWS))
    term = Terminal([], env, rows=ROWS, cols=160)
    started.append(term)
    term.wait_for_prompt()
    term.type("/compare m1 m2 m3 -- tell me")
    term.wait_for("m1w119")  # m1 has streamed its reply into its column
    term.child.setwinsize(ROWS, 80)
    term.screen.resize(ROWS, 80)
    term.pump(0.5)
    held.release.set()
    term.wait_for("output tokens", timeout=30)
    term.wait_for_prompt()
    lines = term.text().split("\n")
    header = max(i for i, line in enumerate(lines) if line.startswith("2 · m2 ─"))
    end = next(i for i, line in enumerate(lines) if "output tokens" in line)
    panel = re.sub(r"\s+", "", "".join(lines[header + 1 : end]))
    whole = re.sub(r"\s+", "", answer("m2"))
    assert panel.count(whole) == 1, "\n".join(lines[header:end])
    assert panel.split(whole)[1].startswith("firsttoken")  # its own stats line after it
    assert all("│" not in line for line in lines[header:end])  # no 160-column band
    assert "Traceback" not in term.text()
