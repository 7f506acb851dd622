"""Each server's dialect: its valid ranges, how to ask it for reasoning, where it lists
models, and how to recognise it. Pure: values and rules, no I/O.

Every rule here rests on evidence, named next to it (REFERENCE.md's facts about Heroku,
the servers' own source, or behaviour observed against a real server). A rule we could
not check is left out rather than guessed: `generic` asks for nothing unusual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DIALECTS = ("heroku", "openai", "llamacpp", "ollama", "vllm", "generic")
EFFORTS = ("low", "medium", "high")
HEROKU_MIN_BUDGET = 1024  # extended_thinking.budget_tokens ≥ 1024 (Heroku's API reference)
HEROKU_HOST_SUFFIX = ".inference.heroku.com"

OPENAI_MODELS = "/v1/models"
HEROKU_MODELS = "/available-models"


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one kind of server accepts."""

    name: str
    label: str  # for messages: "Heroku", "llama.cpp"
    temperature: tuple[float, float]
    # how `/think on` and `/think low|medium|high` are asked for; None: not at all
    think_on: Mapping[str, Any] | None
    effort_via_template: bool = False  # llama.cpp reads reasoning_effort as a template kwarg
    budget: bool = False  # `/think N`: a token budget (Heroku's extended_thinking)
    listings: tuple[str, ...] = (OPENAI_MODELS, HEROKU_MODELS)  # tried in order


_EFFORT_ON = {"reasoning_effort": "medium"}
_TEMPLATE_ON = {"chat_template_kwargs": {"enable_thinking": True}}

TABLE: Mapping[str, Dialect] = {
    # Heroku: temperature 0.0-1.0, above 1.0 is a 400; extended_thinking for Claude,
    # reasoning_effort accepted; models at GET /available-models, no /v1/models
    # (REFERENCE.md, from Heroku's Dev Center and the heroku ai CLI plugin).
    "heroku": Dialect(
        "heroku",
        "Heroku",
        (0.0, 1.0),
        think_on=None,  # `on` is a budget of HEROKU_MIN_BUDGET, built below
        budget=True,
        listings=(HEROKU_MODELS, OPENAI_MODELS),
    ),
    # OpenAI: temperature 0-2; reasoning models take reasoning_effort low|medium|high.
    "openai": Dialect("openai", "OpenAI", (0.0, 2.0), think_on=_EFFORT_ON),
    # llama.cpp's server: seen here to accept any temperature (5 was answered) and to
    # ignore unknown fields; thinking is a chat-template switch (`enable_thinking`,
    # llama.cpp PR #13196), gpt-oss templates read `reasoning_effort` the same way.
    "llamacpp": Dialect(
        "llamacpp",
        "llama.cpp",
        (0.0, 2.0),
        think_on=_TEMPLATE_ON,
        effort_via_template=True,
    ),
    # Ollama's OpenAI layer maps reasoning_effort (and `reasoning.effort`) onto `think`
    # (ollama/openai/openai.go, ChatCompletionRequest.ReasoningEffort).
    "ollama": Dialect("ollama", "Ollama", (0.0, 2.0), think_on=_EFFORT_ON),
    # vLLM: reasoning_effort for gpt-oss; Qwen3-style templates switch on enable_thinking
    # passed through chat_template_kwargs.
    "vllm": Dialect("vllm", "vLLM", (0.0, 2.0), think_on=_TEMPLATE_ON),
    # Anything else: the OpenAI request shape, nothing a strict server could refuse
    # beyond what OpenAI itself defines.
    "generic": Dialect("generic", "this server", (0.0, 2.0), think_on=_EFFORT_ON),
}


def dialect(name: str | None) -> Dialect:
    """The dialect called `name` (None: generic)."""
    return TABLE.get(name or "generic", TABLE["generic"])


# --- parsing the settings that depend on it ------------------------------------------


def parse_dialect(value: Any) -> str:
    """One of the known dialect names."""
    if not isinstance(value, str) or value.strip().lower() not in DIALECTS:
        raise ValueError("one of " + ", ".join(DIALECTS))
    return value.strip().lower()


def parse_think(value: Any) -> str | None:
    """off (None), on, low, medium, high, or a whole number of tokens (a budget)."""
    if value is None or value is False:
        return None
    if value is True:
        return "on"
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        raise ValueError("off, on, low, medium, high or a number of tokens")
    if text in ("off", "none", ""):
        return None
    if text in ("on", *EFFORTS):
        return text
    if text.isdigit() and int(text) > 0:
        return str(int(text))
    raise ValueError("off, on, low, medium, high or a number of tokens")


# --- rules -------------------------------------------------------------------------


def temperature_problem(name: str | None, temperature: float | None) -> str | None:
    """Why this temperature cannot be sent to this dialect, or None."""
    if temperature is None:
        return None
    d = dialect(name)
    lo, hi = d.temperature
    if lo <= temperature <= hi:
        return None
    return f"temperature {temperature:g} is outside {d.label}'s range, {lo:g} to {hi:g}"


def think_problem(name: str | None, think: str | None) -> str | None:
    """Why this /think value cannot be asked of this dialect, or None."""
    if think is None:
        return None
    d = dialect(name)
    if think.isdigit():
        if not d.budget:
            return (
                f"a thinking budget in tokens is Heroku's extended_thinking; "
                f"{d.label} takes /think on or low|medium|high"
            )
        if int(think) < HEROKU_MIN_BUDGET:
            return f"Heroku's thinking budget is at least {HEROKU_MIN_BUDGET} tokens, not {think}"
    return None


def request_problem(
    name: str | None, *, temperature: float | None, think: str | None
) -> str | None:
    """The first reason a request with these settings would be refused, or None."""
    return temperature_problem(name, temperature) or think_problem(name, think)


def thinking_options(name: str | None, think: str | None) -> dict[str, Any]:
    """The request fields that ask this dialect for reasoning (nothing when off)."""
    if think is None or think_problem(name, think):
        return {}
    d = dialect(name)
    if d.budget and (think == "on" or think.isdigit()):
        budget = HEROKU_MIN_BUDGET if think == "on" else int(think)
        return {
            "extended_thinking": {
                "enabled": True,
                "budget_tokens": budget,
                "include_reasoning": True,
            }
        }
    if think in EFFORTS:
        if d.effort_via_template:
            return {"chat_template_kwargs": {"reasoning_effort": think}}
        return {"reasoning_effort": think}
    return {k: dict(v) if isinstance(v, dict) else v for k, v in (d.think_on or {}).items()}


def describe_thinking(name: str | None, think: str | None) -> str:
    """What `/think` will send, in words, e.g. `on: extended_thinking, 1024 tokens`."""
    if think is None:
        return "off"
    options = thinking_options(name, think)
    if "extended_thinking" in options:
        budget = options["extended_thinking"]["budget_tokens"]
        return f"{think} (extended_thinking, budget {budget} tokens)"
    fields = ", ".join(
        f"{k}={v}" if not isinstance(v, dict) else ", ".join(f"{k}.{a}={b}" for a, b in v.items())
        for k, v in options.items()
    )
    return f"{think} ({fields})" if fields else think


# --- recognising the server ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Detected:
    """A dialect and why it was chosen (shown as its source in /settings)."""

    name: str
    why: str


def detect(url: str | None, *, heroku_variables: bool = False) -> Detected:
    """The dialect a base URL implies before any request is made."""
    try:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").lower()
    except ValueError:  # an unparsable URL names no server
        return Detected("generic", "default: nothing in the URL names a server")
    if host == HEROKU_HOST_SUFFIX[1:] or host.endswith(HEROKU_HOST_SUFFIX):
        return Detected("heroku", f"detected: host *{HEROKU_HOST_SUFFIX}")
    if heroku_variables:
        return Detected("heroku", "detected: URL from Heroku's add-on variables")
    if host == "api.openai.com":
        return Detected("openai", "detected: host api.openai.com")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port == 11434:
        return Detected("ollama", "detected: port 11434 (Ollama's default)")
    return Detected("generic", "default: nothing in the URL names a server")


def announced(body: Any, server_header: str | None) -> Detected | None:
    """The dialect a model listing (or its `Server` header) announces, if any.

    llama.cpp sends `Server: llama.cpp` and `owned_by: "llamacpp"` (observed against its
    server); vLLM's model cards say `owned_by: "vllm"`; Ollama's say the model's
    namespace, `library` for its own models; Heroku's `/available-models` is a bare list
    of `{"model_id", "type"}`.
    """
    if server_header and "llama.cpp" in server_header.lower():
        return Detected("llamacpp", "detected: Server: llama.cpp header")
    if (
        isinstance(body, list)
        and body
        and all(isinstance(e, dict) and "model_id" in e and "type" in e for e in body)
    ):
        return Detected("heroku", "detected: /available-models (Heroku's model list)")
    entries = body.get("data") if isinstance(body, dict) else None
    owners = {str(e.get("owned_by", "")).lower() for e in entries or [] if isinstance(e, dict)} - {
        ""
    }
    for owner, name in (("llamacpp", "llamacpp"), ("vllm", "vllm"), ("library", "ollama")):
        if owner in owners:
            return Detected(name, f"detected: /v1/models owned_by {owner}")
    return None


# --- parameters a server may refuse ----------------------------------------------------

# Added by chatrepl on its own: dropped (once, then for good at that endpoint) when a
# 400 names it. Heroku answered `stream_options` with 400 "unrecognized request argument
# supplied" (REFERENCE.md, from crmne/ruby_llm#278).
OWN_PARAMETERS = ("stream_options",)
# Set by the user: never dropped; the error says which command set it.
USER_PARAMETERS: Mapping[str, str] = {
    "temperature": "/temperature",
    "max_tokens": "/max_tokens",
    "extended_thinking": "/think",
    "budget_tokens": "/think",
    "include_reasoning": "/think",
    "reasoning_effort": "/think",
    "chat_template_kwargs": "/think",
}


def _names(message: str, name: str) -> bool:
    import re  # only on the error path

    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) is not None


def refused_parameter(message: str, sent: Mapping[str, Any]) -> str | None:
    """The parameter chatrepl added on its own that a 400's message names, if any."""
    for name in OWN_PARAMETERS:
        if name in sent and _names(message, name):
            return name
    return None


def refused_setting(message: str, sent: Mapping[str, Any]) -> tuple[str, str] | None:
    """(parameter, the command that set it) for a user-set parameter a 400 names."""
    for name, command in USER_PARAMETERS.items():
        top = name if name in sent else None
        if top is None and name in ("budget_tokens", "include_reasoning"):
            top = "extended_thinking" if "extended_thinking" in sent else None
        if top is not None and _names(message, name):
            return top, command
    return None
