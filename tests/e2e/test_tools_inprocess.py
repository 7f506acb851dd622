"""Request parameters, roles and @path attachments in whole one-shot runs, in-process,
checked on the loopback server (the REPL's commands are in test_tools_e2e.py)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from fakeserver import FakeServer
from test_inprocess import Run, environment

from chatrepl.core.errors import ExitStatus

CONFIG = """
[profiles.tuned]
model = "tuned-model"

[profiles.tuned.params]
top_p = 0.25
stop = ["END"]

[roles.reviewer]
system = "You review code."
params = { seed = 7 }

[roles.poet]
system = "You write verse."
"""
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (2).to_bytes(4, "big") * 2 + b"\x08\x02"


@pytest.fixture
def env(fake_server: FakeServer, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    return environment(fake_server, CHATREPL_CONFIG=str(config))


def body(server: FakeServer) -> dict:
    return server.chat_requests[-1].body


def test_o_flags_add_request_parameters(fake_server: FakeServer, env: dict[str, str]) -> None:
    argv = ["-o", "top_p=0.5", "-o", 'stop=["END", "###"]', "-o", "response_format=json"]
    argv += ["-o", 'logit_bias={"50256": -100}', "-o", "user=alice", "hi"]
    run = Run(argv, env)
    assert run.status == ExitStatus.OK, run.err
    sent = body(fake_server)
    assert sent["top_p"] == 0.5 and sent["stop"] == ["END", "###"]
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["logit_bias"] == {"50256": -100} and sent["user"] == "alice"


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        ("top_p=5", "top_p takes a number from 0 to 1, not 5"),
        ("seed=x", "seed takes a whole number"),
        ("presence_penalty=3", "presence_penalty takes a number from -2 to 2, not 3"),
        ("logit_bias={bad", "logit_bias: not valid JSON"),
        ("nokey", "expected KEY=VALUE, not 'nokey'"),
        ("temperature=0.5", "temperature is a setting of its own: use -t/--temperature"),
        ("messages=[]", "messages is set by chatrepl itself"),
    ],
)
def test_a_bad_o_flag_is_one_line_and_exit_2(
    fake_server: FakeServer, env: dict[str, str], option: str, problem: str
) -> None:
    run = Run(["-o", option, "hi"], env)
    assert run.status == ExitStatus.USAGE
    assert problem in run.err and len(run.err.strip().splitlines()) == 1
    assert fake_server.requests == []


def test_profile_params_merge_with_flags_and_are_saved(
    fake_server: FakeServer, env: dict[str, str], isolated_env: Path
) -> None:
    run = Run(["--profile", "tuned", "-o", "seed=3", "-o", "top_p=0.75", "first"], env)
    assert run.status == ExitStatus.OK, run.err
    sent = body(fake_server)
    assert (sent["model"], sent["top_p"], sent["stop"], sent["seed"]) == (
        "tuned-model",
        0.75,
        ["END"],
        3,
    )
    (session,) = (isolated_env / ".local/share/chatrepl/sessions").glob("*.jsonl")
    header, _, reply = session.read_text().splitlines()
    assert json.loads(header)["settings"]["params"] == {"top_p": 0.75, "stop": ["END"], "seed": 3}
    assert json.loads(reply)["stats"]["params"]["seed"] == 3
    # --continue brings them back; a flag given again wins key by key
    run = Run(["-c", "-o", "seed=4", "second"], env)
    assert run.status == ExitStatus.OK, run.err
    sent = body(fake_server)
    assert (sent["top_p"], sent["stop"], sent["seed"]) == (0.75, ["END"], 4)


def test_role_flag_brings_its_system_prompt_and_params(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    run = Run(["--role", "reviewer", "-s", "Flag wins.", "look at this"], env)
    assert run.status == ExitStatus.OK, run.err
    sent = body(fake_server)
    assert sent["messages"][0] == {"role": "system", "content": "Flag wins."}
    assert sent["seed"] == 7
    run = Run(["--role", "reviewer", "again"], env)
    assert body(fake_server)["messages"][0]["content"] == "You review code."


def test_an_unknown_role_is_exit_2_with_the_closest(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    run = Run(["--role", "reveiwer", "hi"], env)
    assert run.status == ExitStatus.USAGE
    assert run.err == "chatrepl: unknown role 'reveiwer' (did you mean 'reviewer'?)\n"


def test_at_path_attaches_text_and_images_in_one_shot(
    fake_server: FakeServer, env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "main.py"
    source.write_text("def main():\n    return 42\n")
    picture = tmp_path / "pixel.png"
    picture.write_bytes(PNG)
    run = Run(["-m", "gpt-4o", f"explain @{source} and @{picture}"], env)
    assert run.status == ExitStatus.OK, run.err
    text, image = body(fake_server)["messages"][0]["content"]
    assert text["text"] == (
        f"explain @{source} and @{picture}\n\n{source}:\n```python\ndef main():\n    return 42\n```"
    )
    data = image["image_url"]["url"].removeprefix("data:image/png;base64,")
    assert base64.b64decode(data) == PNG


def test_an_image_for_a_text_model_sends_nothing(
    fake_server: FakeServer, env: dict[str, str], tmp_path: Path
) -> None:
    picture = tmp_path / "pixel.png"
    picture.write_bytes(PNG)
    run = Run(["-m", "llama3.2", f"what is @{picture}"], env)
    assert run.status == ExitStatus.USAGE
    assert run.err.startswith("chatrepl: model llama3.2 does not take images")
    assert fake_server.requests == []


def test_a_missing_at_path_sends_nothing(fake_server: FakeServer, env: dict[str, str]) -> None:
    run = Run(["-m", "m", "summarise @./missing-notes.md"], env)
    assert run.status == ExitStatus.USAGE
    assert "@./missing-notes.md: no such file or folder; nothing was sent" in run.err
    assert fake_server.requests == []
    assert os.path.exists(env["CHATREPL_CONFIG"])


def test_a_role_flag_wins_over_the_role_a_resumed_session_had(
    fake_server: FakeServer, env: dict[str, str]
) -> None:
    assert Run(["--role", "reviewer", "first"], env).status == ExitStatus.OK
    run = Run(["-c", "--role", "poet", "second"], env)
    assert run.status == ExitStatus.OK, run.err
    sent = body(fake_server)
    assert sent["messages"][0] == {"role": "system", "content": "You write verse."}
    assert [m["content"] for m in sent["messages"][1:]] == ["first", "You said: first", "second"]
    run = Run(["-c", "third"], env)  # without the flag, the session's own role goes on
    assert body(fake_server)["messages"][0]["content"] == "You write verse."
