"""The fenced code blocks of a reply, for `/code` and `/copy code K`. Pure.

CommonMark's rules for fences: three or more backticks or tildes, indented at most
three spaces; the closing fence uses the same character, at least as many of them,
and nothing after; an unclosed block runs to the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """One fenced block: its language (the info string's first word) and its code,
    without a final newline (pasted into a shell, that newline would run it)."""

    language: str
    code: str

    @property
    def lines(self) -> int:
        """How many lines of code it holds."""
        return self.code.count("\n") + 1 if self.code else 0


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced code block in `text`, in order; the code without its fences."""
    blocks: list[CodeBlock] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        opening = _OPEN.match(lines[i])
        if opening is None or (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            i += 1
            continue
        indent, fence, info = len(opening.group(1)), opening.group(2), opening.group(3)
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        i += 1
        while i < len(lines) and not closing.match(lines[i]):
            # content lines lose up to the opening fence's indentation
            line = lines[i]
            strip = min(indent, len(line) - len(line.lstrip(" ")))
            body.append(line[strip:])
            i += 1
        i += 1  # past the closing fence (or the end)
        code = "\n".join(body)
        words = info.strip().split()
        blocks.append(CodeBlock(words[0] if words else "", code))
    return blocks
