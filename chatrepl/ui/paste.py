"""Reading a bracketed paste in one piece, in time that grows with its size, not its square.

prompt_toolkit's `Vt100Parser` collects a paste by `self._paste_buffer += data` and then
searches the whole buffer for the end mark, once per read of 1,024 bytes: a 5 MB paste
copies and scans about 12 GB, which took 12 s in the parser alone (30 s end to end in a
terminal). `PasteParser` keeps the pieces in a list and looks for the end mark only in
the new piece (plus the few characters before it that could hold the mark's start), so
the same paste costs one join. Outside a paste it is prompt_toolkit's parser unchanged.

While a paste is coming in, the terminal is also read 64 KB at a time instead of
prompt_toolkit's 1 KB: each read is a trip through the event loop, and 5,000 of them
cost half a second. (prompt_toolkit reads little at a time so that typed keys are
handled as they come; inside a paste there are no keys to handle.)

`fast_paste(input)` swaps both into a prompt_toolkit `Vt100Input` (an `Input` of another
kind, Windows' say, is left as it is).
"""

from __future__ import annotations

from typing import Any

from prompt_toolkit.input import Input
from prompt_toolkit.input.vt100_parser import Vt100Parser
from prompt_toolkit.key_binding import KeyPress
from prompt_toolkit.keys import Keys

END_MARK = "\x1b[201~"
PASTE_READ = 1 << 16


class PasteParser(Vt100Parser):
    """A Vt100Parser whose bracketed-paste path is linear in the size of the paste."""

    def reset(self, request: bool = False) -> None:
        """See Vt100Parser.reset; also forgets any paste in progress."""
        super().reset(request)
        self._pieces: list[str] = []
        self._tail = ""  # the last characters seen, which may hold the start of the end mark

    @property
    def in_paste(self) -> bool:
        """Whether a bracketed paste is coming in."""
        return bool(self._in_bracketed_paste)

    def feed(self, data: str) -> None:
        """See Vt100Parser.feed."""
        if not self._in_bracketed_paste:
            super().feed(data)  # it calls back into feed() when a paste begins
            return
        window = self._tail + data
        end = window.find(END_MARK)
        if end < 0:
            self._pieces.append(data)
            self._tail = window[-(len(END_MARK) - 1) :]
            return
        # The mark may begin in the tail, which is the end of the pieces already kept.
        kept = "".join(self._pieces)
        content = kept[: len(kept) - len(self._tail)] + window[:end]
        remaining = window[end + len(END_MARK) :]
        self._pieces, self._tail = [], ""
        self._in_bracketed_paste = False
        self.feed_key_callback(KeyPress(Keys.BracketedPaste, content))
        self.feed(remaining)


def fast_paste(input: Input) -> Input:
    """`input`, its VT100 parser replaced by a `PasteParser` (same key callback), reading
    big chunks while a paste arrives."""
    parser: Any = getattr(input, "vt100_parser", None)
    if not isinstance(parser, Vt100Parser) or isinstance(parser, PasteParser):
        return input
    paste = PasteParser(parser.feed_key_callback)
    input.vt100_parser = paste  # type: ignore[attr-defined]
    reader: Any = getattr(input, "stdin_reader", None)
    read = getattr(reader, "read", None)
    if read is not None:

        def read_more(count: int = 1024) -> str:
            return str(read(PASTE_READ if paste.in_paste else count))

        reader.read = read_more
    return input
