"""The console script's first frame.

`cli.guarded` turns a Ctrl-C into exit status 130 once it runs, but importing the CLI
(prompt_toolkit and the rest) takes a moment first. A Ctrl-C in that moment would end
Python with its own KeyboardInterrupt handling: killed by SIGINT, not 130, and a
traceback on the way out. Here it ends the run as one at the prompt does.
"""

from __future__ import annotations

import contextlib
import sys

from chatrepl.core.errors import ExitStatus


def main() -> int:
    """Load the CLI and run it; a Ctrl-C while it loads ends the run with 130."""
    try:
        from chatrepl.app.cli import main as run

        return run()
    except KeyboardInterrupt:  # landed before (or after) cli.guarded's own boundary
        with contextlib.suppress(OSError, ValueError):  # no stderr left to write to
            sys.stderr.write("\n")
        return int(ExitStatus.INTERRUPTED)
