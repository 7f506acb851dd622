"""Stop `pip install` on a Python older than chatrepl supports, with one line, at once.

pip runs this file with the Python it installs into, before it resolves a single
dependency. Without it, pip on Python 3.10 spent minutes downloading every version of
every dependency (xllamacpp's 33 MB wheels among them) before reporting that chatrepl
itself needs 3.11. Everything else about the package is in pyproject.toml.

Like chatrepl/_pyversion.py, which it runs by path (importing the package could fail on
the very Pythons it is there to turn away), this file uses no syntax newer than Python 2.7.
(Not runpy.run_path: Python 2 wipes the module's globals once it has run.)
"""

import os

_guard = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chatrepl", "_pyversion.py")
_namespace = {"__name__": "chatrepl._pyversion"}
with open(_guard) as _source:
    exec(compile(_source.read(), _guard, "exec"), _namespace)
_namespace["check_python"]()  # before setuptools is even imported

from setuptools import setup  # noqa: E402

setup()
