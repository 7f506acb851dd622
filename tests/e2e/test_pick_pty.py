"""/compare across two endpoints and /pick, in the real REPL in a pseudo-terminal: the
config's profile is reached with its own key, the pick is shown, and the next message goes
to the picked model at the picked endpoint with the picked reply in its history."""

from __future__ import annotations

from pathlib import Path

from fakeserver import FakeServer, Recorded, Reply, sse_chunks
from terminal import Terminal, chat_env

WORK_KEY = "work-0123456789abcdefSECRETwxyz"


def says_who(request: Recorded) -> Reply:
    body = request.body
    users = [m["content"] for m in body["messages"] if m["role"] == "user"]
    return Reply(chunks=sse_chunks(f"{body['model']} answers {users[-1]}", 5, usage=True))


def test_compare_two_endpoints_pick_the_second_and_carry_on(
    started: list[Terminal], tmp_path: Path
) -> None:
    with FakeServer() as home, FakeServer(require_key=WORK_KEY) as work:
        home.respond = work.respond = says_who
        config = tmp_path / "config.toml"
        config.write_text(
            f'[profiles.work]\nurl = "{work.url}"\nkey = "{WORK_KEY}"\n'
            '[compare.sets.pair]\nmodels = ["m1", "work:w1@temperature=0.3"]\n'
        )
        config.chmod(0o600)
        env = chat_env(home.url, CHATREPL_CONFIG=str(config))
        term = Terminal(["-m", "m1", "--no-save"], env)
        started.append(term)
        term.wait_for_prompt()
        term.type("/compare @pair -- hello there")
        term.wait_for("w1 answers hello there")
        term.wait_for("m1 answers hello there")
        term.type("/pick 2")
        term.wait_for("now using work:w1 · temperature=0.3 (was m1)")
        term.type("and next")
        term.wait_for("w1 answers and next")
        text = term.text()
        assert WORK_KEY not in text
        assert len(home.chat_requests) == 1
        follow_up = work.chat_requests[-1]
        assert follow_up.headers["authorization"] == f"Bearer {WORK_KEY}"
        assert follow_up.body["temperature"] == 0.3
        assert [m["content"] for m in follow_up.body["messages"]] == [
            "hello there",
            "w1 answers hello there",
            "and next",
        ]
        term.type("/exit")
        assert term.exit_code() == 0
