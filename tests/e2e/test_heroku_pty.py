"""The newcomer on Heroku's standard plan, in a real pseudo-terminal.

Only INFERENCE_URL and INFERENCE_KEY are set (the standard plan sets no model). They
type `chatrepl`, pick a model from the list, chat, switch model with Tab completion,
turn on thinking, hit a rate limit and see the wait, and never see raw JSON, markup or
a request without a model. The next start goes straight to the model they chose.
"""

from __future__ import annotations

import re

from herokuserver import KEY, HerokuServer
from terminal import Terminal, chat_env


def no_raw_output(screen: str) -> None:
    assert '{"' not in screen and "</" not in screen and "<html" not in screen.lower()
    assert KEY not in screen and "Traceback" not in screen


def test_the_newcomer_flow(heroku_server: HerokuServer) -> None:
    env = chat_env(heroku_server.url, INFERENCE_KEY=KEY)
    term = Terminal([], env)
    try:
        # the list of chat models, numbered; embedding, image and ranking models left out
        screen = term.wait_for("model>")
        assert f"Chat models at 127.0.0.1:{heroku_server.port}" in screen
        listed = re.findall(r"^\s*(\d)\s+(\S+)\s*$", screen, re.M)
        assert listed == [
            ("1", "claude-4-5-haiku"),
            ("2", "claude-4-5-sonnet"),
            ("3", "kimi-k2-5"),
            ("4", "openai-gpt-oss-120b"),
        ]
        assert "cohere" not in screen and "stable-image" not in screen
        term.type("9")
        term.wait_for("pick a number from 1 to 4, or type a name")
        term.type("2")
        term.wait_for("model: claude-4-5-sonnet (remembered for")
        term.wait_for_prompt()

        # chat: stream_options is refused once, the turn recovers and says so
        term.type("hello there")
        screen = term.wait_for("You said: hello there")
        assert "the server refused stream_options; retrying without it" in screen
        term.wait_for("claude-4-5-sonnet · first token")

        # switch model with Tab completion
        term.type("/model kimi", enter=False)
        term.child.send("\t")
        term.wait_for("/model kimi-k2-5")
        term.child.send("\r")
        term.wait_for("model: kimi-k2-5")

        # thinking on: Heroku's extended_thinking, echoed back as reasoning
        term.type("/think on")
        term.wait_for("thinking: on (extended_thinking, budget 1024 tokens) [heroku dialect]")
        term.type("why?")
        screen = term.wait_for("You said: why?")
        assert "Thinking with a budget of 1024 tokens." in screen
        term.wait_for("(9 reasoning)")

        # a rate limit: the wait is shown, then the reply arrives
        heroku_server.limit_next(reset="1s")
        term.type("and now?")
        screen = term.wait_for("You said: and now?")
        assert "rate limited — waiting 1.0 s (x-ratelimit-reset-requests)" in screen

        term.type("/limits")
        screen = term.wait_for("resets in")
        assert re.search(r"requests\s+\d+\s+150\s+51s", screen)

        term.type("/settings")
        screen = term.wait_for("add-on variables")
        rows = {
            line.split()[0]: line
            for line in screen.split("> /settings")[-1].splitlines()
            if line.split()
        }
        assert "heroku" in rows["dialect"] and "Heroku's add-on variables" in rows["dialect"]
        assert "kimi-k2-5" in rows["model"] and "/model" in rows["model"]
        assert "on" in rows["think"] and "/think" in rows["think"]
        no_raw_output(term.text())
        term.type("/exit")
        assert term.exit_code() == 0
    finally:
        term.close()

    bodies = [r.body for r in heroku_server.chat_requests]
    assert all(b.get("model") for b in bodies)  # never a request without a model
    assert bodies[-1]["extended_thinking"]["budget_tokens"] == 1024

    # next time: the model chosen last is used at once, stream_options is not tried again
    before = len(heroku_server.chat_requests)
    term = Terminal([], env)
    try:
        term.wait_for_prompt()
        screen = term.text()
        assert "kimi-k2-5 at 127.0.0.1" in screen and "model>" not in screen
        term.type("hi again")
        term.wait_for("You said: hi again")
        assert "refused" not in term.text()
    finally:
        term.close()
    (request,) = heroku_server.chat_requests[before:]
    assert request.body["model"] == "kimi-k2-5" and "stream_options" not in request.body


def test_model_names_complete_from_startup_without_asking_for_them(
    heroku_server: HerokuServer,
) -> None:
    # a legacy plan: the model is set, so no picker; the names still arrive in the
    # background after the prompt is up, and Tab completes them
    env = chat_env(heroku_server.url, INFERENCE_KEY=KEY, INFERENCE_MODEL_ID="claude-4-5-haiku")
    term = Terminal([], env)
    try:
        term.wait_for_prompt()
        assert heroku_server.wait_for_requests(1)
        listing = heroku_server.requests[0]
        assert listing.path == "/available-models"
        assert listing.reply is not None and listing.reply.finished.wait(5)
        term.type("/model open", enter=False)
        term.child.send("\t")
        term.wait_for("/model openai-gpt-oss-120b")
        term.child.send("\r")
        screen = term.wait_for("model: openai-gpt-oss-120b")
        assert "not in /models" not in screen
    finally:
        term.close()
    assert heroku_server.chat_requests == []
