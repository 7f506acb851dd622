"""Where a streamed markdown reply can be cut: finished top-level blocks vs. the live tail.

Pure functions over text; no terminal. The renderer prints every finished block once
into scrollback and redraws only the unfinished tail, so it needs to know where the
finished part ends. It parses only the uncommitted tail, with the same block grammar
rich.markdown uses (CommonMark + tables), and trusts the top-level tokens' line maps:

- every top-level block except the last is finished: once a later block has started on
  a whole line, nothing appended afterwards can change an earlier one;
- only whole lines are parsed, because a partial line can still turn into something
  else ("#" is an empty heading that interrupts a paragraph, "#x" is not);
- a block boundary is a point where the parser has no open containers, so parsing the
  tail alone gives the same blocks as parsing the whole reply.

Known limit: a link reference definition (`[x]: /url`) only resolves links in the
same committed chunk. Chat models practically never emit them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Blocks whose preview may be cut to their last lines without changing what they are.
CODE_KINDS = frozenset({"fence", "code_block"})


@lru_cache(maxsize=1)
def _block_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # rich.markdown uses MarkdownIt() (the commonmark preset) + table + strikethrough.
    # Only block boundaries matter here, so the costly inline pass is switched off.
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("inline")


@dataclass(frozen=True, slots=True)
class Cut:
    """How much of a text is made of finished top-level blocks."""

    end: int  # text[:end] is finished blocks (0 when none is)
    last_kind: str | None  # token type of the last finished block, e.g. "paragraph_open"
    live_kind: str | None  # token type of the first unfinished block, if it has a whole line


@dataclass(frozen=True, slots=True)
class Blocks:
    """The finished top-level blocks at the start of a text, one by one."""

    ends: list[tuple[int, str]]  # (end offset, token type) of each finished block, in order
    live_kind: str | None  # token type of the first unfinished block, if it has a whole line

    @property
    def end(self) -> int:
        """Where the finished blocks end (0 when none is)."""
        return self.ends[-1][0] if self.ends else 0


def find_blocks(text: str) -> Blocks:
    """The finished top-level blocks of `text`; a block runs to where the next one starts."""
    complete = text[: text.rfind("\n") + 1]
    if not complete:
        return Blocks([], None)
    starts = [
        token
        for token in _block_parser().parse(complete)
        if token.level == 0 and token.nesting >= 0 and token.map
    ]
    if not starts:
        return Blocks([], None)
    ends: list[tuple[int, str]] = []
    pos, line = 0, 0
    for block, following in pairwise(starts):
        assert following.map is not None
        pos = _advance(complete, pos, following.map[0] - line)
        line = following.map[0]
        ends.append((pos, block.type))
    return Blocks(ends, starts[-1].type)


_ITEM = re.compile(r"([-*+]|\d{1,9}([.)]))( +)\S")  # a list item's first line, column 0
_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")


def still_open(kind: str | None, tail: str, parsed: int, complete: int) -> bool:
    """Whether `tail`, one open block of `kind` when its first `parsed` characters were
    parsed, surely still is exactly that after its lines up to `complete` (so parsing it
    again can be skipped: a growing list or table would be parsed again at every line).

    Only the plainest cases, each after a line that is not blank: another row of a table
    starting with `|`; in a list, another item of the same list at column 0 (same bullet,
    or the same delimiter after its number; not a thematic break like `- - -`), or a line
    indented at least as far as the last item's text (it belongs to that item, whatever
    it is), in a list made only of such lines and blank ones. Anything else (tabs, lazy
    lines, empty items, reference definitions, which leave no token) gives False.
    """
    if complete <= parsed or parsed <= 0 or tail[parsed - 1] != "\n":
        return False
    last = tail[tail.rfind("\n", 0, parsed - 1) + 1 : parsed - 1]
    if not last.strip() or "\t" in tail:
        return False
    if kind == "table_open":
        return all(line.startswith("|") for line in tail[parsed : complete - 1].split("\n"))
    if kind not in ("bullet_list_open", "ordered_list_open"):
        return False
    first = _ITEM.match(tail)
    if first is None or (first.group(2) is None) != (kind == "bullet_list_open"):
        return False
    marker = first.group(2) or first.group(1)  # the delimiter, or the bullet
    indent = 0  # where the text of the last item begins
    new = tail[:parsed].count("\n")
    for number, line in enumerate(tail[: complete - 1].split("\n")):
        item = _ITEM.match(line)
        if item is not None and not _RULE.fullmatch(line):
            if (item.group(2) or item.group(1)) != marker:
                return False  # another kind of item: another list
            spaces = len(item.group(3))
            indent = len(item.group(1)) + (spaces if spaces <= 4 else 1)
            continue
        if not line.strip():
            if number >= new:
                return False
            continue  # a blank line between items or inside one (a loose list)
        if len(line) - len(line.lstrip(" ")) < indent:
            return False  # not under the last item's text (lazy, or an item of its own)
    return True


def find_cut(text: str) -> Cut:
    """Split `text` after its last finished top-level block."""
    blocks = find_blocks(text)
    if not blocks.ends:
        return Cut(0, None, blocks.live_kind)
    return Cut(blocks.end, blocks.ends[-1][1], blocks.live_kind)


def code_block(source: str) -> tuple[str, str] | None:
    """The code and lexer name of the code block `source` is, as rich.markdown takes them;
    None unless `source` is that one block (the reply's last piece, queued whole when the
    stream ends, can be a closed fence with a paragraph after it)."""
    tops = [t for t in _block_parser().parse(source) if t.level == 0 and t.nesting >= 0]
    if len(tops) != 1 or tops[0].type not in CODE_KINDS:
        return None
    lexer = (tops[0].info or "").partition(" ")[0]
    return tops[0].content.rstrip(), lexer or "text"


def _advance(text: str, pos: int, lines: int) -> int:
    for _ in range(lines):
        pos = text.index("\n", pos) + 1
    return pos


def line_offset(text: str, line: int) -> int:
    """The index where line number `line` (0-based) of `text` starts."""
    pos = 0
    for _ in range(line):
        pos = text.index("\n", pos) + 1
    return pos


def preview_source(tail: str, kind: str | None, max_lines: int) -> str:
    """The part of an unfinished tail worth rendering live: a long code block keeps only
    its opening fence and last lines, so each refresh costs the same however long it is."""
    if kind not in CODE_KINDS or tail.count("\n") <= max_lines + 1:
        return tail
    start = len(tail)
    for _ in range(max_lines):
        start = tail.rindex("\n", 0, start)
    body = tail[start + 1 :]
    if kind == "fence":
        return tail[: tail.index("\n") + 1] + body
    return body


@dataclass(frozen=True, slots=True)
class OpenFence:
    """A fenced code block at the start of a tail whose closing fence has not come yet."""

    lexer: str  # the first word of the info string, as rich.markdown picks it
    lines: list[str]  # whole code lines so far
    partial: str  # the code line being written


_FENCE_OPENER = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


def open_fence(tail: str) -> OpenFence | None:
    """The code block the tail starts with, if it is a fence still open."""
    first_end = tail.find("\n")
    match = _FENCE_OPENER.fullmatch(tail[:first_end]) if first_end >= 0 else None
    if match is None:
        return None
    marker, info = match.groups()
    if marker[0] == "`" and "`" in info:
        return None  # not a fence at all (CommonMark: a backtick fence's info has none)
    closing = rf"^ {{0,3}}{marker[0]}{{{len(marker)},}}[ \t]*$"
    if re.search(closing, tail[first_end + 1 :], re.MULTILINE):
        return None
    lines = tail[first_end + 1 :].split("\n")
    return OpenFence(info.strip().partition(" ")[0] or "text", lines[:-1], lines[-1])


class NewlineNormalizer:
    """Turns CRLF and lone CR into LF across chunk borders, as markdown-it does.

    Line numbers from the parser then index the kept text directly.
    """

    def __init__(self) -> None:
        self._held_cr = False

    def feed(self, chunk: str) -> str:
        """Normalize one chunk; a trailing CR is held until the next chunk shows its LF."""
        if self._held_cr:
            chunk = "\r" + chunk
        self._held_cr = chunk.endswith("\r")
        if self._held_cr:
            chunk = chunk[:-1]
        if "\r" not in chunk:
            return chunk
        return chunk.replace("\r\n", "\n").replace("\r", "\n")

    def flush(self) -> str:
        """Whatever is still held at the end of the stream."""
        held, self._held_cr = self._held_cr, False
        return "\n" if held else ""
