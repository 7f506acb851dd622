"""The clipboard (OSC 52 and the platform's tools) and the editor, with real programs:
fake `xclip`, `wl-copy`, `pbcopy`, `clip.exe` and editors are small scripts on PATH."""

from __future__ import annotations

import base64
import io
import os
import re
import sys
from pathlib import Path

import pytest

from chatrepl.adapters.clipboard import OSC52_LIMIT, TerminalClipboard, find_tool, osc52
from chatrepl.adapters.editor import TerminalEditor, editor_command
from chatrepl.core.errors import EditorError


def tool(folder: Path, name: str, body: str) -> Path:
    """An executable script `name` in `folder`."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport sys, os\n{body}\n")
    path.chmod(0o755)
    return path


def recorder(folder: Path, name: str, out: Path) -> None:
    """A fake clipboard tool that writes its stdin and arguments to `out`."""
    tool(
        folder,
        name,
        f"data = sys.stdin.buffer.read()\n"
        f"open({str(out)!r}, 'wb').write(repr(sys.argv[1:]).encode() + b'\\n' + data)",
    )


def decoded(raw: str) -> list[str]:
    """The texts of every OSC 52 sequence in `raw`, unwrapped from tmux/screen."""
    joined = raw.replace("\x1b\x1b", "\x1b")
    joined = re.sub(r"\x1b\\\x1bP", "", joined)  # screen's chunks, glued back
    return [
        base64.b64decode(m).decode("utf-8")
        for m in re.findall(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07", joined)
    ]


# --- OSC 52 ------------------------------------------------------------------------------


def test_osc52_plain_tmux_and_screen() -> None:
    text = "print('héllo')"
    plain, how = osc52(text, {"TERM": "xterm-256color"})
    b64 = base64.b64encode(text.encode()).decode()
    assert (plain, how) == (f"\x1b]52;c;{b64}\x07", "")
    tmux, how = osc52(text, {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "screen"})
    assert how == "tmux passthrough"
    assert tmux == f"\x1bPtmux;\x1b\x1b]52;c;{b64}\x07\x1b\\"
    screen, how = osc52("x" * 1000, {"STY": "123.pts-0.host"})
    assert how == "screen passthrough"
    chunks = re.findall(r"\x1bP(.*?)\x1b\\", screen, re.S)
    assert len(chunks) > 1 and all(len(c) <= 252 for c in chunks)
    assert decoded(screen) == ["x" * 1000]
    assert osc52("y", {"TERM": "screen-256color"})[1] == "screen passthrough"


def test_copy_writes_osc52_to_the_terminal_and_says_so() -> None:
    terminal = io.StringIO()
    report = TerminalClipboard(terminal=terminal, env={"PATH": ""}).copy("code")
    assert report.used == ("OSC 52",) and report.problems == ()
    assert decoded(terminal.getvalue()) == ["code"]


def test_text_too_long_for_osc52_is_not_sent_that_way() -> None:
    terminal = io.StringIO()
    text = "z" * (OSC52_LIMIT // 4 * 3 + 3)  # just over the limit once base64-encoded
    report = TerminalClipboard(terminal=terminal, env={"PATH": ""}).copy(text)
    assert report.used == () and terminal.getvalue() == ""
    assert report.problems[0].startswith("not sent by OSC 52: 100 KB of base64 is over")


def test_no_terminal_and_no_tool_is_one_problem() -> None:
    report = TerminalClipboard(terminal=None, env={"PATH": ""}).copy("x")
    assert report.used == ()
    assert report.problems == (
        "stdout is not a terminal (no OSC 52) and no clipboard tool was found "
        "(wl-copy, xclip, xsel, pbcopy, clip.exe)",
    )


# --- the platform's tools ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "env", "argv"),
    [
        ("xclip", {"DISPLAY": ":0"}, ["-selection", "clipboard"]),
        ("xsel", {"DISPLAY": ":0"}, ["--clipboard", "--input"]),
        ("wl-copy", {"WAYLAND_DISPLAY": "wayland-0"}, []),
        ("pbcopy", {}, []),
    ],
)
def test_the_session_s_clipboard_tool_gets_the_text(
    tmp_path: Path, name: str, env: dict[str, str], argv: list[str]
) -> None:
    out = tmp_path / "clip"
    recorder(tmp_path / "bin", name, out)
    full = {"PATH": str(tmp_path / "bin"), **env}
    report = TerminalClipboard(terminal=io.StringIO(), env=full).copy("ünïcode")
    assert report.used == ("OSC 52", name)
    args, _, data = out.read_bytes().partition(b"\n")
    assert args.decode() == repr(argv) and data.decode() == "ünïcode"


def test_x_tools_need_a_display(tmp_path: Path) -> None:
    recorder(tmp_path / "bin", "xclip", tmp_path / "clip")
    assert find_tool({"PATH": str(tmp_path / "bin")}) is None
    assert find_tool({"PATH": str(tmp_path / "bin"), "DISPLAY": ":1"}) is not None


def test_clip_exe_gets_utf16(tmp_path: Path) -> None:
    out = tmp_path / "clip"
    recorder(tmp_path / "bin", "clip.exe", out)
    report = TerminalClipboard(terminal=None, env={"PATH": str(tmp_path / "bin")}).copy("né")
    assert report.used == ("clip.exe",)
    assert out.read_bytes().partition(b"\n")[2].decode("utf-16") == "né"


def test_a_failing_tool_is_reported_and_osc52_still_goes(tmp_path: Path) -> None:
    tool(tmp_path / "bin", "xclip", "sys.stdin.read(); sys.exit(3)")
    terminal = io.StringIO()
    env = {"PATH": str(tmp_path / "bin"), "DISPLAY": ":0"}
    report = TerminalClipboard(terminal=terminal, env=env).copy("t")
    assert report.used == ("OSC 52",)
    assert report.problems == ("xclip failed (exit status 3)",)


def test_a_tool_that_stays_behind_does_not_hang_the_copy(tmp_path: Path) -> None:
    # xclip forks a child that keeps serving the selection, with the parent's stdio
    tool(
        tmp_path / "bin",
        "xclip",
        "sys.stdin.read()\nif os.fork() == 0:\n    import time; time.sleep(30)\nsys.exit(0)",
    )
    env = {"PATH": str(tmp_path / "bin"), "DISPLAY": ":0"}
    report = TerminalClipboard(terminal=None, env=env, timeout=10).copy("t")
    assert report.used == ("xclip",)


# --- the editor -------------------------------------------------------------------------


def test_the_editor_edits_and_the_final_newline_goes(tmp_path: Path) -> None:
    editor = tool(
        tmp_path / "bin",
        "fake-edit",
        "p = sys.argv[-1]\ntext = open(p).read()\n"
        "open(p, 'w').write(text.upper() + ' ' + sys.argv[1] + '\\n')",
    )
    env = {"PATH": str(tmp_path / "bin"), "EDITOR": f"{editor.name} --flag"}
    assert TerminalEditor(env=env).edit("draft\nline 2") == "DRAFT\nLINE 2 --flag"


def test_visual_wins_over_editor(tmp_path: Path) -> None:
    tool(tmp_path / "bin", "vis", "")
    tool(tmp_path / "bin", "ed2", "")
    env = {"PATH": str(tmp_path / "bin"), "VISUAL": "vis", "EDITOR": "ed2"}
    assert Path(editor_command(env)[0]).name == "vis"


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"EDITOR": "no-such-editor"}, "$EDITOR is 'no-such-editor', which is not an executable"),
        ({"VISUAL": "'unclosed"}, "$VISUAL cannot be read"),
        ({}, "no editor: set $VISUAL or $EDITOR"),
    ],
)
def test_a_missing_editor_is_one_line(tmp_path: Path, env: dict[str, str], problem: str) -> None:
    with pytest.raises(EditorError) as caught:
        TerminalEditor(env={"PATH": str(tmp_path), **env}).edit("x")
    assert str(caught.value).startswith(problem) and "\n" not in str(caught.value)


def test_a_failing_editor_leaves_the_text_alone(tmp_path: Path) -> None:
    tool(tmp_path / "bin", "bad-edit", "sys.exit(1)")
    env = {"PATH": str(tmp_path / "bin"), "EDITOR": "bad-edit"}
    with pytest.raises(EditorError, match="bad-edit exited with status 1; the input is unchanged"):
        TerminalEditor(env=env).edit("x")


def test_the_temp_file_is_removed(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    tool(tmp_path / "bin", "spy", f"open({str(seen)!r}, 'w').write(sys.argv[-1])")
    TerminalEditor(env={"PATH": str(tmp_path / "bin"), "EDITOR": "spy"}).edit("x")
    assert not os.path.exists(seen.read_text())
