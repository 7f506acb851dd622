"""The command line: flags (from the settings table), and the one error boundary.

`main()` is the only place that exits, with a status from `ExitStatus`. Expected
failures are one line on stderr; `--debug` adds the traceback but keeps the status.
Everything the boundary writes goes through the session's `Redactor` (the key, URL
credentials), tracebacks included. SIGTERM, SIGHUP and SIGQUIT end the run like Ctrl-C
(`app.signals`), and the terminal's modes are put back on every way out.
Heavy modules (requests, rich.markdown, pygments) are imported after the first prompt
is on screen, so the prompt appears about as fast as a bare prompt_toolkit one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any, NoReturn

from chatrepl import __version__
from chatrepl.app.environment import Environment
from chatrepl.app.signals import TerminalGuard, handled_signals
from chatrepl.core.errors import ChatReplError, ConfigError, ExitStatus, TerminatedBySignal
from chatrepl.core.redact import Redactor
from chatrepl.core.settings import BUILTIN_PROFILES, SETTINGS


class _Formatter(argparse.HelpFormatter):
    """argparse's help, with paths kept whole: no line break at a `-` or inside a word."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        text = " ".join(text.split())
        return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not argparse's usage block."""
        raise ConfigError(f"{message} (see chatrepl --help)")


def _checked(parse: Callable[[Any], Any], *, says_what: bool = False) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            # a parameter's error already names the key and what it takes
            raise argparse.ArgumentTypeError(
                str(exc) if says_what else f"must be {exc}, not {text!r}"
            ) from None

    return convert


DEFAULT_CONFIG = "$CHATREPL_CONFIG, else $XDG_CONFIG_HOME/chatrepl/config.toml"


def build_parser(*, config_path: str = DEFAULT_CONFIG) -> argparse.ArgumentParser:
    """The command-line interface; every setting's flag comes from the settings table."""
    p = _Parser(
        prog="chatrepl",
        formatter_class=_Formatter,
        allow_abbrev=False,  # `--key inf-…` must not be taken as --key-env and echoed
        description="Chat with any OpenAI-compatible /v1/chat/completions endpoint.",
        epilog="Environment: INFERENCE_URL, INFERENCE_KEY, INFERENCE_MODEL_ID "
        "(fallbacks OPENAI_BASE_URL, OPENAI_API_KEY), CHATREPL_CONFIG, NO_COLOR, FORCE_COLOR. "
        "The API key is only read from the environment, never from a flag.",
    )
    p.add_argument("message", nargs="*", help="send one message, print the reply and exit")
    for spec in SETTINGS:
        if not spec.flags:
            continue
        # SUPPRESS: only flags actually given land in the namespace (and "off" still counts)
        if spec.merges:  # -o KEY=VALUE, as often as needed
            p.add_argument(
                *spec.flags,
                dest=spec.name,
                action="append",
                type=_checked(spec.parse, says_what=True),
                metavar=spec.metavar,
                default=argparse.SUPPRESS,
                help=spec.help,
            )
        elif spec.takes_value:
            p.add_argument(
                *spec.flags,
                dest=spec.name,
                type=_checked(spec.parse),
                metavar=spec.metavar,
                default=argparse.SUPPRESS,
                help=spec.help,
            )
        else:
            p.add_argument(
                *spec.flags,
                dest=spec.name,
                action="store_const",
                const=spec.const,
                default=argparse.SUPPRESS,
                help=spec.help,
            )
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="use [profiles.NAME] from the config file, or a built-in profile: "
        + ", ".join(BUILTIN_PROFILES),
    )
    p.add_argument("--config", metavar="FILE", help=f"config file (default: {config_path})")
    p.add_argument(
        "-c",
        "--continue",
        dest="resume",
        action="store_true",
        help="resume the latest conversation",
    )
    p.add_argument("--load", metavar="FILE", help="resume a saved transcript")
    p.add_argument(
        "--search",
        metavar="TEXT",
        help="find TEXT in every saved session, print the hits and exit "
        "(with --model, --role user|assistant, --since, --json)",
    )
    p.add_argument(
        "--leaderboard",
        action="store_true",
        help="rank models from your blind votes (/vote), print the board and exit "
        "(with --since, --profile, --tag, --json)",
    )
    p.add_argument("--tag", metavar="TAG", help="with --leaderboard: only prompts with #TAG")
    p.add_argument(
        "--since", metavar="WHEN", help="with --search or --leaderboard: since 2026-01-31, 7d, 12h…"
    )
    p.add_argument(
        "--compare",
        metavar="M1,M2[,...]",
        help="ask every model the message at once, print each reply under its model, then "
        "a table of their speed (Markdown when piped; with --json, one JSON object) and exit",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="with --search, --compare or --leaderboard: print JSON instead",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=f"chatrepl {__version__}")
    return p


def run(
    argv: Sequence[str] | None, environment: Environment, *, redactor: Redactor | None = None
) -> int:
    """Parse, wire and run; raises ChatReplError for expected failures."""
    from chatrepl.adapters.paths import config_file
    from chatrepl.app.wiring import Session

    path = config_file(environment.env)
    where = f"{path}" if path.exists() else f"{path}, not there yet"
    args = build_parser(config_path=where).parse_args(argv)
    if args.search is not None and args.leaderboard:
        raise ConfigError("--search and --leaderboard are two runs: give one")
    if args.search is not None:
        from chatrepl.app.search import run_search

        return run_search(args, environment)
    if args.leaderboard:
        from chatrepl.app.leaderboard import run_leaderboard

        return run_leaderboard(args, environment)
    if args.since or (args.json and args.compare is None):
        raise ConfigError(
            "--json goes with --search TEXT or --compare; --since with --search "
            "(both with --leaderboard too)"
        )
    if args.tag:
        raise ConfigError("--tag goes with --leaderboard")
    with Session(args, environment, redactor=redactor) as session:
        if args.compare is not None:
            from chatrepl.app.compare import run_compare

            return run_compare(session)
        if session.one_shot:
            from chatrepl.app.oneshot import run_one_shot

            return run_one_shot(session)
        from chatrepl.app.repl import run_repl

        return run_repl(session)


_SECRET_NAMES = re.compile(r"(?:^|_)(?:KEY|TOKEN|SECRET|PASSWORD)$", re.I)


def secrets_in_env(env: Mapping[str, str]) -> Iterable[str]:
    """Values of variables named like secrets (`*_KEY`, `*_TOKEN`…), masked from the start:
    an error can come before the key is even looked up."""
    for name, value in env.items():
        if _SECRET_NAMES.search(name) and len(value.strip()) >= 8:
            yield value.strip()


def _say(stream: IO[str], text: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # a closed terminal hears nothing
        stream.write(text)
        stream.flush()


def guarded(argv: Sequence[str] | None, environment: Environment) -> int:
    """The error boundary: every expected failure is one line and an exit status."""
    raw = list(argv) if argv is not None else sys.argv[1:]
    debug = "--debug" in raw
    redact = Redactor(secrets_in_env(environment.env))
    guard = TerminalGuard(environment.stdin, environment.stdout, tty=environment.stdin_isatty)
    status: int = ExitStatus.API
    try:
        with handled_signals(guard) as signals:
            status = _run_guarded(argv, environment, redact, debug=debug)
            if signals.received is not None:  # a signal turned into another failure
                status = ExitStatus.for_signal(signals.received)
    except TerminatedBySignal as exc:  # it arrived on the way out
        status = ExitStatus.for_signal(exc.signum)
    finally:
        guard.restore()
    return status


def _run_guarded(
    argv: Sequence[str] | None, environment: Environment, redact: Redactor, *, debug: bool
) -> int:
    stderr = environment.stderr
    try:
        return run(argv, environment, redactor=redact)
    except TerminatedBySignal as exc:
        return ExitStatus.for_signal(exc.signum)
    except KeyboardInterrupt:
        _say(stderr, "\n")
        return ExitStatus.INTERRUPTED
    except ChatReplError as exc:
        if debug:
            _say(stderr, redact(_traceback()))
        _say(stderr, redact(f"chatrepl: {exc}") + "\n")
        return exc.exit_status
    except BrokenPipeError:
        # the reader went away (`chatrepl ... | head`): not our failure
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        return ExitStatus.OK
    except Exception as exc:
        if debug:
            _say(stderr, redact(_traceback()))
        _say(
            stderr,
            redact(
                f"chatrepl: internal error: {type(exc).__name__}: {exc} "
                "(run with --debug for the traceback)"
            )
            + "\n",
        )
        return ExitStatus.API


def _traceback() -> str:
    import traceback

    return traceback.format_exc()


def main(argv: Sequence[str] | None = None) -> int:
    """The console script."""
    return int(guarded(argv, Environment.from_process()))
