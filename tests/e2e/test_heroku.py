"""Heroku exactly: whole one-shot runs in-process against a Heroku-like loopback server.

With only INFERENCE_URL and INFERENCE_KEY (the standard plan sets no model), nothing is
ever sent without a model; the dialect's rules hold before anything is sent; the
server's quirks (stream_options refused, a double-encoded error, usage on a choices
chunk, a 429 without Retry-After) are recovered from or shown as one line; `--app`
reads the add-on through a fake `heroku` executable on PATH (a real process boundary).
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from herokuserver import CHAT_MODELS, KEY, HerokuServer

from chatrepl.adapters.endpoints import EndpointMemory
from chatrepl.app.cli import build_parser, guarded
from chatrepl.app.environment import Environment
from chatrepl.app.wiring import Session
from chatrepl.core.errors import ExitStatus


class Run:
    """One in-process run: its exit status and what it wrote."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        environment = Environment(
            stdin=io.StringIO(""), stdout=self.stdout, stderr=self.stderr, env=env
        )
        self.status = guarded(argv, environment)
        self.out, self.err = self.stdout.getvalue(), self.stderr.getvalue()

    def never_raw(self) -> None:
        """No JSON, no markup, no key, no traceback in anything the run wrote."""
        for text in (self.out, self.err):
            assert '{"' not in text and "</" not in text and "<html" not in text.lower()
            assert KEY not in text and "Traceback" not in text


def heroku_env(server: HerokuServer, **extra: str) -> dict[str, str]:
    """What Heroku's standard plan puts in the environment: a URL and a key, no model."""
    return {**os.environ, "INFERENCE_URL": server.url, "INFERENCE_KEY": KEY, **extra}


def memory() -> EndpointMemory:
    return EndpointMemory(Path(os.environ["XDG_STATE_HOME"]) / "chatrepl" / "endpoints.json")


# --- never a request without a model -------------------------------------------------


def test_no_model_anywhere_exits_2_naming_the_flag_and_the_chat_models(
    heroku_server: HerokuServer,
) -> None:
    run = Run(["hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.USAGE
    assert run.err == (
        "chatrepl: no model chosen: pass -m/--model MODEL (chat models at "
        f"127.0.0.1:{heroku_server.port}: {', '.join(CHAT_MODELS)})\n"
    )
    assert "cohere-embed-multilingual" not in run.err and "stable-image" not in run.err
    assert heroku_server.chat_requests == []
    run.never_raw()


def test_no_model_and_no_list_says_how_to_set_one(heroku_server: HerokuServer) -> None:
    heroku_server.available_models = None
    run = Run(["hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.USAGE
    assert run.err.startswith(
        "chatrepl: no model chosen: pass -m/--model MODEL (or set INFERENCE_MODEL_ID); "
        "the model list is unavailable: HTTP 404: "
    )
    assert heroku_server.chat_requests == []


def test_the_remembered_model_is_used_and_shown_as_its_source(
    heroku_server: HerokuServer,
) -> None:
    memory().remember_model(heroku_server.url, "kimi-k2-5")
    env = heroku_env(heroku_server)
    run = Run(["hello"], env)
    assert run.status == ExitStatus.OK, run.err
    assert run.out == "You said: hello\n"
    assert {r.body["model"] for r in heroku_server.chat_requests} == {"kimi-k2-5"}
    args = build_parser().parse_args([])
    environment = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
    environment = Environment(
        stdin=environment.stdin, stdout=environment.stdout, stderr=environment.stderr, env=env
    )
    with Session(args, environment) as session:
        assert session.resolved.settings.model == "kimi-k2-5"
        assert session.resolved.sources["model"].startswith("remembered for this endpoint")
        assert session.resolved.sources["dialect"] == (
            "detected: URL from Heroku's add-on variables"
        )


def test_a_flag_outranks_the_remembered_model(heroku_server: HerokuServer) -> None:
    memory().remember_model(heroku_server.url, "kimi-k2-5")
    run = Run(["-m", "claude-4-5-haiku", "hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.OK
    assert heroku_server.chat_requests[-1].body["model"] == "claude-4-5-haiku"


# --- the server's quirks ---------------------------------------------------------------


def test_stream_options_refused_once_then_never_sent_again_even_next_run(
    heroku_server: HerokuServer,
) -> None:
    env = heroku_env(heroku_server)
    run = Run(["-m", "claude-4-5-haiku", "hello"], env)
    assert (run.status, run.out) == (ExitStatus.OK, "You said: hello\n")
    assert "the server refused stream_options; retrying without it" in run.err
    first, second = heroku_server.chat_requests
    assert "stream_options" in first.body and "stream_options" not in second.body
    assert memory().refused(heroku_server.url) == {"stream_options"}
    run = Run(["-m", "claude-4-5-haiku", "again"], env)
    assert run.status == ExitStatus.OK and "refused" not in run.err
    assert len(heroku_server.chat_requests) == 3
    assert "stream_options" not in heroku_server.chat_requests[-1].body
    run.never_raw()


def test_usage_from_a_choices_chunk_reaches_the_stats_line(heroku_server: HerokuServer) -> None:
    memory().remember_refused(heroku_server.url, "stream_options")
    run = Run(["-m", "claude-4-5-haiku", "--think", "on", "hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.OK, run.err
    (request,) = heroku_server.chat_requests
    assert request.body["extended_thinking"] == {
        "enabled": True,
        "budget_tokens": 1024,
        "include_reasoning": True,
    }
    assert "Thinking with a budget of 1024 tokens." in run.err  # reasoning, on stderr
    assert run.out == "You said: hello\n"  # never mixed into the answer
    assert "tokens (9 reasoning)" in run.err


def test_a_budget_below_heroku_minimum_exits_2_and_sends_nothing(
    heroku_server: HerokuServer,
) -> None:
    run = Run(["-m", "claude-4-5-haiku", "--think", "512", "hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.USAGE
    assert run.err == (
        "chatrepl: --think 512: Heroku's thinking budget is at least 1024 tokens, not 512\n"
    )
    assert heroku_server.chat_requests == []


def test_a_budget_on_a_dialect_without_one_exits_2(heroku_server: HerokuServer) -> None:
    env = heroku_env(heroku_server)
    run = Run(["-m", "x", "--dialect", "openai", "--think", "2048", "hello"], env)
    assert run.status == ExitStatus.USAGE
    assert "a thinking budget in tokens is Heroku's extended_thinking" in run.err
    assert heroku_server.chat_requests == []


def test_temperature_above_one_exits_2_on_heroku_and_nothing_is_sent(
    heroku_server: HerokuServer,
) -> None:
    run = Run(["-m", "claude-4-5-haiku", "-t", "1.5", "hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.USAGE
    assert run.err == (
        "chatrepl: --temperature 1.5: temperature 1.5 is outside Heroku's range, 0 to 1\n"
    )
    assert heroku_server.requests == []


def test_a_user_set_parameter_the_server_refuses_is_named_never_dropped(
    heroku_server: HerokuServer,
) -> None:
    # the user insists this is not Heroku; Heroku refuses it anyway, and says why
    env = heroku_env(heroku_server)
    run = Run(["-m", "claude-4-5-haiku", "--dialect", "generic", "-t", "1.5", "hi"], env)
    assert run.status == ExitStatus.API
    assert run.err.splitlines()[-1] == (
        "error: HTTP 400: the server refused temperature, which /temperature set "
        "(temperature must be between 0.0 and 1.0)"
    )
    assert all(r.body.get("temperature") == 1.5 for r in heroku_server.chat_requests)
    run.never_raw()


def test_the_double_encoded_error_is_one_readable_line(heroku_server: HerokuServer) -> None:
    # with the recovery used up (a second 400), the error itself must still read well
    from fakeserver import Reply
    from herokuserver import STREAM_OPTIONS_REFUSED

    for _ in range(2):
        heroku_server.enqueue(Reply(status=400, body=STREAM_OPTIONS_REFUSED))
    run = Run(["-m", "claude-4-5-haiku", "hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.API
    assert run.err.splitlines()[-1] == (
        "error: HTTP 400: unrecognized request argument supplied: stream_options"
    )
    run.never_raw()


def test_a_model_the_key_cannot_use_is_named_with_a_hint(heroku_server: HerokuServer) -> None:
    memory().remember_refused(heroku_server.url, "stream_options")
    run = Run(["-m", "claude-9", "hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.API
    assert run.err.splitlines()[-1] == (
        "error: HTTP 403: this key has no access to model 'claude-9' "
        "(/models lists the ones it has) (You do not have access to that model)"
    )


def test_a_rate_limit_without_retry_after_waits_for_the_reset_and_says_so(
    heroku_server: HerokuServer,
) -> None:
    memory().remember_refused(heroku_server.url, "stream_options")
    heroku_server.limit_next(reset="250ms")
    run = Run(["-m", "claude-4-5-haiku", "hello"], heroku_env(heroku_server))
    assert (run.status, run.out) == (ExitStatus.OK, "You said: hello\n"), run.err
    assert "rate limited — waiting 0.2 s (x-ratelimit-reset-requests)" in run.err
    assert len(heroku_server.chat_requests) == 2


def test_a_rate_limit_resetting_in_minutes_is_one_line_and_exit_1(
    heroku_server: HerokuServer,
) -> None:
    memory().remember_refused(heroku_server.url, "stream_options")
    heroku_server.limit_next(reset="6m0s")
    run = Run(["-m", "claude-4-5-haiku", "hello"], heroku_env(heroku_server))
    assert run.status == ExitStatus.API
    assert run.err.splitlines()[-1] == (
        "error: HTTP 429: rate limited; the limit resets in 6m0s "
        "(Rate limit exceeded. Please try again later.)"
    )
    assert len(heroku_server.chat_requests) == 1


# --- --addon and --app -----------------------------------------------------------------


def test_addon_alias_reads_its_own_variables(heroku_server: HerokuServer) -> None:
    env = {
        **os.environ,
        "MYAI_URL": heroku_server.url,
        "MYAI_KEY": KEY,
        "MYAI_MODEL_ID": "claude-4-5-sonnet",
    }
    run = Run(["--addon", "myai", "hello"], env)
    assert run.status == ExitStatus.OK, run.err
    request = heroku_server.chat_requests[-1]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "claude-4-5-sonnet"
    run = Run(["--addon", "OTHER", "hello"], env)
    assert (run.status, run.err) == (
        ExitStatus.USAGE,
        "chatrepl: the environment has no OTHER_URL; is the Heroku Managed Inference "
        "add-on attached?\n",
    )


def fake_heroku(folder: Path, *, config: dict[str, str] | None, fail: str | None = None) -> Path:
    """A `heroku` executable that prints `config` for `config --json -a APP`, or fails."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "calls.log"
    script = folder / "heroku"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"fail = {fail!r}\n"
        "if fail:\n"
        "    sys.stderr.write(' \\u203a   Error: ' + fail + '\\n')\n"
        "    sys.exit(1)\n"
        f"print(json.dumps({config!r}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def app_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_")}
    return {**env, "PATH": f"{folder}{os.pathsep}{env.get('PATH', '')}"}


def test_app_reads_the_addon_with_the_heroku_cli_and_never_shows_the_key(
    heroku_server: HerokuServer, tmp_path: Path
) -> None:
    config = {
        "INFERENCE_URL": heroku_server.url,
        "INFERENCE_KEY": KEY,
        "INFERENCE_MODEL_ID": "claude-4-5-haiku",
        "DATABASE_URL": "postgres://user:secretpw@db/x",
    }
    log = fake_heroku(tmp_path / "bin", config=config)
    run = Run(["--app", "my-app", "hello"], app_env(tmp_path / "bin"))
    assert run.status == ExitStatus.OK, run.err
    assert json.loads(log.read_text()) == ["config", "--json", "-a", "my-app"]
    request = heroku_server.chat_requests[-1]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "claude-4-5-haiku"
    assert "secretpw" not in run.out + run.err
    run.never_raw()


def test_app_with_the_addon_under_another_alias_suggests_addon(
    heroku_server: HerokuServer, tmp_path: Path
) -> None:
    config = {"MYAI_URL": "https://us.inference.heroku.com", "MYAI_KEY": KEY}
    fake_heroku(tmp_path / "bin", config=config)
    run = Run(["--app", "my-app", "hello"], app_env(tmp_path / "bin"))
    assert (run.status, run.err) == (
        ExitStatus.USAGE,
        "chatrepl: heroku app my-app has no INFERENCE_URL; it is attached as MYAI: "
        "add --addon MYAI\n",
    )
    config = {"MYAI_URL": heroku_server.url, "MYAI_KEY": KEY}
    fake_heroku(tmp_path / "bin", config=config)
    run = Run(
        ["--app", "my-app", "--addon", "MYAI", "-m", "kimi-k2-5", "hi"], app_env(tmp_path / "bin")
    )
    assert run.status == ExitStatus.OK, run.err


@pytest.mark.parametrize(
    ("fail", "line"),
    [
        (
            "Couldn't find that app.",
            "`heroku config --json -a my-app` failed: Couldn't find that app.",
        ),
        ("Invalid credentials provided.", "failed: Invalid credentials provided."),
    ],
)
def test_a_failing_heroku_cli_is_one_line(tmp_path: Path, fail: str, line: str) -> None:
    fake_heroku(tmp_path / "bin", config=None, fail=fail)
    run = Run(["--app", "my-app", "hello"], app_env(tmp_path / "bin"))
    assert run.status == ExitStatus.USAGE
    assert run.err.startswith("chatrepl: ") and run.err.rstrip().endswith(line)
    assert run.err.count("\n") == 1


def test_a_missing_heroku_cli_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**app_env(empty), "PATH": str(empty)}
    run = Run(["--app", "my-app", "hello"], env)
    assert run.status == ExitStatus.USAGE
    assert run.err == (
        "chatrepl: --app needs the Heroku CLI, and `heroku` is not on PATH "
        "(https://devcenter.heroku.com/articles/heroku-cli)\n"
    )


def test_app_in_a_profile(heroku_server: HerokuServer, tmp_path: Path) -> None:
    config = {"INFERENCE_URL": heroku_server.url, "INFERENCE_KEY": KEY}
    fake_heroku(tmp_path / "bin", config=config)
    toml = tmp_path / "config.toml"
    toml.write_text('[profiles.work]\napp = "my-app"\nmodel = "kimi-k2-5"\n')
    env = {**app_env(tmp_path / "bin"), "CHATREPL_CONFIG": str(toml)}
    run = Run(["--profile", "work", "hello"], env)
    assert run.status == ExitStatus.OK, run.err
    assert heroku_server.chat_requests[-1].body["model"] == "kimi-k2-5"


# --- the picker's rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "chosen"),
    [
        ("1", "claude-4-5-haiku"),
        ("4", "openai-gpt-oss-120b"),
        (" 3 ", "kimi-k2-5"),
        ("kimi-k2-5", "kimi-k2-5"),
        ("open", "openai-gpt-oss-120b"),  # a unique prefix
        ("0", "pick a number from 1 to 4, or type a name"),
        ("5", "pick a number from 1 to 4, or type a name"),
        ("claude", "'claude' could be claude-4-5-haiku, claude-4-5-sonnet: type more of it"),
        ("gpt-4o", "no model 'gpt-4o' here: pick a number from 1 to 4"),
    ],
)
def test_choose_reads_a_number_a_name_or_a_prefix(text: str, chosen: str) -> None:
    from chatrepl.app.model_choice import choose

    try:
        assert choose(text, CHAT_MODELS) == chosen
    except ValueError as exc:
        assert str(exc) == chosen


def test_pick_model_asks_until_valid_and_a_single_model_needs_no_question() -> None:
    from fakes import RecordingView

    from chatrepl.app.model_choice import pick_model

    answers = iter(["nine", "2"])
    view = RecordingView()
    got = pick_model(CHAT_MODELS, view=view, read=lambda _: next(answers), where="here")
    assert got == "claude-4-5-sonnet"
    assert view.errors == ["no model 'nine' here: pick a number from 1 to 4"]
    assert view.tables[0][1][0] == ("1", "claude-4-5-haiku")
    assert pick_model(["only"], view=view, read=lambda _: None, where="here") == "only"
    declined = pick_model(CHAT_MODELS, view=view, read=lambda _: None, where="here")
    assert declined is None and "no model chosen" in view.infos[-1]
