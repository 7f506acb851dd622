"""Shared fixtures: an isolated environment for every test, and a loopback fake server."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeserver import FakeServer
from herokuserver import HerokuServer
from terminal import Terminal

_CLEARED_PREFIXES = ("INFERENCE_", "OPENAI_", "CHATREPL_")
# Proxies or a NETRC path from the developer's shell would reroute or re-auth loopback calls.
_CLEARED_NAMES = ("NO_COLOR", "NETRC", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


# A marker per folder, so a layer runs alone: `pytest -m core`, or by folder.
LAYER_MARKERS = ("core", "protocol", "adapters", "ui", "e2e", "llamacpp", "quality")
TESTS = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C tests need SIGINT: a shell starts background jobs (`cmd &`) with it ignored,
    and children inherit that, so restore the default here (pty children get it back in
    tests/terminal.py)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the folder it lives in."""
    for item in items:
        folder = Path(str(item.fspath)).resolve().relative_to(TESTS).parts[0]
        if folder in LAYER_MARKERS:
            item.add_marker(getattr(pytest.mark, folder))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME and the XDG dirs into tmp_path and drop chatrepl's variables."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        monkeypatch.setenv(name, str(home / sub))
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(_CLEARED_PREFIXES) or upper in _CLEARED_NAMES:
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def started() -> Iterator[list[Terminal]]:
    """Terminals a test starts (a list it appends to), each closed at the end."""
    terminals: list[Terminal] = []
    yield terminals
    for term in terminals:
        term.close()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A FakeServer on 127.0.0.1, started for one test and stopped after it."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def heroku_server() -> Iterator[HerokuServer]:
    """A loopback server that behaves like Heroku Managed Inference (tests/herokuserver.py)."""
    server = HerokuServer().start()
    try:
        yield server
    finally:
        server.stop()
