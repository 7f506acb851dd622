"""chatrepl: a terminal chat REPL for any OpenAI-compatible chat-completions endpoint."""

# The one thing done at import time, on purpose: on a Python older than the floor, every
# other module would fail with a SyntaxError or TypeError deep inside the package, so
# this runs first (it is written to run on any Python) and prints one line instead.
from chatrepl._pyversion import check_python as _check_python

_check_python()

__version__ = "0.1.0"
