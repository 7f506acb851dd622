"""The toolbar and /settings in a real terminal at several widths, read through the
emulator with cursor-position requests answered (prompt_toolkit draws its toolbar only
then): whole parts only, the model always, counts that agree with their nouns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakeserver import FakeServer
from terminal import Terminal, chat_env

MODEL = "claude-4-5-sonnet"


def toolbar(term: Terminal) -> str:
    return "".join(cell.data for cell in term.toolbar_cells()).rstrip()


@pytest.mark.parametrize("cols", [100, 60, 40])
def test_the_toolbar_keeps_whole_parts_at_any_width(
    fake_server: FakeServer, started: list[Terminal], cols: int
) -> None:
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID=MODEL, COLUMNS=str(cols))
    term = Terminal([], env, cols=cols, rows=20, answer_cpr=True)
    started.append(term)
    term.wait_for("0 turns")
    host = fake_server.url.split("//")[1]
    whole = {MODEL, "temperature default", "max_tokens off", host, "/help"}
    first, second = term.text().split("\n")[:2]
    assert first.startswith("chatrepl ") and len(first) < cols  # not wrapped by the terminal
    assert f"{MODEL} at {host}" in first + second  # on the second line at 40 columns
    term.type("hello")
    term.wait_for("1 turn")
    line = toolbar(term)
    assert line.startswith(f" {MODEL} · ")
    # the window of MODEL is known: `5 / 200k · <1 %`, or `<1 %` when narrow
    meter = re.search(r" · ((\d+ / 200k · )?<?\d+ %)", line)
    assert meter is not None, line
    parts = line[1:].replace(meter.group(0), "").split(" · ")
    assert "1 turn" in parts and "1 turns" not in line
    assert set(parts) <= whole | {"1 turn"}, line  # whole parts only, nothing cut
    assert len(line) < cols
    if cols <= 60:
        assert "1 turn" in parts  # this goes last (at 40, /help has gone)
        assert "temperature default" not in parts  # this went first
        assert ("/help" in parts) == (cols == 60)
    else:
        assert set(parts) >= {MODEL, host, "temperature default", "1 turn", "/help"}
    term.type("again")
    term.wait_for("2 turns")


@pytest.mark.parametrize("cols", [60, 40])
def test_settings_fold_a_long_source_onto_its_own_line(
    fake_server: FakeServer, started: list[Terminal], tmp_path: Path, cols: int
) -> None:
    folder = tmp_path / "a folder with a long name" / "and-another-one-below-it"
    folder.mkdir(parents=True)
    config = folder / "config.toml"
    config.write_text('model = "m"\ntemperature = 0.5\n')
    env = chat_env(fake_server.url, CHATREPL_CONFIG=str(config), COLUMNS=str(cols))
    term = Terminal([], env, cols=cols, rows=40, answer_cpr=True)
    started.append(term)
    term.wait_for("/help")
    term.type("/settings")
    screen = term.wait_for_after("/settings", "profile")
    lines = screen.split("\n")
    assert "…" not in screen.replace("inf-…cdef", "")  # nothing cut (but the masked key)
    row = next(n for n, line in enumerate(lines) if line.strip().startswith("model "))
    assert lines[row].split() == ["model", "m"]  # the value stays in its column
    below = []
    for line in lines[row + 1 :]:
        if not line.startswith("      "):
            break
        below.append(line.strip())
    # the source, on lines of its own under its row, whole once put back together
    assert f"config {config}".replace(" ", "") == "".join(below).replace(" ", "")
    assert [line for line in lines if len(line) >= cols] == []


def test_help_at_sixty_columns_groups_aliases_and_lists_the_keys(
    fake_server: FakeServer, started: list[Terminal]
) -> None:
    env = chat_env(fake_server.url, INFERENCE_MODEL_ID="m", COLUMNS="60")
    term = Terminal([], env, cols=60, rows=40, answer_cpr=True)
    started.append(term)
    term.wait_for("/help")
    term.type("/help")
    screen = term.wait_for_after("> /help", "Ctrl-Z")
    lines = [" ".join(line.split()) for line in screen.split("\n")]
    assert "/exit, /quit, /q leave (Ctrl-D works too)" in lines  # one line for all three
    assert sum("/quit" in line for line in lines) == 1
    keys = lines[lines.index("Keys") :]
    for key in ("Enter send", "Esc Enter, Alt-Enter a new", "Tab complete", "Ctrl-D leave"):
        assert any(line.startswith(key) for line in keys), key
    # prose wraps in its column, under its first line (here: /retry's help)
    raw = screen.split("\n")
    row = next(n for n, line in enumerate(lines) if line.startswith("/retry, /r [MODEL] resend"))
    start = raw[row].index("resend")
    for below in raw[row + 1 : row + 3]:
        assert below[:start].strip() == "" and below[start] != " "
    assert " ".join(lines[row : row + 3]).endswith(
        "resend the last message, replacing its reply (with MODEL: both, side by side)"
    )
    assert screen.count("…") == 1 and "json, …)" in screen  # the /set help's own, no cut
    assert [line for line in screen.split("\n") if len(line) >= 60] == []
