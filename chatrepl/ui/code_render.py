"""Code blocks drawn a piece at a time, exactly as rich.markdown draws them whole.

rich.markdown's `CodeBlock` is `Syntax(code, lexer, theme, word_wrap=True, padding=1)`:
one highlighted `Text` split into lines, each line wrapped on its own, a blank row above
and below. Only the highlighting depends on earlier lines, and pygments hands its tokens
over one at a time, so a long block can be highlighted and drawn a few lines per refresh
(`FencePrinter`) with the same rows as drawing it at once: through rich a 20 KB block
costs ~0.2 s, too long to leave the screen still. Most lines fit the width in plain
ASCII, and their rows are made from the tokens directly, at a tenth of that cost; so
every finished block, small ones too, is drawn this way.

An open block is previewed from cached rows (`CodeRows`): lines only ever get appended,
so each refresh renders just the new ones, and a long block costs the same per refresh
as a short one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pygments.lexer import Lexer
    from pygments.token import _TokenType
    from rich.console import Console, ConsoleOptions, JustifyMethod
    from rich.segment import Segment
    from rich.style import Style
    from rich.syntax import SyntaxTheme
    from rich.text import Text

    from chatrepl.ui.mdstream import OpenFence

Line = list["Segment"]
CODE_THEME = "monokai"  # rich.markdown's default; previews and slices must match it


@lru_cache(maxsize=1)
def code_theme() -> SyntaxTheme:
    """The code theme, made once: each theme object caches the style of every token type,
    and a new one per render (what passing the theme's name does) costs ~1 ms a time."""
    from rich.syntax import Syntax

    return Syntax.get_theme(CODE_THEME)


@lru_cache(maxsize=32)
def _lexer(name: str) -> Lexer | str:
    """A pygments lexer by name, looked up once (a lookup costs milliseconds)."""
    from rich.syntax import Syntax

    return Syntax("", name).lexer or name


@lru_cache(maxsize=1)
def _given_text_syntax() -> type:
    """A Syntax that draws a Text highlighted beforehand (one slice of a long block)."""
    from rich.syntax import Syntax

    class GivenText(Syntax):
        def __init__(self, text: Text, code: str, **options: Any) -> None:
            super().__init__(code, "text", **options)
            self.given = text

        def highlight(self, code: str, line_range: Any = None) -> Text:
            return self.given

    return GivenText


@lru_cache(maxsize=1)
def _tab_size() -> int:
    """The tab size rich.markdown's code blocks use (Syntax's default)."""
    from rich.syntax import Syntax

    return Syntax("", "text").tab_size


class FencePrinter:
    """One finished code block, drawn a few lines at a time.

    A line in printable ASCII (tabs are expanded before highlighting) becomes its rows
    straight from pygments' tokens, as `_token_rows` says rich draws it; any other line
    (it holds a character whose width rich must measure) is drawn through rich's Syntax
    with its neighbours of the same kind.
    """

    def __init__(self, console: Console, options: ConsoleOptions, code: str, lexer: str) -> None:
        from rich.segment import Segment

        self.console = console
        self.options = options
        theme = code_theme()
        self._theme = theme
        self._tab_size = _tab_size()
        self._base: Style = theme.get_background_style()
        self._style_of = theme.get_style_for_token
        found = _lexer(lexer)  # looked up once per name, not once per block
        if isinstance(found, str):  # no such lexer: rich highlights it as plain text
            found = _lexer("text")
        assert not isinstance(found, str)
        # What Syntax._process_code does for a code block (never dedented).
        processed = (code + "\n").expandtabs(self._tab_size)
        self.lines = code.split("\n")  # each taken line is one line of code
        self._tokens: Iterator[tuple[_TokenType, str]] = _per_line(found.get_tokens(processed))
        self._next = 0  # lines drawn so far
        self._inner = options.max_width - 2  # code columns: one of padding each side
        self.pad_row: Line = [Segment(" " * options.max_width, self._base)]
        self.started = False
        self.taken = 0  # characters of code drawn by the last `take`

    @property
    def done(self) -> bool:
        """Every line has been drawn."""
        return self._next >= len(self.lines)

    def rest(self) -> str:
        """The code not drawn yet, as plain text (when drawing failed)."""
        return "\n".join(self.lines[self._next :])

    def take(self, chars: int) -> list[Line]:
        """Rows for the next lines of code, about `chars` characters of them (one at least)."""
        rows: list[Line] = []
        if not self.started:
            self.started = True
            rows.append(self.pad_row)
        end, size = self._next, 0
        while end < len(self.lines) and (end == self._next or size < chars):
            size += len(self.lines[end]) + 1
            end += 1
        slow: list[tuple[_TokenType, str]] = []  # lines left to rich, not drawn yet
        for _ in range(end - self._next):
            tokens = self._line_tokens()
            made = _token_rows(tokens, self._inner)
            if made is None:
                slow += tokens
                continue
            if slow:
                rows += self._syntax_rows(slow)
                slow = []
            rows += made
        if slow:
            rows += self._syntax_rows(slow)
        self._next, self.taken = end, size
        if self.done:
            rows.append(self.pad_row)
        return rows

    def _line_tokens(self) -> list[tuple[_TokenType, str]]:
        """The tokens of the next line of code, its line end included."""
        tokens = []
        for token_type, token in self._tokens:
            tokens.append((token_type, token))
            if token.endswith("\n"):
                break
        return tokens

    def _syntax_rows(self, tokens: list[tuple[_TokenType, str]]) -> list[Line]:
        """Rows of whole lines of code drawn through rich's Syntax, as a code block is."""
        from rich.text import Text

        justify: JustifyMethod = "default" if self._base.transparent_background else "left"
        text = Text(justify=justify, style=self._base, tab_size=self._tab_size, no_wrap=False)
        style_of = self._style_of
        text.append_tokens((token, style_of(token_type)) for token_type, token in tokens)
        # Syntax reads only whether its code ends in a newline (then it keeps a blank last
        # row); the given text holds the slice's own lines, so it never should.
        syntax = _given_text_syntax()(text, "-", theme=self._theme, word_wrap=True, padding=(0, 1))
        return self.console.render_lines(syntax, self.options, pad=False)


def _per_line(tokens: Iterable[tuple[Any, str]]) -> Iterator[tuple[Any, str]]:
    """Tokens cut at line ends, so a slice ends exactly after its last line."""
    for token_type, token in tokens:
        while token:
            line, newline, token = token.partition("\n")
            yield token_type, line + newline


class CodeRows:
    """Rendered rows of an open code block, kept between refreshes."""

    def __init__(self) -> None:
        self.rough = False  # the last preview showed lines not highlighted yet
        self.key: tuple[str, int] | None = None  # (lexer, width) the rows were made for
        self.lexer: Lexer | str = "text"  # looked up once: pygments' lookup costs ~1 ms
        self.done = 0  # how many code lines are in `rows`
        self.rows: list[Line] = []
        self.pad: Line = []  # the blank row rich puts above and below code

    def reset(self) -> None:
        """Forget the rows: the block they belong to was printed."""
        self.key, self.done, self.rows = None, 0, []

    def update(self, console: Console, width: int, fence: OpenFence, keep: int) -> None:
        """Render the lines added since the last call; keep the last `keep` rows."""
        if self.key != (fence.lexer, width):
            self.reset()
            self.key = (fence.lexer, width)
            self.lexer = _lexer(fence.lexer)
            self.pad = self.render(console, "", width)[0]
        if len(fence.lines) > self.done:
            new = fence.lines[max(self.done, len(fence.lines) - keep) :]
            self.rows += self.render(console, "\n".join(new), width)
            self.rows = self.rows[-keep:]
            self.done = len(fence.lines)

    def render(self, console: Console, code: str, width: int) -> list[Line]:
        """Rows of highlighted code, as rich.markdown's CodeBlock draws them."""
        from rich.syntax import Syntax

        if code and not isinstance(self.lexer, str):
            rows = _short_line_rows(self.lexer, code, width)
            if rows is not None:
                return rows

        # CodeBlock uses padding=1: one column each side and one row above and below;
        # the rows above and below are added by the caller.
        syntax = Syntax(code, self.lexer, theme=code_theme(), word_wrap=True, padding=(0, 1))
        return console.render_lines(syntax, console.options.update(width=width), pad=False)

    def preview(
        self,
        console: Console,
        width: int,
        fence: OpenFence,
        *,
        after_gap: bool,
        max_lines: int,
        rough: bool = False,
    ) -> list[Line]:
        """An open fenced block drawn live: cached rows plus the line in progress.

        `rough`: lines not highlighted yet are shown plain on the block's background
        (highlighting a line through rich's Syntax costs ~0.4 ms, whatever its size).
        """
        fresh = self.key != (fence.lexer, width)
        if not rough or fresh:
            self.update(console, width, fence, max_lines)
        lines: list[Line] = [[]] if after_gap else []  # a code block is drawn at once
        lines += [self.pad, *self.rows]
        self.rough = rough and not fresh
        if self.rough:
            for line in fence.lines[self.done :]:
                lines += _plain_code_rows(line, width)
            if fence.partial.strip():
                lines += _plain_code_rows(fence.partial, width)
        elif fence.partial.strip():
            lines += self.render(console, fence.partial, width)
        lines.append(self.pad)
        return lines[-max_lines:]


def _short_line_rows(lexer: Lexer, code: str, width: int) -> list[Line] | None:
    """Rows of highlighted code whose every line fits the width, made from pygments'
    tokens directly (see `_token_rows`). None when a line is too long (it would wrap) or
    holds a tab or anything but printable ASCII."""
    inner = width - 2
    lines = code.split("\n")
    if "\t" in code or not code.isascii() or max(map(len, lines)) > inner:
        return None
    rows: list[Line] = []
    line: list[tuple[_TokenType, str]] = []
    for token in _per_line(lexer.get_tokens(code + "\n")):
        line.append(token)
        if token[1].endswith("\n"):
            made = _token_rows(line, inner)
            if made is None:
                return None
            rows += made
            line = []
    return rows[: len(lines)]


_token_styles: dict[Any, Style] = {}  # the theme's style of each token type, on its background


def _token_rows(tokens: list[tuple[_TokenType, str]], inner: int) -> list[Line] | None:
    """The rows rich's Syntax draws (`word_wrap=True, padding=(0, 1)`, a theme with a
    background) for one line of code, `tokens` of pygments' make, at `inner` code
    columns: made directly, at a tenth of its cost. None when the line holds anything but
    printable ASCII (rich measures and strips those its own way).

    What rich does with such a line (Text.wrap, then Syntax and its Padding): the
    highlighted Text's style (the background) plus each token's style; cut where
    rich's own `divide_line` says (at word starts, a word longer than a row folded),
    each piece cropped to the width; a column of padding each side and the background
    padded to the edge, in the background style. Which segments hold which run of text
    differs, what they show does not.
    """
    from rich._wrap import divide_line
    from rich.segment import Segment

    theme = code_theme()
    base: Style = theme.get_background_style()
    if base.transparent_background or inner < 1:
        return None  # rich pads nothing then, or has no room: leave it to rich
    pieces: list[tuple[str, Style]] = []
    used = 0
    for token_type, token in tokens:
        piece = token[:-1] if token.endswith("\n") else token
        if not piece:
            continue
        if not (piece.isascii() and piece.isprintable()):
            return None
        style = _token_styles.get(token_type)
        if style is None:
            style = _token_styles[token_type] = base + theme.get_style_for_token(token_type)
        pieces.append((piece, style))
        used += len(piece)
    if used <= inner:  # it fits: no cut, nothing cropped
        row: Line = [Segment(" ", base)]
        row += [Segment(piece, style) for piece, style in pieces]
        row.append(Segment(" " * (inner - used + 1), base))
        return [row]
    plain = "".join(piece for piece, _ in pieces)
    rows: list[Line] = []
    first, at = 0, 0  # the first piece not wholly before this row's text, where it begins
    for start, cut in pairwise([0, *divide_line(plain, inner, fold=True), used]):
        # Past the width, rich drops spaces from the end (Text.rstrip_end), then crops
        # (truncate): the same as keeping the first `inner` characters, one cell each.
        end = min(cut, start + inner)
        while first < len(pieces) and at + len(pieces[first][0]) <= start:
            at += len(pieces[first][0])
            first += 1
        row = [Segment(" ", base)]
        index, begins = first, at
        while index < len(pieces) and begins < end:
            piece, style = pieces[index]
            low, high = max(start, begins), min(end, begins + len(piece))
            if low < high:
                row.append(Segment(piece[low - begins : high - begins], style))
            begins += len(piece)
            index += 1
        row.append(Segment(" " * (inner - (end - start) + 1), base))
        rows.append(row)
    return rows


@lru_cache(maxsize=256)
def _plain_code_rows(line: str, width: int) -> list[Line]:
    """A code line unhighlighted, as a code block lays it out: one column of padding each
    side, the block's background to the edge, wrapped at the width. Cached: an open
    block's lines not highlighted yet are shown this way at every refresh until they
    are (the rows are shared: never changed in place)."""
    from rich.cells import cell_len, chop_cells
    from rich.segment import Segment

    base = code_theme().get_background_style()
    inner = max(1, width - 2)
    rows = []
    for part in chop_cells(line.expandtabs(4), inner) or [""]:
        rows.append([Segment(" " + part + " " * (inner - cell_len(part) + 1), base)])
    return rows
