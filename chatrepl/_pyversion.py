"""One clear line, instead of a traceback, when chatrepl is run on a Python it does not support.

Python 3.11 is the floor (`requires-python` in pyproject.toml says the same; a test
checks that the two agree): the code reads its config file with `tomllib`, new in 3.11.
pip refuses to install chatrepl on an older Python, but a checkout can
still be run there (`python3.10 -m chatrepl`), where the first import would fail with an
ImportError or SyntaxError deep inside the package.

This module must therefore itself run on any Python, old ones included: no f-strings,
no annotations (the types are in comments), no `print(..., file=...)`, nothing newer
than Python 2.7 and 3.0 both understand. `setup.py` runs it too, so that
`pip install .` on an old Python stops with the same line before pip resolves anything.
"""

import sys

MIN_PYTHON = (3, 11)

MYPY = False
if MYPY:  # mypy treats MYPY as true; at run time typing is never imported here
    from typing import Optional, Sequence  # noqa: F401, UP035 - used in type comments


def unsupported_message(version, executable):
    # type: (Sequence[int], str) -> Optional[str]
    """The one-line complaint about `version`, or None when it is new enough."""
    if tuple(version[:2]) >= MIN_PYTHON:
        return None
    return (
        "Python "
        + ".".join(str(part) for part in MIN_PYTHON)
        + " or newer is needed; this is Python "
        + ".".join(str(part) for part in version[:3])
        + " ("
        + (executable or "unknown interpreter")
        + ")"
    )


def check_python(version=None):
    # type: (Optional[Sequence[int]]) -> None
    """Print one line to stderr and exit 2 when this Python is older than MIN_PYTHON."""
    message = unsupported_message(
        sys.version_info[:3] if version is None else version, sys.executable
    )
    if message is not None:
        sys.stderr.write("chatrepl: error: " + message + "\n")  # argparse's form; pipx shows it
        raise SystemExit(2)
