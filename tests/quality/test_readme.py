"""The README's tables stay true: its commands are the registry's, its flags the parser's."""

from __future__ import annotations

import re
from pathlib import Path

from chatrepl.app.cli import build_parser
from chatrepl.core.commands.catalog import builtin_commands

README = Path(__file__).resolve().parents[2] / "README.md"


def table_after(heading: str, text: str) -> list[str]:
    """The first cells of the first table under `heading`."""
    section = text.split(f"\n{heading}\n", 1)[1]
    rows = []
    for line in section.split("\n"):
        if line.startswith("|"):
            rows.append(re.split(r"(?<!\\)\|", line)[1].strip())  # `\|` is a pipe in a cell
        elif rows:
            break
    return rows[2:]  # after the header and the --- row


def readme_commands(text: str) -> set[str]:
    names: set[str] = set()
    for cell in table_after("## Commands", text):
        names |= set(re.findall(r"`(/[a-z_?]+)", cell))
        names |= {f"/{alias}" for alias in re.findall(r"`/([a-z_?]+)`", cell)}
    return names


def readme_flags(text: str) -> set[str]:
    flags: set[str] = set()
    for cell in table_after("## Flags", text):
        flags |= set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", cell))
    return flags


def test_the_command_table_lists_every_command_and_alias_and_nothing_else() -> None:
    registry = {f"/{name}" for c in builtin_commands() for name in (c.name, *c.aliases)}
    assert readme_commands(README.read_text()) == registry


def test_the_flag_table_lists_every_flag_and_nothing_else() -> None:
    parser = build_parser()
    flags = {option for action in parser._actions for option in action.option_strings}
    assert readme_flags(README.read_text()) == flags


def test_the_table_readers_notice_a_missing_row() -> None:
    text = README.read_text()
    assert "/undo" in readme_commands(text)
    without = re.sub(r"\n\| `/undo` [^\n]*", "", text)
    assert "/undo" not in readme_commands(without)
    assert "--no-stream" in readme_flags(text)
    assert "--no-stream" not in readme_flags(re.sub(r"\n\| `--no-stream` [^\n]*", "", text))
