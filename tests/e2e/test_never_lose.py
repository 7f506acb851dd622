"""Issue 9's findings, each as a whole run in-process: nothing typed is lost, nothing is
silent, no key is shown. (The fault suite, test_faults.py, sweeps the same ground wide.)"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply
from test_inprocess import KEY, Run, environment

from chatrepl.core.errors import ExitStatus

SESSIONS = Path(".local/share/chatrepl/sessions")


def sessions(home: Path) -> list[Path]:
    return sorted((home / SESSIONS).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)


def saved_messages(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


# --- lost words --------------------------------------------------------------------

QUICK_START = {  # Heroku's quick-start body: one user message, no reply yet
    "model": "claude-4-5-haiku",
    "messages": [{"role": "user", "content": "Hello!"}],
    "temperature": 0.5,
    "max_tokens": 100,
}


def test_a_loaded_request_body_alone_is_sent_as_it_is(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(QUICK_START))
    run = Run(["--load", str(body)], environment(fake_server))
    assert (run.status, run.out) == (ExitStatus.OK, "You said: Hello!\n")
    sent = fake_server.chat_requests[0].body
    assert sent["messages"] == QUICK_START["messages"] and sent["max_tokens"] == 100


def test_a_new_message_after_a_loaded_question_keeps_the_question(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(QUICK_START))
    run = Run(["--load", str(body), "And a joke."], environment(fake_server))
    assert run.status == ExitStatus.OK
    (sent,) = fake_server.chat_requests[0].body["messages"]
    assert sent == {"role": "user", "content": "Hello!\n\nAnd a joke."}
    assert "↑" not in run.err and "/retry" not in run.err and "/undo" not in run.err


@pytest.mark.parametrize("where", ["argv", "pipe"])
def test_invalid_utf8_in_argv_or_a_pipe_is_repaired_sent_and_saved(
    fake_server: FakeServer, isolated_env: Path, where: str
) -> None:
    text = b"caf\xe9 \xff\xfe ok".decode("utf-8", "surrogateescape")  # as Python keeps them
    argv, stdin = ([text], "") if where == "argv" else ([], text)
    run = Run(argv, environment(fake_server), stdin=stdin)
    assert run.status == ExitStatus.OK, run.err
    assert (
        fake_server.chat_requests[0].body["messages"][0]["content"] == "caf\ufffd \ufffd\ufffd ok"
    )
    (session,) = sessions(isolated_env)
    assert saved_messages(session)[0]["content"] == "caf\ufffd \ufffd\ufffd ok"


def test_continue_skips_an_unreadable_newest_session(
    fake_server: FakeServer, isolated_env: Path
) -> None:
    env = environment(fake_server)
    assert Run(["older question"], env).status == ExitStatus.OK
    time.sleep(0.01)
    broken = isolated_env / SESSIONS / "2999-01-01_00-00-00.000_dead.jsonl"
    broken.write_bytes(b"\x00\xffnot a transcript")
    run = Run(["-c", "follow-up"], env)
    assert run.status == ExitStatus.OK, run.err
    contents = [m["content"] for m in fake_server.chat_requests[-1].body["messages"]]
    assert contents == ["older question", "You said: older question", "follow-up"]
    assert f"skipped {broken}: binary data" in run.err


def test_continue_with_only_unreadable_sessions_is_one_line(
    fake_server: FakeServer, isolated_env: Path
) -> None:
    folder = isolated_env / SESSIONS
    folder.mkdir(parents=True)
    (folder / "x.jsonl").write_text("{")
    run = Run(["-c", "hi"], environment(fake_server))
    assert run.status == ExitStatus.USAGE
    assert run.err.startswith("chatrepl: no readable conversation to continue:")
    assert len(run.err.strip().splitlines()) == 1


@pytest.mark.parametrize("body", [b"[]", b"null"])
def test_a_200_with_a_json_array_or_null_is_one_line(
    fake_server: FakeServer, isolated_env: Path, body: bytes
) -> None:
    fake_server.enqueue(Reply(body=body))
    run = Run(["--no-stream", "hi"], environment(fake_server))
    assert run.status == ExitStatus.API
    assert (
        run.err == f"error: 127.0.0.1:{fake_server.port} sent JSON that is not a chat reply: "
        f"{body.decode()}\n"
    )
    (session,) = sessions(isolated_env)
    assert [m["role"] for m in saved_messages(session)] == ["user"]  # kept for /retry


# --- silent failures ---------------------------------------------------------------


def test_a_cut_stream_is_an_error_marked_truncated_and_exit_1(
    fake_server: FakeServer, isolated_env: Path
) -> None:
    fake_server.enqueue(Reply.text("Half an answer", finish=None, usage=False, done=False))
    run = Run(["hi"], environment(fake_server))
    assert run.status == ExitStatus.API
    assert run.out == "Half an answer\n"
    assert "closed mid-reply" in run.err and "partial reply kept" in run.err
    (session,) = sessions(isolated_env)
    reply = saved_messages(session)[-1]
    assert reply["content"] == "Half an answer" and reply["stats"]["truncated"] is True


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(chunks=[b"<html><title>Login</title>"], content_type="text/html"), "a web page"),
        (Reply(chunks=[]), "an empty stream"),
        (Reply.text("", usage=False), "an empty reply"),
    ],
    ids=["captive portal", "empty stream", "empty reply"],
)
def test_an_empty_or_foreign_200_is_an_error_and_nothing_empty_is_saved(
    fake_server: FakeServer, isolated_env: Path, reply: Reply, words: str
) -> None:
    fake_server.enqueue(reply)
    run = Run(["hi"], environment(fake_server))
    assert run.status == ExitStatus.API
    assert words in run.err and run.out == ""
    (session,) = sessions(isolated_env)
    assert saved_messages(session) == [{"role": "user", "content": "hi"}]
    assert Run(["-c", "again"], environment(fake_server)).status == ExitStatus.OK
    messages = fake_server.chat_requests[-1].body["messages"]
    assert all(m["content"] for m in messages)  # no empty assistant message sent back


def test_retry_waits_are_shown_and_a_long_retry_after_is_reported(
    fake_server: FakeServer,
) -> None:
    fake_server.enqueue(Reply.error(503, "busy", headers={"Retry-After": "0.01"}))
    run = Run(["hi"], environment(fake_server))
    assert run.status == ExitStatus.OK
    assert "HTTP 503 — retrying in 0.0 s (1/2)" in run.err
    fake_server.enqueue(Reply.error(429, "slow down", headers={"Retry-After": "120"}))
    run = Run(["hi"], environment(fake_server))
    assert run.status == ExitStatus.API
    assert run.err.strip() == (
        "error: HTTP 429: rate limited (slow down); the server asks to wait 120 s"
    )


def test_max_retries_flag(fake_server: FakeServer) -> None:
    fake_server.enqueue(*[Reply.error(503, "busy", headers={"Retry-After": "0.001"})] * 2)
    run = Run(["--max-retries", "0", "hi"], environment(fake_server))
    assert run.status == ExitStatus.API and len(fake_server.chat_requests) == 1


def test_a_redirect_to_another_host_sends_nothing_there(fake_server: FakeServer) -> None:
    with FakeServer() as elsewhere:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "/steal"
        fake_server.enqueue(Reply(status=307, headers={"Location": target}))
        run = Run(["my private question"], environment(fake_server))
        assert elsewhere.requests == []
    assert run.status == ExitStatus.API
    assert f"redirected the request to {target} (HTTP 307); not followed" in run.err


# --- leaked secrets ------------------------------------------------------------------


def test_a_key_with_a_line_break_is_refused_without_printing_it(fake_server: FakeServer) -> None:
    env = environment(fake_server, INFERENCE_KEY="inf-abc\nSECRET-REST-OF-KEY")
    run = Run(["hi"], env)
    assert run.status == ExitStatus.USAGE
    assert run.err == (
        "chatrepl: $INFERENCE_KEY is not a usable API key: it must be printable ASCII, "
        "but character 8 is a line break\n"
    )
    assert fake_server.requests == []


def test_a_key_pasted_with_curly_quotes_works(fake_server: FakeServer) -> None:
    run = Run(["hi"], environment(fake_server, INFERENCE_KEY=f"\u201c{KEY}\u201d"))
    assert run.status == ExitStatus.OK, run.err
    assert fake_server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_url_credentials_are_never_shown(fake_server: FakeServer) -> None:
    url = fake_server.url.replace("http://", "http://alice:hunter2-secret@")
    fake_server.enqueue(Reply.error(404, "no such route"))
    run = Run(["--max-retries", "0", "hi"], environment(fake_server, INFERENCE_URL=url))
    assert run.status == ExitStatus.API
    assert "hunter2" not in run.err and "alice" not in run.err


def test_the_key_is_not_sent_over_plain_http_to_another_host(fake_server: FakeServer) -> None:
    # 0.0.0.0 reaches this machine on Linux, but is not loopback by name
    url = f"http://0.0.0.0:{fake_server.port}"
    run = Run(["hi"], environment(fake_server, INFERENCE_URL=url))
    assert run.status == ExitStatus.USAGE
    assert "refusing to send the API key over plain http:// to 0.0.0.0" in run.err
    assert fake_server.requests == []
    run = Run(["--allow-insecure-http", "hi"], environment(fake_server, INFERENCE_URL=url))
    assert run.status == ExitStatus.OK
    config = {"CHATREPL_CONFIG": "", "INFERENCE_URL": url}
    env = environment(fake_server, **config)
    config_file = Path(env["HOME"]) / "insecure.toml"
    config_file.write_text("allow_insecure_http = true\n")
    run = Run(["--config", str(config_file), "hi"], env)
    assert run.status == ExitStatus.OK


def test_a_netrc_entry_is_never_used(fake_server: FakeServer, isolated_env: Path) -> None:
    netrc = isolated_env / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password from-netrc\n")
    netrc.chmod(0o600)
    env = environment(fake_server, NETRC=str(netrc))
    del env["INFERENCE_KEY"]
    assert Run(["hi"], env).status == ExitStatus.OK
    assert "authorization" not in fake_server.chat_requests[-1].headers
    fake_server.enqueue(Reply(status=308, headers={"Location": "/v1/chat/completions?x"}))
    assert Run(["hi"], environment(fake_server)).status == ExitStatus.OK
    assert fake_server.chat_requests[-1].headers["authorization"] == f"Bearer {KEY}"


def script(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(0o700)
    return path


def test_key_command_supplies_the_key(fake_server: FakeServer, tmp_path: Path) -> None:
    helper = script(tmp_path / "keyhelper", f"print('  {KEY}  ')")
    config = tmp_path / "c.toml"
    config.write_text(f'[profiles.work]\nkey_command = ["{helper}", "show", "work"]\n')
    env = environment(fake_server, INFERENCE_KEY="inf-some-other-key-0000")
    run = Run(["--config", str(config), "--profile", "work", "hi"], env)
    assert run.status == ExitStatus.OK, run.err
    assert fake_server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_failing_key_command_is_one_line(fake_server: FakeServer, tmp_path: Path) -> None:
    helper = script(tmp_path / "keyhelper", "import sys; sys.exit('gpg: decryption failed')")
    config = tmp_path / "c.toml"
    config.write_text(f'key_command = ["{helper}"]\n')
    run = Run(["--config", str(config), "hi"], environment(fake_server))
    assert run.status == ExitStatus.USAGE
    assert run.err == (
        f"chatrepl: key_command: '{helper}' failed (exit status 1): gpg: decryption failed\n"
    )
    config.write_text('key_command = ["/nonexistent/pass"]\n')
    run = Run(["--config", str(config), "hi"], environment(fake_server))
    assert "'/nonexistent/pass' not found" in run.err and run.status == ExitStatus.USAGE


def test_a_literal_key_in_a_readable_config_gets_a_warning(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'key = "{KEY}"\n')
    config.chmod(0o644)
    env = environment(fake_server)
    del env["INFERENCE_KEY"]
    run = Run(["--config", str(config), "hi"], env)
    assert run.status == ExitStatus.OK
    assert run.err.splitlines()[0] == (
        f"chatrepl: warning: {config} holds an API key and is readable by others "
        f"(mode 0644); run: chmod 600 {config}"
    )
    assert fake_server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    config.chmod(0o600)
    assert "warning" not in Run(["--config", str(config), "hi"], env).err
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
