"""Laying out a small table in a terminal too narrow for it, with no cell cut.

A row too wide keeps its cells side by side as far as they fit; the last cell, if it
is prose and its column leaves it room, wraps in that column; a cell with a long word
(a path, a URL) or squeezed by wide cells before it goes on lines of its own under its
row. Pure: cells are strings, widths terminal cells. RichView and PlainView both use it.
"""

from __future__ import annotations

from collections.abc import Sequence

TABLE_INDENT = "  "  # where rich's simple box starts a row, and between its columns
TABLE_GAP = "   "
FOLD_INDENT = "      "  # a folded cell, on its own line, under its row
MIN_WRAP_ROOM = 30  # a last cell wraps in its column when it has this much room …
LONG_WORD = 20  # … and no word longer than this (a path folds instead)


def column_widths(rows: Sequence[Sequence[str]], folded: dict[int, int]) -> list[int]:
    """How wide each column is padded: its widest cell among the rows that show a cell
    after it (a row's last cell on the line needs no padding; folded cells none)."""
    from rich.cells import cell_len

    widths: list[int] = []
    for number, row in enumerate(rows):
        kept = len(row) - folded.get(number, 0)
        for column, cell in enumerate(row[: kept - 1]):
            if column == len(widths):
                widths.append(0)
            widths[column] = max(widths[column], cell_len(str(cell)))
    return widths


def _row_width(row: Sequence[str], kept: int, widths: list[int]) -> int:
    """The cells the row's line takes, indent and gaps included."""
    from rich.cells import cell_len

    if kept == 0:
        return 0
    padded = sum(widths[column] for column in range(kept - 1))
    return len(TABLE_INDENT) + padded + len(TABLE_GAP) * (kept - 1) + cell_len(str(row[kept - 1]))


def _wraps(cell: str, room: int) -> bool:
    """Whether a cell can wrap in the `room` its column leaves: prose that is not too
    squeezed does; a long word (a path, a URL) would be broken, so its cell folds."""
    from rich.cells import cell_len

    words = str(cell).split()
    return room >= MIN_WRAP_ROOM and all(cell_len(word) <= LONG_WORD for word in words)


def _prefix(row: Sequence[str], kept: int) -> int:
    """The cells a row's line takes before its last kept cell, with no padding."""
    from rich.cells import cell_len

    own = sum(cell_len(str(cell)) for cell in row[: kept - 1])
    return len(TABLE_INDENT) + own + len(TABLE_GAP) * (kept - 1)


def rows_to_fold(rows: Sequence[Sequence[str]], width: int) -> dict[int, int]:
    """For each row that does not fit in `width`, how many of its last cells go on lines
    of their own (an empty answer when every row fits, or wraps as prose in its column).

    A row too wide whose last cell cannot wrap is dealt with one cell at a time: when
    the cell could wrap but for the padding another row's wide cells impose, that row
    folds (so the column narrows for all); otherwise the row folds its own last cell.
    """
    from rich.cells import cell_len

    folded: dict[int, int] = {}
    while True:
        widths = column_widths(rows, folded)
        kept = {n: len(row) - folded.get(n, 0) for n, row in enumerate(rows)}
        stuck: list[tuple[int, int]] = []  # (length, row)
        for n, row in enumerate(rows):
            length = _row_width(row, kept[n], widths)
            if kept[n] <= 1 or length < width:  # rich leaves a column free at the edge
                continue
            last = str(row[kept[n] - 1])
            if not _wraps(last, width - 1 - (length - cell_len(last))):
                stuck.append((length, n))
        if not stuck:
            return _unfold_what_fits(rows, width, folded)
        _, n = max(stuck)
        victim = n
        if _wraps(str(rows[n][kept[n] - 1]), width - 1 - _prefix(rows[n], kept[n])):
            wider = [m for m in kept if kept[m] > 1]
            setter = max(wider, key=lambda m: _prefix(rows[m], kept[m]))
            if _prefix(rows[setter], kept[setter]) > _prefix(rows[n], kept[n]):
                victim = setter
        folded[victim] = folded.get(victim, 0) + 1


def _unfold_what_fits(
    rows: Sequence[Sequence[str]], width: int, folded: dict[int, int]
) -> dict[int, int]:
    """Give back to their line the folded cells that fit in the final column widths.

    The greedy pass above folds one row at a time while the widths still carry wide
    cells it later folds away, so a short row folded early would stay on two lines
    beside an alike row on one ("temperature (not set)" below, "app (not set)" not).
    A cell comes back only when the widths stay as they are, so no other row moves.
    """
    widths = column_widths(rows, folded)
    for number in sorted(folded):
        while folded.get(number, 0):
            trial = {**folded, number: folded[number] - 1}
            kept = len(rows[number]) - trial[number]
            if column_widths(rows, trial) != widths:
                break
            if _row_width(rows[number], kept, widths) >= width:
                break
            folded = trial if trial[number] else {k: v for k, v in trial.items() if k != number}
    return folded


def plain_lines(rows: Sequence[Sequence[str]], width: int) -> list[str] | None:
    """The table as lines of text that fit in `width`, or None when it fits as it is."""
    import textwrap

    folded = rows_to_fold(rows, width)
    if not folded:
        return None
    widths = column_widths(rows, folded)
    lines: list[str] = []
    room = max(10, width - len(FOLD_INDENT) - 1)
    for number, row in enumerate(rows):
        cut = len(row) - folded.get(number, 0)
        kept, below = row[:cut], row[cut:]
        head = TABLE_INDENT + "".join(
            str(cell).ljust(widths[column]) + TABLE_GAP for column, cell in enumerate(kept[:-1])
        )
        pieces = textwrap.wrap(str(kept[-1]), max(10, width - 1 - len(head))) if kept else []
        lines.append((head + (pieces[0] if pieces else "")).rstrip())
        lines += [" " * len(head) + piece for piece in pieces[1:]]
        for cell in below:
            wrapped = textwrap.wrap(str(cell), room, break_on_hyphens=False)
            lines += [FOLD_INDENT + piece for piece in wrapped]
    return lines
