"""The prompt adapter: completion, key bindings and the secret-filtering history."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.keys import Keys
from prompt_toolkit.output import DummyOutput

from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.commands.registry import Command
from chatrepl.ui.paste import PasteParser, fast_paste
from chatrepl.ui.prompt import ChatCompleter, PromptReader, SecretFilteringHistory

MODELS = ["claude-4-5-haiku", "claude-4-5-sonnet", "gpt-4o-mini"]
FILE_COMMAND = Command("save", lambda engine, args: None, "save", "[PATH]", completes="paths")


def complete(text: str, tmp_path: Path | None = None) -> list[tuple[str, str]]:
    completer = ChatCompleter([*builtin_commands(), FILE_COMMAND], lambda: MODELS)
    found = completer.get_completions(Document(text, len(text)), CompleteEvent(True))
    return [(c.text, c.display_meta_text) for c in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/mo", ["/model", "/models"]),
        ("/te", ["/temperature"]),
        ("/max", ["/max_tokens"]),
        ("/q", ["/quit"]),  # a command once, by its first name that fits
        ("/zzz", []),
        ("hello /mo", []),
        ("//mo", []),
    ],
)
def test_command_names_complete(text: str, expected: list[str]) -> None:
    assert [t for t, _ in complete(text)] == expected


def test_command_completion_shows_its_help() -> None:
    metas = dict(complete("/retr"))
    assert metas == {
        "/retry": "resend the last message, replacing its reply (with MODEL: both, side by side)"
    }


def test_model_names_complete_after_model() -> None:
    assert [t for t, _ in complete("/model claude-4-5-s")] == ["claude-4-5-sonnet"]
    assert [t for t, _ in complete("/m gp")] == ["gpt-4o-mini"]


def test_paths_complete_for_file_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "chat-one.json").write_text("{}")
    (tmp_path / "chat-two.md").write_text("")
    monkeypatch.chdir(tmp_path)
    got = sorted(t for t, _ in complete("/save chat-"))
    assert got == ["one.json", "two.md"]


def test_history_never_stores_a_key(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history"
    history = SecretFilteringHistory(path, lambda: ["my-secret-value-123"])
    history.store_string("hello there")
    history.store_string("my key is inf-abcdefghijklmnopqrstuvwxyz012345")
    history.store_string("export X=sk-proj-ABCDEFGHIJKLMNOPQRSTUV")
    history.store_string("the current key my-secret-value-123 leaked")
    text = path.read_text()
    assert "hello there" in text
    assert "inf-" not in text and "sk-proj" not in text and "my-secret" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def read_with_keys(keys: str, tmp_path: Path) -> str | None:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        reader = PromptReader(
            history_path=tmp_path / "history",
            commands=builtin_commands(),
            models=lambda: MODELS,
            toolbar=lambda: "toolbar",
        )
        pipe.send_text(keys)
        return reader.read()


def test_enter_sends_and_escape_enter_inserts_a_newline(tmp_path: Path) -> None:
    assert read_with_keys("first line\x1b\rsecond line\r", tmp_path) == "first line\nsecond line"


def test_bracketed_paste_with_newlines_stays_one_message(tmp_path: Path) -> None:
    pasted = "\x1b[200~line one\nline two\r\nline three\x1b[201~\r"
    assert read_with_keys(pasted, tmp_path) == "line one\nline two\nline three"


def test_ctrl_d_on_an_empty_line_ends_input(tmp_path: Path) -> None:
    assert read_with_keys("\x04", tmp_path) is None


def test_ctrl_c_clears_the_line(tmp_path: Path) -> None:
    assert read_with_keys("half typed\x03", tmp_path) == ""


# --- large pastes, odd keys, bytes that are not UTF-8 --------------------------------


def paste_keys(data: str, piece: int) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    parser = PasteParser(lambda key: keys.append((str(key.key), key.data)))
    for start in range(0, len(data), piece):
        parser.feed(data[start : start + piece])
    parser.flush()
    return keys


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 6, 7, 1024])
def test_a_paste_is_read_in_one_piece_however_the_reads_fall(piece: int) -> None:
    # the end mark split across reads, keys before and after the paste
    data = "ab\x1b[200~line one\nline \x1b[2two\x1b[201~cd\x1b[200~again\x1b[201~e"
    keys = paste_keys(data, piece)
    pastes = [text for key, text in keys if key == str(Keys.BracketedPaste)]
    typed = "".join(text for key, text in keys if key != str(Keys.BracketedPaste))
    assert pastes == ["line one\nline \x1b[2two", "again"]
    assert typed == "abcde"


def test_the_prompt_reads_pastes_with_the_linear_parser(tmp_path: Path) -> None:
    # prompt_toolkit's own parser re-scans the whole paste on every read: 5 MB took 12 s
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        PromptReader(
            history_path=None, commands=[], models=lambda: [], toolbar=lambda: "", input=pipe
        )
        assert isinstance(pipe.vt100_parser, PasteParser)


def test_ctrl_space_is_ignored_and_the_line_kept(tmp_path: Path) -> None:
    assert read_with_keys("abc\x00def\r", tmp_path) == "abcdef"


def test_history_keeps_a_line_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "history"
    history = SecretFilteringHistory(path, lambda: [])
    history.store_string("caf\udce9")  # how Python keeps an undecodable byte
    assert "caf\ufffd" in path.read_text(encoding="utf-8")


# --- attachments, roles, parameters, the editor, prefill, confirmation -------------------


def test_attach_and_at_complete_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes-one.md").write_text("")
    (tmp_path / "notes-two.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    assert sorted(t for t, _ in complete("/attach a.py notes-")) == ["one.md", "two.txt"]
    assert sorted(t for t, _ in complete("please read @notes-t")) == ["wo.txt"]
    assert complete("an email@notes-") == []  # only an @ that starts a word
    assert complete("plain notes-") == []


def test_roles_and_parameter_names_complete() -> None:
    completer = ChatCompleter(
        builtin_commands(),
        lambda: [],
        roles=lambda: ["reviewer", "poet"],
        params=lambda: ["top_p", "temperature", "stop"],
    )

    def names(text: str) -> list[str]:
        found = completer.get_completions(Document(text, len(text)), CompleteEvent(True))
        return [c.text for c in found]

    assert names("/role re") == ["reviewer"]
    assert names("/set t") == ["top_p", "temperature"]
    assert names("/unset st") == ["stop"]
    assert names("/set top_p 0") == []  # only the key completes


def test_the_toolbar_shows_the_role_the_name_and_what_is_attached() -> None:
    from chatrepl.core.settings import Settings
    from chatrepl.ui.toolbar import toolbar_text

    settings = Settings(url="https://h.example", model="m", role="reviewer", params={"top_p": 1.0})
    text = toolbar_text(settings, 3, name="my project", attached=2)
    assert text == (
        " m · role reviewer · temperature default · max_tokens off · +1 param · h.example · "
        "“my project” · 3 turns · 2 attached · /help"
    )
    assert toolbar_text(Settings(model="m"), 0) == (
        " m · temperature default · max_tokens off · ? · 0 turns · /help"
    )


def test_the_toolbar_meter_sits_by_the_model_and_turns_amber_past_eighty_percent() -> None:
    from prompt_toolkit.formatted_text import to_plain_text

    from chatrepl.core.settings import Settings
    from chatrepl.ui.toolbar import WARN_STYLE, toolbar_text

    settings = Settings(model="m")
    calm = toolbar_text(settings, 2, meter="12.4k / 200k · 6 %")
    assert calm == (
        " m · 12.4k / 200k · 6 % · temperature default · max_tokens off · ? · 2 turns · /help"
    )
    hot = toolbar_text(settings, 9, meter="170k / 200k · 85 %", warn=True)
    assert (WARN_STYLE, " 170k / 200k · 85 % ") in list(hot)
    assert to_plain_text(hot) == (
        " m ·  170k / 200k · 85 %  · temperature default · max_tokens off · ? · 9 turns · /help"
    )


def test_the_toolbar_counts_grammatically() -> None:
    from chatrepl.core.settings import Settings
    from chatrepl.ui.toolbar import toolbar_text

    settings = Settings(model="m", params={"top_p": 1.0, "seed": 1})
    assert "· 1 turn ·" in str(toolbar_text(settings, 1))
    assert "· 0 turns ·" in str(toolbar_text(settings, 0))
    assert "· 2 turns ·" in str(toolbar_text(settings, 2))
    assert "· +2 params ·" in str(toolbar_text(settings, 2))


TOOLBAR_PARTS = (
    "claude-4-5-sonnet",
    "170k / 200k · 85 %",
    "role reviewer",
    "temperature 0.5",
    "max_tokens 400",
    "+1 param",
    "us.inference.heroku.com",
    "“a project”",
    "12 turns",
    "2 attached",
    "/help",
)


@pytest.mark.parametrize("width", [200, 120, 100, 80, 60, 50, 40, 30, 20])
@pytest.mark.parametrize("warn", [False, True])
def test_a_narrow_toolbar_drops_the_least_important_parts_whole(width: int, warn: bool) -> None:
    from prompt_toolkit.formatted_text import to_plain_text

    from chatrepl.core.settings import Settings
    from chatrepl.ui.toolbar import toolbar_text

    settings = Settings(
        url="https://us.inference.heroku.com",
        model="claude-4-5-sonnet",
        role="reviewer",
        temperature=0.5,
        max_tokens=400,
        params={"top_p": 1.0},
    )
    shown = toolbar_text(
        settings,
        12,
        name="a project",
        attached=2,
        meter="170k / 200k · 85 %",
        warn=warn,
        width=width,
    )
    text = to_plain_text(shown) if not isinstance(shown, str) else shown
    assert len(text) < width or text == " claude-4-5-sonnet"  # the last column stays free
    if "170k / 200k" not in text:  # the meter shrinks to its percentage first
        text = text.replace("85 %", "170k / 200k · 85 %")
    kept = [part for part in TOOLBAR_PARTS if part in text]
    rebuilt = " " + " · ".join(f" {p} " if warn and "%" in p else p for p in kept)
    assert text == rebuilt  # only whole parts, in their order
    assert "claude-4-5-sonnet" in kept  # never the model
    order = ["170k / 200k · 85 %", "2 attached", "12 turns", "/help", "“a project”"]
    wanted = [part for part in order if part in kept]
    assert wanted == order[: len(wanted)]  # what matters most goes last
    if width >= 60:
        assert {"12 turns", "/help", "170k / 200k · 85 %"} <= set(kept)


def test_a_model_wider_than_the_terminal_is_shortened_not_cut() -> None:
    from chatrepl.core.settings import Settings
    from chatrepl.ui.toolbar import toolbar_text

    shown = toolbar_text(Settings(model="a-very-long-model-name-indeed"), 1, width=16)
    assert shown == " a-very-long-m…"


def test_the_banner_drops_its_hints_before_it_would_wrap() -> None:
    from chatrepl.core.settings import Settings
    from chatrepl.ui.toolbar import banner

    settings = Settings(model="m", url="http://127.0.0.1:8080")
    assert banner(settings).endswith(" · /help for commands · Ctrl-D to quit")
    assert banner(settings, width=60).endswith("127.0.0.1:8080 · /help for commands")
    assert banner(settings, width=40).endswith(" · m at 127.0.0.1:8080")
    narrow = Settings(model="claude-4-5-sonnet", url="http://127.0.0.1:8080")
    assert banner(narrow, width=40) == "chatrepl 0.1.0\nclaude-4-5-sonnet at 127.0.0.1:8080"


def read_keys(keys: str, tmp_path: Path, **options) -> str | None:  # type: ignore[no-untyped-def]
    default = options.pop("default", "")
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        reader = PromptReader(
            history_path=tmp_path / "history",
            commands=builtin_commands(),
            models=lambda: MODELS,
            toolbar=lambda: "toolbar",
            **options,
        )
        pipe.send_text(keys)
        return reader.read(default=default)


def test_a_prefilled_prompt_keeps_the_cursor_at_the_end(tmp_path: Path) -> None:
    assert read_keys(" more\r", tmp_path, default="line one\nline two") == (
        "line one\nline two more"
    )


def test_ctrl_x_ctrl_e_hands_the_input_to_the_editor(tmp_path: Path) -> None:
    seen: list[str] = []

    def edit(text: str) -> str:
        seen.append(text)
        return text + " (from the editor)"

    import threading

    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        reader = PromptReader(
            history_path=None,
            commands=builtin_commands(),
            models=lambda: [],
            toolbar=lambda: "",
            edit=edit,
        )
        pipe.send_text("draft\x18\x05")
        # Enter once the editor has run (it runs in a thread while the prompt waits)
        threading.Timer(0.5, lambda: pipe.send_text("\r")).start()
        assert reader.read() == "draft (from the editor)"
    assert seen == ["draft"]


def test_confirm_takes_only_yes(tmp_path: Path) -> None:
    for answer, expected in [("y\r", True), ("yes\r", True), ("\r", False), ("no\r", False)]:
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
            reader = PromptReader(
                history_path=None, commands=[], models=lambda: [], toolbar=lambda: ""
            )
            pipe.send_text(answer)
            assert reader.confirm("delete it?") is expected, answer


def test_history_written_in_one_piece_reads_back_as_prompt_toolkit_wrote_it(
    tmp_path: Path,
) -> None:
    from prompt_toolkit.history import FileHistory

    path = tmp_path / "history"
    history = SecretFilteringHistory(path, lambda: [])
    history.store_string("one line")
    history.store_string("two\nlines\n")
    assert list(FileHistory(str(path)).load_history_strings()) == ["two\nlines\n", "one line"]


def test_a_paste_is_read_in_big_pieces_only_while_it_lasts() -> None:
    with create_pipe_input() as pipe:
        asked: list[int] = []

        def read(count: int = 1024) -> str:
            asked.append(count)
            return ""

        pipe.stdin_reader.read = read  # type: ignore[method-assign]
        fast_paste(pipe)
        pipe.stdin_reader.read()  # typing: prompt_toolkit's 1 KB
        pipe.vt100_parser.feed("\x1b[200~start of a paste")
        pipe.stdin_reader.read()  # inside a paste: 64 KB at a time
        pipe.vt100_parser.feed("end of it\x1b[201~")
        pipe.stdin_reader.read()
        assert asked == [1024, 65536, 1024]


def test_a_folder_completes_with_a_trailing_slash(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    (tmp_path / "project.txt").write_text("x")
    completer = ChatCompleter(builtin_commands(), lambda: [])
    for text in (
        f"/load {tmp_path}/proj",
        f"/attach a.txt {tmp_path}/proj",
        f"see @{tmp_path}/proj",
    ):
        found = [c.text for c in completer.get_completions(Document(text), CompleteEvent())]
        assert sorted(found) == ["ect.txt", "ects/"], text


def test_the_keys_help_lists_are_the_keys_the_prompt_binds() -> None:
    from chatrepl.core.commands.chat import KEYS
    from chatrepl.ui.prompt import _key_bindings

    bound = {binding.keys for binding in _key_bindings(lambda text: text).bindings}
    named = {name for name, _ in KEYS}
    assert ("escape", "c-m") in bound and "Esc Enter, Alt-Enter" in named
    assert ("c-x", "c-e") in bound and "Ctrl-X Ctrl-E" in named


def test_compare_completes_models_profiles_and_sets() -> None:
    completer = ChatCompleter(
        builtin_commands(), lambda: MODELS, specs=lambda: ["heroku:", "local:", "@rivals"]
    )

    def words(text: str) -> list[str]:
        found = completer.get_completions(Document(text, len(text)), CompleteEvent(True))
        return [c.text for c in found]

    assert words("/compare gpt-4o-mini cl") == ["claude-4-5-haiku", "claude-4-5-sonnet"]
    assert words("/compare he") == ["heroku:"]
    assert words("/compare heroku:claude-4-5-s") == ["heroku:claude-4-5-sonnet"]
    assert words("/compare @r") == ["@rivals"]
    assert words("/retry lo") == ["local:"]
    assert words("/model he") == []  # /model takes a model, not a spec


def test_the_toolbar_says_when_every_message_is_compared() -> None:
    from chatrepl.core.settings import Settings
    from chatrepl.ui.toolbar import toolbar_text

    settings = Settings(model="m", url="https://h.example")
    assert "compare on" not in str(toolbar_text(settings, 1))
    shown = str(toolbar_text(settings, 1, comparing=3, width=40))
    assert shown.startswith(" m · compare on (3) · ")  # kept while less important parts go
