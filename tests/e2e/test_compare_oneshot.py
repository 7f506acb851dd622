"""`chatrepl --compare m1,m2 "question"`: in-process (pipes) and in a pty (live, Ctrl-C)."""

from __future__ import annotations

import json

from fakeserver import FakeServer, Recorded, Reply, sse_chunks
from terminal import Terminal, chat_env
from test_inprocess import KEY, Run, environment

from chatrepl.core.errors import ExitStatus


def by_model(server: FakeServer, replies: dict[str, Reply]) -> None:
    def respond(request: Recorded) -> Reply | None:
        return replies.get(str((request.body or {}).get("model")))

    server.respond = respond


def test_piped_output_is_markdown_each_reply_under_its_model(fake_server: FakeServer) -> None:
    run = Run(["--compare", "m1,m2", "what", "is", "SSE?"], environment(fake_server))
    assert run.status == ExitStatus.OK
    out = run.out
    for model in ("m1", "m2"):
        assert f"## {model}\n\nYou said: what is SSE?\n\n*first token" in out
    # then the metrics table, as a Markdown table with a row per model
    head = "| model | first token | total | output tokens | tok/s | finish | error |"
    assert head in out and out.index(head) > max(out.index("## m2"), out.index("## m1"))
    rows = [line for line in out.splitlines() if line.startswith(("| m1 |", "| m2 |"))]
    assert len(rows) == 2 and all("| stop |" in row for row in rows)
    assert sorted(r.body["model"] for r in fake_server.chat_requests) == ["m1", "m2"]
    assert all(
        r.body["messages"] == [{"role": "user", "content": "what is SSE?"}]
        for r in fake_server.chat_requests
    )


def test_the_question_can_be_piped_in(fake_server: FakeServer) -> None:
    run = Run(["--compare", "m1,m2"], environment(fake_server), stdin="from a pipe\n")
    assert run.status == ExitStatus.OK
    assert run.out.count("You said: from a pipe") == 2


def test_json_is_one_object_with_every_reply(fake_server: FakeServer) -> None:
    by_model(fake_server, {"bad": Reply.error(404, f"no such model (key {KEY})")})
    run = Run(["--compare", "good,bad", "--json", "hi"], environment(fake_server))
    assert run.status == ExitStatus.OK  # one model answered
    document = json.loads(run.out)
    assert document["question"] == "hi"
    good, bad = document["replies"]
    assert good["spec"] == good["model"] == "good" and good["label"] == "A"
    assert good["text"] == "You said: hi" and good["error"] is None
    assert good["finish_reason"] == "stop" and good["ttft"] is not None
    assert good["usage"]["completion_tokens"] > 0 and good["interrupted"] is False
    assert bad["text"] == "" and "404" in bad["error"] and "no such model" in bad["error"]
    assert KEY not in run.out and KEY not in run.err  # the key never shows


def test_exit_1_when_no_model_answered(fake_server: FakeServer) -> None:
    by_model(fake_server, {m: Reply.error(404, "no such model") for m in ("x", "y")})
    run = Run(["--compare", "x,y", "hi"], environment(fake_server))
    assert run.status == ExitStatus.API
    assert run.out.count("*error: HTTP 404") == 2  # each under its model, then the table


def test_no_models_or_no_message_is_one_line_and_exit_2(fake_server: FakeServer) -> None:
    for argv in (["--compare", ",", "hi"], ["--compare", "a,b"]):
        run = Run(argv, environment(fake_server), stdin="")
        assert run.status == ExitStatus.USAGE, argv
        assert run.err.count("\n") == 1 and "Traceback" not in run.err
    assert fake_server.chat_requests == []


def test_ctrl_c_in_a_terminal_keeps_every_partial_and_exits_130(
    fake_server: FakeServer, started: list[Terminal]
) -> None:
    held = {m: Reply(chunks=sse_chunks(f"{m} begins here " * 3, 4), hold_after=6) for m in "ab"}
    by_model(fake_server, held)
    env = chat_env(fake_server.url, COLUMNS="120", LINES="30")
    term = Terminal(["--compare", "a,b", "question"], env, rows=30, cols=120)
    started.append(term)
    term.wait_for("a begins")
    term.wait_for("b begins")
    term.child.sendintr()
    assert term.exit_code() == ExitStatus.INTERRUPTED
    screen = term.text()
    assert screen.count("interrupted") >= 2  # each column's end and the table say so
    table = screen[screen.index("output tokens") :]
    assert table.count("interrupted") == 2
    for reply in held.values():
        reply.release.set()
    assert "Traceback" not in screen


def test_one_shot_takes_specs_with_their_settings(fake_server: FakeServer) -> None:
    argv = ["--compare", "m1@temperature=0.2,max_tokens=5,m1@temperature=0.9", "--json", "hi"]
    run = Run(argv, environment(fake_server))
    assert run.status == ExitStatus.OK
    cold, warm = json.loads(run.out)["replies"]
    assert (cold["spec"], cold["settings"]) == (
        "m1@temperature=0.2,max_tokens=5",
        {
            "temperature": 0.2,
            "max_tokens": 5,
        },
    )
    assert warm["settings"] == {"temperature": 0.9}
    sent = sorted(
        (r.body["temperature"], r.body.get("max_tokens")) for r in fake_server.chat_requests
    )
    assert sent == [(0.2, 5), (0.9, None)]


def test_one_shot_refuses_a_bad_spec_in_one_line(fake_server: FakeServer) -> None:
    run = Run(["--compare", "m1,m2@temperature=7", "hi"], environment(fake_server))
    assert run.status == ExitStatus.USAGE
    assert "--compare: m2@temperature=7: temperature must be a number from 0 to 2" in run.err
    assert run.err.count("\n") == 1 and fake_server.chat_requests == []


def test_one_model_is_compared_with_the_sessions_as_compare_does(fake_server: FakeServer) -> None:
    run = Run(["--compare", "m2", "-m", "m1", "hi"], environment(fake_server))
    assert run.status == ExitStatus.OK
    assert "## m1\n" in run.out and "## m2\n" in run.out
    assert sorted(r.body["model"] for r in fake_server.chat_requests) == ["m1", "m2"]
    alone = Run(["--compare", "m1", "-m", "m1", "hi"], environment(fake_server))
    assert alone.out.count("## m1\n") == 1  # the session's own model is not asked twice


def test_more_models_than_letters_is_a_usage_error(fake_server: FakeServer) -> None:
    many = ",".join(f"m@seed={i}" for i in range(27))
    run = Run(["--compare", many, "--json", "hi"], environment(fake_server))
    assert run.status == ExitStatus.USAGE and "Traceback" not in run.err
    assert "at most 26 models at once" in run.err and not fake_server.chat_requests
