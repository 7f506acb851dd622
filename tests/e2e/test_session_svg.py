"""The README's picture is a real run of the current REPL, and stays one.

docs/make_session_svg.py drives the real chatrepl in a pseudo-terminal against a
loopback server and writes what the emulator shows. Here it runs again, and the picture
in the repository must hold the same text (numbers aside: the port and the timings
differ from run to run); when the REPL's screen changes, run the script again.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "make_session_svg.py"
PICTURE = ROOT / "docs" / "session.svg"


def svg_lines(path: Path) -> list[str]:
    """The text of a rich SVG, line by line (each piece put at its column), numbers
    folded to # (a port, a timing)."""
    svg = path.read_text()
    rows: dict[int, dict[int, str]] = {}
    pattern = (
        r'<text [^>]*x="([\d.]+)"[^>]*textLength="([\d.]+)"[^>]*-line-(\d+)\)"[^>]*>(.*?)</text>'
    )
    for match in re.finditer(pattern, svg):
        x, length, row, piece = match.groups()
        piece = html.unescape(piece).replace("\xa0", " ")
        width = float(length) / max(len(piece), 1)
        column = round(float(x) / width) if piece else 0
        cells = rows.setdefault(int(row), {})
        for offset, char in enumerate(piece):
            cells[column + offset] = char
    lines = []
    for row in sorted(rows):
        cells = rows[row]
        line = "".join(cells.get(c, " ") for c in range(max(cells, default=-1) + 1)).rstrip()
        lines.append(re.sub(r"\d+(\.\d+)*", "#", line))
    return lines


def test_the_picture_is_what_a_fresh_run_of_the_repl_shows(tmp_path: Path) -> None:
    fresh = tmp_path / "session.svg"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(fresh)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = svg_lines(fresh)
    text = "\n".join(lines)
    # the banner, the question, a reply with code, the stats line, the prompt, the toolbar
    assert lines[0].startswith("chatrepl # · demo-model at #:# · /help for commands")
    assert "> Write a Python function that reverses a string" in text
    assert "return text[::-#]" in text and 'print(reverse("chatrepl"))  # lpertahc' in text
    assert "```" not in text  # rendered, not raw markdown
    assert any(line.startswith("demo-model · first token #s") and "tok/s" in line for line in lines)
    assert lines[-1].lstrip().startswith("demo-model · #") and "/help" in lines[-1]
    assert svg_lines(PICTURE) == lines, "docs/session.svg is stale: python docs/make_session_svg.py"
