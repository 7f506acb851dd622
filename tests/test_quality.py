"""House rules that can break silently: ruff is clean and the core passes mypy --strict."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ["errors", "messages", "settings", "conversation", "sse", "commands", "engine", "ports",
        "compare", "transcript"]


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", "chatrepl", "tests", "benchmarks", "docs"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_core_passes_mypy_strict() -> None:
    pytest.importorskip("mypy", reason="mypy is in the test extra")
    files = [f"chatrepl/{name}.py" for name in CORE]
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", *files], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_core_imports_no_terminal_network_or_environment_code() -> None:
    forbidden = ("import rich", "from rich", "prompt_toolkit", "import requests",
                 "from requests", "os.environ", "print(", "sys.exit")
    for name in CORE:
        text = (ROOT / "chatrepl" / f"{name}.py").read_text()
        for word in forbidden:
            assert word not in text, f"chatrepl/{name}.py uses {word!r}"
