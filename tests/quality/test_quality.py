"""House rules that can break silently: the layers, no import cycles, ruff and mypy.

The import graph is read from the AST of every module, counting every import: at the
top, inside functions (the lazy ones) and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chatrepl"
# Imports point down this list only (the root package holds nothing but __version__).
LAYERS = ("app", "ui", "adapters", "protocol", "core")
PURE = ("core", "protocol")
FORBIDDEN_IN_PURE = (
    "rich",
    "prompt_toolkit",
    "requests",
    "urllib3",
    "platformdirs",
    "xllamacpp",
    "pygments",
    "markdown_it",
)
FORBIDDEN_ATTRIBUTES = {
    ("os", "environ"),
    ("os", "getenv"),
    ("sys", "stdout"),
    ("sys", "stdin"),
    ("sys", "stderr"),
    ("sys", "exit"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported(path: Path) -> Iterator[tuple[str, int]]:
    """Every module an import statement in `path` names, with its line."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from pkg import module` imports the module, not just the package
                full = f"{base}.{alias.name}"
                yield (full if full in MODULES else base), node.lineno


def graph() -> dict[str, set[str]]:
    return {
        name: {target for target, _ in imported(path) if target in MODULES}
        for name, path in MODULES.items()
    }


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_sits_in_a_layer() -> None:
    # the root package, `python -m`, and the version guard that must run on any Python
    outside = ("chatrepl", "chatrepl.__main__", "chatrepl._pyversion")
    loose = [n for n in MODULES if layer(n) is None and n not in outside]
    assert loose == []


def test_there_are_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_only_point_down_the_layers() -> None:
    wrong = []
    for name, targets in graph().items():
        here = layer(name)
        for target in targets:
            there = layer(target)
            if here and there and LAYERS.index(there) < LAYERS.index(here):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_the_pure_layers_touch_no_terminal_network_disk_library_or_environment() -> None:
    problems = []
    for name, path in MODULES.items():
        if layer(name) not in PURE:
            continue
        for target, line in imported(path):
            if target.split(".")[0] in FORBIDDEN_IN_PURE:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in FORBIDDEN_ATTRIBUTES
            ):
                problems.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}"
                )
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("print", "open"):
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {node.func.id}()")
    assert problems == []


def test_the_purity_check_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import os\n    return os.environ\n")
    node = next(n for n in ast.walk(ast.parse(bad.read_text())) if isinstance(n, ast.Attribute))
    assert (node.value.id, node.attr) in FORBIDDEN_ATTRIBUTES  # type: ignore[attr-defined]


def test_package_init_files_import_nothing() -> None:
    # an __init__ that imports its submodules makes every `from pkg.mod import` a cycle
    for name, path in MODULES.items():
        if path.name == "__init__.py":
            # the root runs the Python version guard first, on purpose (see its comment)
            allowed = [("chatrepl._pyversion", 6)] if name == "chatrepl" else []
            assert list(imported(path)) == allowed, name


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).with_name(name))


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [_tool("ruff"), "check", "chatrepl", "tests", "benchmarks", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean() -> None:
    result = subprocess.run(
        [_tool("ruff"), "format", "--check", "chatrepl", "tests", "benchmarks", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_the_whole_package_passes_mypy_strict() -> None:
    pytest.importorskip("mypy", reason="mypy is in the test extra")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "chatrepl"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
