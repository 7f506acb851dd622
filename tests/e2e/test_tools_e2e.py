"""The conversation tools in the real chatrepl, in a pseudo-terminal, against the loopback
server: edit and branch, fork and name, copy over OSC 52, attach files, compose in an
editor, request parameters and roles, /continue."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply, sse_chunks
from terminal import Terminal, chat_env

from chatrepl.adapters.storage import read_transcript
from chatrepl.core.transcript import loads

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (4).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00"
CONFIG = """
image_models = ["vision-*"]

[profiles.tuned.params]
frequency_penalty = 0.5

[roles.reviewer]
system = "You review code."
model = "vision-1"
"""


def script(folder: Path, name: str, body: str) -> Path:
    """An executable Python script on a PATH of its own (a fake editor or clipboard)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def tools_env(fake_server: FakeServer, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    bin_dir = tmp_path / "bin"
    # the fake editor appends a line; the fake xclip keeps what it was given
    script(bin_dir, "fake-editor", "p = sys.argv[-1]\nopen(p, 'a').write(' from the editor\\n')")
    script(
        bin_dir,
        "xclip",
        f"open({str(tmp_path / 'xclip.out')!r}, 'wb').write(sys.stdin.buffer.read())",
    )
    return chat_env(
        fake_server.url,
        INFERENCE_MODEL_ID="model-a",
        CHATREPL_CONFIG=str(config),
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        EDITOR="fake-editor",
        DISPLAY=":99",
    )


@pytest.fixture
def term(tools_env: dict[str, str], tmp_path: Path) -> Iterator[Terminal]:
    terminal = Terminal([], tools_env, cwd=str(tmp_path))  # short relative paths
    terminal.wait_for_prompt()
    yield terminal
    terminal.close()


def say(term: Terminal, text: str) -> None:
    term.type(text)
    term.wait_for(f"You said: {text.splitlines()[-1]}")
    term.wait_for_prompt()


def sent(server: FakeServer) -> list[dict]:
    return server.chat_requests[-1].body["messages"]


def test_edit_branch_and_both_survive_continue_and_markdown(
    term: Terminal, fake_server: FakeServer, tools_env: dict[str, str], tmp_path: Path
) -> None:
    for text in ("first", "second", "third"):
        say(term, text)
    term.type("/edit 2")
    term.wait_for("> second")  # the message is in the prompt, the cursor at its end
    term.type(" and more")
    term.wait_for("You said: second and more")
    term.wait_for_prompt()
    assert [m["content"] for m in sent(fake_server)] == [
        "first",
        "You said: first",
        "second and more",
    ]
    term.type("/branches")
    screen = term.wait_for("version 2 of 2")
    assert re.search(r"1\s+turn 2\s+version 1 of 2\s+4 messages\s+second", screen)
    term.type("/branch 1")
    term.wait_for("switched to branch 1")
    say(term, "fourth")
    assert [m["content"] for m in sent(fake_server)][::2] == ["first", "second", "third", "fourth"]
    markdown = tmp_path / "chat.md"
    term.type(f"/export {markdown}")
    term.wait_for("exported")
    term.type("/exit")
    assert term.exit_code() == 0
    exported = loads(markdown.read_text(), name="chat.md").conversation
    assert [r.first_line for r in exported.branch_rows()] == ["second", "second and more"]
    # --continue picks up the session with its branches; switch and ask on the other one
    again = Terminal(["-c"], tools_env)
    try:
        again.wait_for_prompt()
        again.type("/branch 2")
        again.wait_for("switched to branch 2")
        say(again, "fifth")
        assert [m["content"] for m in sent(fake_server)][::2] == [
            "first",
            "second and more",
            "fifth",
        ]
    finally:
        again.close()


def test_fork_name_and_delete_a_session(term: Terminal, fake_server: FakeServer) -> None:
    say(term, "one")
    say(term, "two")
    term.type("/name my project")
    term.wait_for("name: my project")
    term.type("/fork 1 side quest")
    term.wait_for("forked “side quest”: 1 turn to ")
    say(term, "in the fork")
    assert [m["content"] for m in sent(fake_server)][::2] == ["one", "in the fork"]
    term.type("/sessions")
    screen = term.wait_for("(fork of 2)")
    assert "“side quest” one (fork of 2)" in screen and "“my project” one" in screen
    term.type("/sessions rm 2")
    term.wait_for("[y/N]")
    term.type("y")
    term.wait_for("deleted session 2")
    folder = Path(os.environ["XDG_DATA_HOME"]) / "chatrepl" / "sessions"
    (left,) = folder.glob("*.jsonl")
    assert read_transcript(left).conversation.name == "side quest"


def test_copy_a_code_block_over_osc52_inside_tmux(
    fake_server: FakeServer, tools_env: dict[str, str], tmp_path: Path
) -> None:
    code = "for i in range(3):\n    print(i)"
    answer = f"Here:\n\n```python\n{code}\n```\n\nand\n\n```sh\nls -l\n```\n"
    fake_server.enqueue(Reply.text(answer))
    terminal = Terminal([], {**tools_env, "TMUX": "/tmp/tmux-1000/default,42,0"})
    try:
        terminal.wait_for_prompt()
        terminal.type("show me")
        terminal.wait_for("ls -l")
        terminal.type("/code")
        screen = terminal.wait_for("Code blocks of reply 1")
        assert re.search(r"1\s+python\s+2 lines\s+for i in range\(3\):", screen)
        terminal.type("/copy code 1")
        # (pyte shows the DCS wrapper as text; a terminal or tmux consumes it)
        terminal.wait_for("and xclip")
        line = f"copied code block 1 of reply 1 ({len(code)} characters) via OSC 52 (tmux"
        assert line.encode() in terminal.raw
        wrapped = re.search(rb"\x1bPtmux;\x1b\x1b\]52;c;([A-Za-z0-9+/=]+)\x07\x1b\\", terminal.raw)
        assert wrapped is not None, terminal.raw[-500:]
        assert base64.b64decode(wrapped.group(1)).decode() == code
        assert (tmp_path / "xclip.out").read_text() == code
    finally:
        terminal.close()


def test_attach_text_and_an_image_and_every_bad_path(
    term: Terminal, fake_server: FakeServer, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "dot.png").write_bytes(PNG)
    (tmp_path / "data.bin").write_bytes(b"\x00\x01\x02\x03")
    term.type("/attach dot.png")
    term.wait_for("model model-a does not take images")
    term.type("/model vision-1")
    term.wait_for("model: vision-1")
    for bad, problem in [
        ("missing.txt", "error: missing.txt: no such file"),
        ("data.bin", "error: data.bin: binary (neither UTF-8 text nor a PNG, JPEG, GIF or WebP"),
        ("'unclosed", "error: cannot read the paths: No closing quotation"),
        ("", "error: usage: /attach PATH..."),
    ]:
        term.type(f"/attach {bad}")
        term.wait_for(problem)
    term.type("/attach data.bin app.py")  # one bad path: nothing is attached
    term.wait_for("error: data.bin: binary")
    term.type("/detach")
    term.wait_for("error: nothing to detach")
    term.type("/attach app.py")
    term.wait_for("1 file will join your next message")
    term.type("/detach")
    term.wait_for("detached 1 file")
    term.type("/attach app.py dot.png")
    term.wait_for("2 files will join your next message")
    term.type("/attachments")
    screen = term.wait_for("Attached to your next message")
    assert re.search(r"total\s+.*2 files", screen)
    assert fake_server.chat_requests == []  # attaching sent nothing
    term.type("what are these?")
    term.wait_for("You said: [{'type': 'text'")  # the fake server echoes the parts
    text, image = sent(fake_server)[0]["content"]
    assert text == {
        "type": "text",
        "text": "what are these?\n\napp.py:\n```python\nprint('hi')\n```",
    }
    url = image["image_url"]["url"]
    assert base64.b64decode(url.removeprefix("data:image/png;base64,")) == PNG
    term.wait_for_prompt()
    term.type("and this @nope.md")
    term.wait_for("@nope.md: no such file or folder; nothing was sent")
    term.wait_for_prompt()
    assert len(fake_server.chat_requests) == 1
    # the message is back in the prompt: with the file there, Enter sends it
    (tmp_path / "nope.md").write_text("found\n")
    term.type("")
    term.wait_for("You said: and this @nope.md")
    assert sent(fake_server)[-1]["content"].endswith("nope.md:\n```markdown\nfound\n```")


def test_compose_in_the_editor(
    term: Terminal, fake_server: FakeServer, tools_env: dict[str, str]
) -> None:
    term.type("draft", enter=False)
    term.wait_for("> draft")
    term.child.send("\x18\x05")  # Ctrl-X Ctrl-E
    term.wait_for("> draft from the editor")
    term.type("")
    term.wait_for("You said: draft from the editor")
    term.wait_for_prompt()
    term.type("/editor notes")
    term.wait_for("> notes from the editor")
    term.type(" ok")
    term.wait_for("You said: notes from the editor ok")
    # a missing editor is one line, and the input stays
    missing = Terminal([], {**tools_env, "EDITOR": "no-such-editor"})
    try:
        missing.wait_for_prompt()
        missing.type("keep me", enter=False)
        missing.wait_for("> keep me")
        missing.child.send("\x18\x05")
        screen = missing.wait_for("$EDITOR is 'no-such-editor', which is not an executable")
        assert "Traceback" not in screen
        missing.type("")
        missing.wait_for("You said: keep me")
    finally:
        missing.close()


def test_parameters_and_roles(fake_server: FakeServer, tools_env: dict[str, str]) -> None:
    terminal = Terminal(["--profile", "tuned", "--role", "reviewer"], tools_env)
    try:
        terminal.wait_for_prompt()
        terminal.type("/set top_p 0.5")
        terminal.wait_for("top_p: 0.5 (sent with every request)")
        terminal.type('/set stop ["END", "###"]')
        terminal.wait_for('stop: ["END", "###"]')
        terminal.type("/set top_p 7")
        terminal.wait_for("top_p takes a number from 0 to 1, not 7")
        say(terminal, "review this")
        body = fake_server.chat_requests[-1].body
        assert body["messages"][0] == {"role": "system", "content": "You review code."}
        assert (body["top_p"], body["stop"], body["frequency_penalty"]) == (
            0.5,
            ["END", "###"],
            0.5,
        )
        terminal.type("/settings")
        screen = terminal.wait_for_after("/settings", "profile ")
        # a row too wide for the terminal has its source on the lines below it
        screen = re.sub(r"\n {6}(?=\S)", " ", screen)
        rows = {line.split()[0]: line for line in screen.splitlines() if line.split()}
        assert rows["params.top_p"].split()[1:] == ["0.5", "/set"]
        assert "config" in rows["params.frequency_penalty"]  # the profile's table
        assert "flag --role" in rows["role"]
        terminal.type("/unset top_p")
        terminal.wait_for("top_p: removed")
        terminal.type("/role off")
        terminal.wait_for("role: off (its system prompt went with it)")
        say(terminal, "again")
        body = fake_server.chat_requests[-1].body
        assert "top_p" not in body and body["messages"][0]["role"] == "user"
        terminal.type("/role")
        terminal.wait_for("Roles (/role NAME")
        terminal.type("/role rev", enter=False)
        time.sleep(0.3)
        terminal.child.send("\t")  # Tab completes the role's name
        terminal.wait_for("> /role reviewer")
        terminal.type("")
        terminal.wait_for("role: reviewer (model vision-1)")
        say(terminal, "and once more")
        assert fake_server.chat_requests[-1].body["messages"][0]["content"] == "You review code."
    finally:
        terminal.close()


def test_continue_a_reply_cut_at_max_tokens(term: Terminal, fake_server: FakeServer) -> None:
    fake_server.enqueue(Reply(chunks=sse_chunks("Once upon a", finish="length")))
    term.type("tell a story")
    term.wait_for("finish: length")
    term.wait_for_prompt()
    fake_server.enqueue(Reply.text(" time, the end."))
    term.type("/continue")
    term.wait_for("time, the end.")
    messages = sent(fake_server)
    assert messages[-2] == {"role": "assistant", "content": "Once upon a"}
    assert messages[-1]["role"] == "user" and "Continue exactly" in messages[-1]["content"]
    term.wait_for_prompt()
    say(term, "next")
    assert sent(fake_server)[-2] == {"role": "assistant", "content": "Once upon a time, the end."}
    time.sleep(0.1)
    folder = Path(os.environ["XDG_DATA_HOME"]) / "chatrepl" / "sessions"
    (session,) = folder.glob("*.jsonl")
    replies = [json.loads(line) for line in session.read_text().splitlines()[1:]]
    assert replies[1]["content"] == "Once upon a time, the end."
