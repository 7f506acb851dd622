"""The conversation tools through the engine: /edit and branches, /continue, /fork,
/name, /sessions rm, /set and roles, /copy and /code, /attach, /editor."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from fakes import (
    FakeBackend,
    FakeClipboard,
    FakeClock,
    FakeEditor,
    MemoryFiles,
    MemoryStore,
    RecordingView,
    reply,
)

from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.engine import CONTINUE_PROMPT, Engine
from chatrepl.core.messages import TextDelta
from chatrepl.core.reply import Outcome
from chatrepl.core.settings import Layer, from_toml, resolve
from chatrepl.core.transcript import SessionInfo, Transcript, dumps, loads, settings_of

PNG = (
    b"\x89PNG\r\n\x1a\n"
    + b"\x00\x00\x00\rIHDR"
    + (640).to_bytes(4, "big")
    + (480).to_bytes(4, "big")
)
ROLES = from_toml(
    """
[roles.reviewer]
system = "You review code."
model = "vision-2"
params = { top_p = 0.2 }

[roles.poet]
system = "You write verse."
""",
    path="c.toml",
).roles


class Tools:
    """An engine with every port faked, and shortcuts."""

    def __init__(self, **values: Any) -> None:
        self.backend = FakeBackend(clock=FakeClock())
        self.view = RecordingView()
        self.store = MemoryStore()
        self.files = MemoryFiles()
        self.clipboard = FakeClipboard()
        self.editor = FakeEditor(lambda text: text + " (edited)")
        flags = {"model": "m1", "image_models": ("vision-*",), **values}
        self.engine = Engine(
            resolve(Layer("flag", flags)),
            self.backend,
            self.view,
            commands=builtin_commands(),
            store=self.store,
            files=self.files,
            clipboard=self.clipboard,
            editor=self.editor,
            roles=ROLES,
        )

    def say(self, line: str, answer: str | None = None, **options: Any) -> Outcome:
        if answer is not None:
            self.backend.enqueue(reply(answer, **options))
        return self.engine.handle(line)

    def chat(self, *pairs: str) -> None:
        for question, answer in zip(pairs[::2], pairs[1::2], strict=True):
            self.say(question, answer)

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.backend.payloads[-1]["messages"]

    def texts(self) -> list[str]:
        return [m.content for m in self.engine.conversation.messages]


# --- /edit and branches -------------------------------------------------------------


def test_edit_puts_the_message_in_the_prompt_and_sending_replaces_it() -> None:
    t = Tools()
    t.chat("first", "A1", "second", "A2", "third", "A3")
    outcome = t.say("/edit 2")
    assert outcome.prefill == "second" and t.backend.pending == 0
    t.say("second, better", "A2'")
    assert [m["content"] for m in t.sent] == ["first", "A1", "second, better"]
    assert t.texts() == ["first", "A1", "second, better", "A2'"]
    # the old branch is kept, and saved: the store got the forks with the conversation
    rows = t.engine.branches()
    assert [(r.turn, r.first_line, r.current) for r in rows] == [
        (2, "second", False),
        (2, "second, better", True),
    ]
    assert t.store.conversations[-1].forks == t.engine.conversation.forks
    t.say("/branch 1")
    assert t.texts() == ["first", "A1", "second", "A2", "third", "A3"]
    assert "switched to branch 1: turn 2, version 1 of 2 (3 turns now)" in t.view.infos
    t.say("/branches")
    title, table = t.view.tables[-1]
    assert title is not None and title.startswith("Branches")
    assert [row[0] for row in table] == ["1*", "2"]


def test_edit_defaults_to_the_last_message_and_checks_its_number() -> None:
    t = Tools()
    assert t.say("/edit").error is not None
    assert t.view.errors[-1] == "nothing to edit yet: the conversation is empty"
    t.chat("only", "A")
    assert t.say("/edit").prefill == "only"
    t.say("/edit 5")
    assert t.view.errors[-1] == "no message 5: the conversation has 1"
    t.say("/edit x")
    assert t.view.errors[-1].startswith("usage: /edit [N]")


def test_anything_but_a_message_cancels_an_edit() -> None:
    t = Tools()
    t.files.files.update({"a.py": b"a = 1\n", "waiting.md": b"w\n"})
    t.say("q1 @a.py", "A1")
    t.chat("q2", "A2")
    t.say("/attach waiting.md")
    t.say("/edit 1")
    assert [s.attachment.path for s in t.engine.pending] == ["a.py"]
    t.say("/settings")
    assert "(the edit was cancelled; the message is unchanged)" in t.view.infos
    # what was waiting before the /edit is waiting again
    assert [s.attachment.path for s in t.engine.pending] == ["waiting.md"]
    t.say("/detach")
    t.say("new question", "A3")
    assert t.texts()[1:] == ["A1", "q2", "A2", "new question", "A3"]
    assert t.engine.branches() == []
    t.say("/edit 1")
    t.say("")  # Ctrl-C at the prompt clears the line: the edit goes too
    t.say("another", "A4")
    assert t.engine.branches() == [] and len(t.texts()) == 8
    assert t.texts()[0] == "q1 @a.py\n\na.py:\n```python\na = 1\n```"


def test_a_failed_edit_keeps_the_new_message_for_retry_and_the_old_branch() -> None:
    from chatrepl.core.errors import ApiError

    t = Tools()
    t.chat("q1", "A1")
    t.say("/edit 1")
    t.backend.fail(ApiError("HTTP 500: boom", status=500))
    t.say("q1 edited")
    assert t.texts() == ["q1 edited"]
    assert [r.first_line for r in t.engine.branches()] == ["q1", "q1 edited"]
    t.say("/retry", "A1'")
    assert t.texts() == ["q1 edited", "A1'"]


def test_branches_survive_the_transcript() -> None:
    t = Tools()
    t.chat("q1", "A1", "q2", "A2")
    t.say("/edit 1")
    t.say("q1b", "B1")
    text = dumps(t.engine.conversation, settings_of(t.engine.settings))
    again = Tools()
    again.engine.load(loads(text, name="t.json"), source="transcript t.json")
    again.say("/branch 1")
    assert again.texts() == ["q1", "A1", "q2", "A2"]


# --- /continue ----------------------------------------------------------------------


def test_continue_appends_to_a_reply_cut_at_max_tokens() -> None:
    t = Tools(max_tokens=5)
    t.say("tell me", "Once upon", finish="length")
    t.say("/continue", " a time.")
    assert t.sent[-1] == {"role": "user", "content": CONTINUE_PROMPT}
    assert t.sent[-2] == {"role": "assistant", "content": "Once upon"}
    assert t.texts() == ["tell me", "Once upon a time."]
    stats = t.engine.conversation.messages[-1].stats
    assert stats is not None and stats.finish_reason == "stop"
    t.say("/continue")
    assert t.view.errors[-1] == (
        "the last reply is complete (finish reason stop); nothing to continue"
    )
    assert len(t.backend.payloads) == 2


def test_continue_needs_a_reply() -> None:
    t = Tools()
    t.say("/continue")
    assert t.view.errors[-1] == "nothing to continue: the last message is not a reply"


# --- /fork, /name, /sessions rm -----------------------------------------------------


def test_fork_goes_on_in_a_new_file_that_names_its_parent() -> None:
    t = Tools()
    t.chat("q1", "A1", "q2", "A2", "q3", "A3")
    parent = t.store.current
    assert parent is not None
    t.say("/fork 2 try another way")
    assert t.store.new_sessions == 1
    forked = t.store.conversations[-1]
    assert [m.content for m in forked.messages] == ["q1", "A1", "q2", "A2"]
    assert forked.parent == parent.name and forked.name == "try another way"
    assert t.store.current != parent
    assert t.view.infos[-1].startswith("forked “try another way”: 2 turns to ")
    t.say("/fork 9")
    assert t.view.errors[-1] == "no turn 9: the conversation has 2"


def test_name_is_saved_and_shown() -> None:
    t = Tools()
    t.chat("q", "A")
    t.say("/name  my   project ")
    assert t.engine.conversation.name == "my project"
    assert t.store.conversations[-1].name == "my project"
    t.say("/name")
    assert t.view.infos[-1] == "name: my project"
    t.say("/name off")
    assert t.engine.conversation.name is None


def test_sessions_rm_asks_first_then_deletes() -> None:
    t = Tools()
    other = Path("/memory/sessions/other.jsonl")
    t.store._listing = [SessionInfo(other, 0.0, first_line="old chat")]
    outcome = t.say("/sessions rm 1")
    assert outcome.confirm is not None and t.store.removed == []
    assert "delete session 1" in outcome.confirm.question
    assert outcome.confirm.then == "/sessions rm 1 --yes"
    t.say(outcome.confirm.then)
    assert t.store.removed == [other]
    t.say("/sessions rm 7 --yes")
    assert t.view.errors[-1].startswith("no session 7")


# --- /set, /unset, roles -------------------------------------------------------------


def test_set_sends_parameters_and_shows_their_source() -> None:
    t = Tools()
    t.say("/set top_p 0.5")
    t.say('/set stop "###" END')
    t.say("/set response_format json")
    t.say('/set logit_bias {"50256": -100}')
    t.say("/set temperature 0.3")  # a setting of its own, through its parser
    t.say("hi", "A")
    body = t.backend.payloads[-1]
    assert body["top_p"] == 0.5 and body["stop"] == ["###", "END"]
    assert body["response_format"] == {"type": "json_object"}
    assert body["logit_bias"] == {"50256": -100} and body["temperature"] == 0.3
    stats = t.engine.conversation.messages[-1].stats
    assert stats is not None and stats.params == {
        "top_p": 0.5,
        "stop": ["###", "END"],
        "response_format": {"type": "json_object"},
        "logit_bias": {"50256": -100},
    }
    assert t.engine.sources["params.top_p"] == "/set"
    t.say("/unset top_p")
    t.say("again", "B")
    assert "top_p" not in t.backend.payloads[-1]
    t.say("/settings")
    rows = {row[0]: row for row in t.view.tables[-1][1]}
    assert rows["params.stop"][1:] == ('["###", "END"]', "/set")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("/set top_p 2", "top_p takes a number from 0 to 1, not 2"),
        ("/set seed 1.5", "seed takes a whole number, not 1.5"),
        ("/set reasoning_effort extreme", "reasoning_effort takes one of none, minimal"),
        ("/set logit_bias {oops}", "logit_bias: not valid JSON"),
        ("/set stream false", "stream is set by chatrepl itself"),
        ("/set top_p", "usage: /set top_p VALUE"),
        ("/set temperature 7", "temperature takes a number from 0 to 2, not '7'"),
        ("/unset nothing_set", "nothing_set is not set"),
    ],
)
def test_bad_parameters_are_one_line_and_change_nothing(line: str, error: str) -> None:
    t = Tools()
    t.say(line)
    assert t.view.errors[-1].startswith(error)
    assert t.engine.settings.params is None and t.engine.settings.temperature is None


def test_a_role_brings_its_prompt_model_and_params_and_takes_them_away() -> None:
    t = Tools()
    t.say("/role reviewer")
    s = t.engine.settings
    assert (s.role, s.system, s.model, s.params) == (
        "reviewer",
        "You review code.",
        "vision-2",
        {"top_p": 0.2},
    )
    t.say("/role poet")
    s = t.engine.settings
    assert (s.role, s.system, s.params) == ("poet", "You write verse.", None)
    t.say("hi", "A")
    assert t.sent[0] == {"role": "system", "content": "You write verse."}
    t.say("/role off")
    assert t.engine.settings.role is None and t.engine.settings.system is None
    t.say("/role revewer")
    assert t.view.errors[-1] == "unknown role 'revewer' (did you mean 'reviewer'?)"
    t.say("/role")
    assert [row[1] for row in t.view.tables[-1][1]] == ["reviewer", "poet"]


# --- /copy and /code --------------------------------------------------------------------

REPLY = "Two ways:\n\n```python\nprint('a')\n```\n\nor\n\n~~~bash\necho b\necho c\n~~~\n"


def test_copy_the_reply_or_one_code_block() -> None:
    t = Tools()
    t.say("how?", REPLY)
    t.say("/copy")
    assert t.clipboard.copied[-1] == REPLY
    assert t.view.infos[-1] == f"copied reply 1 ({len(REPLY)} characters) via OSC 52"
    t.say("/copy code 2")
    assert t.clipboard.copied[-1] == "echo b\necho c"
    t.say("/code")
    assert t.view.tables[-1][1] == [
        ("1", "python", "1 line", "print('a')"),
        ("2", "bash", "2 lines", "echo b"),
    ]
    t.say("/copy code")
    assert t.view.errors[-1].startswith("reply 1 has 2 code blocks: /copy code K")
    t.say("/copy code 3")
    assert t.view.errors[-1].startswith("no code block 3")
    t.say("/copy 4")
    assert t.view.errors[-1] == "no reply 4: the conversation has 1"


def test_copy_says_when_no_clipboard_took_it() -> None:
    t = Tools()
    t.clipboard.report = type(t.clipboard.report)((), ("no clipboard tool",))
    t.say("q", "answer")
    t.say("/copy")
    assert t.view.errors[-1] == "could not copy: no clipboard tool"


# --- /attach and @path ------------------------------------------------------------------


def test_attached_text_joins_the_next_message_as_a_fenced_block() -> None:
    t = Tools()
    t.files.files["src/app.py"] = b"print('hi')\n"
    t.say("/attach src/app.py")
    assert t.backend.payloads == []  # attaching sends nothing by itself
    assert t.view.infos[0].startswith("attached src/app.py (12 B, python, ~3 tokens)")
    t.say("what does it do?", "It prints.")
    content = t.sent[-1]["content"]
    assert content == "what does it do?\n\nsrc/app.py:\n```python\nprint('hi')\n```"
    message = t.engine.conversation.messages[0]
    assert [a.path for a in message.attachments] == ["src/app.py"]
    assert t.engine.pending == ()


def test_at_path_in_a_message_attaches_it_and_a_missing_one_sends_nothing() -> None:
    t = Tools()
    t.files.files["notes.md"] = b"# Notes\n"
    t.say("summarise @notes.md, please", "Done.")
    assert t.sent[-1]["content"].endswith("notes.md:\n```markdown\n# Notes\n```")
    outcome = t.say("and @missing.txt too")
    assert outcome.prefill == "and @missing.txt too"
    assert t.view.errors[-1].startswith("@missing.txt: no such file or folder; nothing was sent")
    assert len(t.backend.payloads) == 1
    t.say("thanks @alice", "ok")  # not a path: just text
    assert t.sent[-1]["content"] == "thanks @alice"


def test_images_go_as_content_parts_only_to_models_that_take_them() -> None:
    t = Tools()
    t.files.files["shot.png"] = PNG
    t.say("/attach shot.png")
    assert t.view.errors[-1].startswith("model m1 does not take images (1 image here)")
    assert t.engine.pending == ()
    t.say("/model vision-1")
    t.say("/attach shot.png")
    assert "shot.png (24 B, PNG image, ~410 tokens)" in t.view.infos[-2]
    t.say("what is this?", "A chart.")
    parts = t.sent[-1]["content"]
    assert parts[0] == {"type": "text", "text": "what is this?"}
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == PNG
    assert list(t.files.kept.values()) == [PNG]  # kept once in the image folder
    # the image goes with every later turn; a text-only model now refuses to send
    t.say("/model m1")
    outcome = t.say("more?")
    assert outcome.prefill == "more?" and len(t.backend.payloads) == 1


def test_edit_keeps_the_attachments_of_the_message() -> None:
    t = Tools(model="vision-1")
    t.files.files.update({"a.py": b"x = 1", "b.png": PNG})
    t.say("/attach a.py b.png")
    t.say("look", "Seen.")
    outcome = t.say("/edit 1")
    assert outcome.prefill == "look"  # the file's block is not in the prompt
    assert [s.attachment.path for s in t.engine.pending] == ["a.py", "b.png"]
    t.say("look again", "Seen again.")
    parts = t.sent[-1]["content"]
    assert parts[0]["text"] == "look again\n\na.py:\n```python\nx = 1\n```"
    assert parts[1]["type"] == "image_url"


def test_attach_limits_and_detach() -> None:
    t = Tools(attach_max_file=10, attach_max_files=2)
    t.files.files.update(
        {"big.txt": b"x" * 11, "a": b"1", "b": b"2", "c": b"3", "bin": b"\x00\x01"}
    )
    t.say("/attach big.txt")
    assert t.view.errors[-1] == "big.txt: 11 B is over the 10 B file limit; nothing was attached"
    t.say("/attach a b c")
    assert t.view.errors[-1] == "c: over the limit of 2 files a message; nothing was attached"
    assert t.engine.pending == ()  # all or nothing
    t.say("/attach bin")
    assert t.view.errors[-1] == "bin: binary"
    t.say("/attach a")
    t.say("/attachments")
    assert t.view.tables[-1][1][-1][:3] == ("total", "1 B", "1 files")
    t.say("/detach")
    assert t.view.infos[-1] == "detached 1 file" and t.engine.pending == ()
    t.say("/detach")
    assert t.view.errors[-1] == "nothing to detach"


# --- /editor ------------------------------------------------------------------------


def test_editor_puts_what_was_written_in_the_prompt() -> None:
    t = Tools()
    outcome = t.say("/editor draft")
    assert t.editor.seen == ["draft"] and outcome.prefill == "draft (edited)"
    t.editor.change = None
    outcome = t.say("/editor")
    assert outcome.prefill is None
    assert t.view.errors[-1] == "no editor: set $VISUAL or $EDITOR"


def test_transcript_of_an_attached_conversation_reloads_exactly() -> None:
    t = Tools(model="vision-1")
    t.files.files.update({"a.py": b"x = 1\n", "b.png": PNG})
    t.say("/attach a.py b.png")
    t.say("look", "Seen.")
    text = dumps(t.engine.conversation, settings_of(t.engine.settings))
    loaded: Transcript = loads(text, name="t.json")
    assert loaded.conversation == t.engine.conversation
    again = Tools(model="vision-1")
    again.files.kept = t.files.kept  # the same image folder
    again.engine.load(loaded, source="transcript")
    again.say("and now?", "Still.")
    assert again.sent[0]["content"][1] == t.sent[0]["content"][1]  # the same image
    assert isinstance(t.view.shown[0], TextDelta)


def test_at_in_code_or_a_decorator_is_not_a_file() -> None:
    t = Tools()
    text = 'why?\n```python\n@app.route("/users")\ndef users(): ...\n```\nsee `@x.py`'
    t.say(text, "Because.")
    assert t.sent[-1]["content"] == text
    t.say('and @app.get("/x")', "ok")  # not a path: sent as it is
    assert t.view.errors == []


def test_editing_a_message_that_starts_with_a_slash_keeps_it_a_message() -> None:
    t = Tools()
    t.say("//etc/hosts is what?", "A file.")
    assert t.say("/edit").prefill == "//etc/hosts is what?"


def test_a_message_that_cannot_go_comes_back_as_typed() -> None:
    t = Tools()
    assert t.say("//x @missing.py").prefill == "//x @missing.py"
