"""The front door: the distribution's name, the Python floor, and the guard that enforces it.

The guard is run for real on the old Pythons this machine has under pyenv (2.7, 3.6 to
3.10): it must parse there and say one line, where the rest of chatrepl would die with a
SyntaxError or ImportError. `.ci/install-routes` checks that `pip install '.[local]'` on
Python 3.10 fails within seconds with that line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from chatrepl import _pyversion
from chatrepl.adapters.install_hints import DISTRIBUTION, LLAMACPP

ROOT = Path(__file__).resolve().parents[2]
GUARD = ROOT / "chatrepl" / "_pyversion.py"
# Read at collection time: the isolation fixture points HOME elsewhere during each test.
_PYENV = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
OLD_PYTHONS = sorted(
    str(python)
    for python in _PYENV.glob("*/bin/python")
    if re.fullmatch(r"(2\.\d+|3\.([0-9]|10))\.\d+", python.parent.parent.name)
)
needs_old_pythons = pytest.mark.skipif(not OLD_PYTHONS, reason=f"no Python < 3.11 in {_PYENV}")


def pyproject() -> dict[str, object]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project: dict[str, object] = tomllib.load(handle)["project"]
    return project


def test_the_distribution_is_chatrepl_cli_and_the_command_chatrepl() -> None:
    project = pyproject()
    assert project["name"] == DISTRIBUTION == "chatrepl-cli"
    assert project["scripts"] == {"chatrepl": "chatrepl.app.entry:main"}


def test_the_floor_is_the_same_in_pyproject_the_guard_and_the_readme() -> None:
    floor = ".".join(str(part) for part in _pyversion.MIN_PYTHON)
    assert pyproject()["requires-python"] == f">={floor}"
    opening = "\n".join((ROOT / "README.md").read_text().splitlines()[:12])
    assert f"Python {floor} or newer" in opening


def test_xllamacpp_is_bounded_on_both_sides() -> None:
    # Unbounded, pip may walk back through every 33 MB wheel xllamacpp ever shipped.
    extras = pyproject()["optional-dependencies"]
    assert isinstance(extras, dict)
    (requirement,) = [r for r in extras["local"] if r.startswith(LLAMACPP)]
    assert re.fullmatch(r"xllamacpp>=[\d.]+,<[\d.]+", requirement), requirement


def test_a_supported_python_passes_the_guard() -> None:
    _pyversion.check_python()  # returns, rather than raising SystemExit
    assert _pyversion.unsupported_message(sys.version_info[:3], sys.executable) is None


@pytest.mark.parametrize("version", [(3, 10, 13), (3, 9, 0), (2, 7, 18)])
def test_an_old_python_gets_one_line_and_exit_2(
    version: tuple[int, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        _pyversion.check_python(version)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    shown = ".".join(map(str, version))
    assert captured.out == ""
    assert captured.err == (
        "chatrepl: error: Python 3.11 or newer is needed; "
        f"this is Python {shown} ({sys.executable})\n"
    )


@needs_old_pythons
@pytest.mark.parametrize("python", OLD_PYTHONS, ids=lambda path: Path(path).parent.parent.name)
def test_the_guard_runs_on_old_pythons(python: str) -> None:
    # exec, as setup.py does (Python 2's runpy wipes the globals of what it ran)
    code = f"g = {{}}; exec(open({str(GUARD)!r}).read(), g); g['check_python']()"
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("chatrepl: error: Python 3.11 or newer is needed; this is Python ")


@needs_old_pythons
def test_setup_py_stops_an_old_python_before_setuptools_runs() -> None:
    # pip runs setup.py with the target Python to get the build requirements; this is
    # the line it shows before resolving any dependency.
    python = OLD_PYTHONS[-1]
    result = subprocess.run(
        [python, "setup.py", "--name"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("chatrepl: error: Python 3.11 or newer is needed")
    assert len(result.stderr.splitlines()) == 1


@needs_old_pythons
@pytest.mark.parametrize("python", OLD_PYTHONS, ids=lambda path: Path(path).parent.parent.name)
def test_running_chatrepl_on_an_old_python_is_one_line(python: str) -> None:
    # the checkout on the path, as `python3.10 -m chatrepl` from the source folder runs it
    result = subprocess.run(
        [python, "-m", "chatrepl", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("chatrepl: error: Python 3.11 or newer is needed")
