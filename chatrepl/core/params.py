"""Extra request parameters: `/set KEY VALUE`, `-o KEY=VALUE`, `[profiles.X.params]`.

Known keys are checked against generic ranges (`GENERIC`); any other key is passed
through as JSON. `check()` is the one place a value is validated, and it takes the
ranges as an argument, so a server dialect that knows tighter ones (Heroku's
`top_p`, say) can hand in its own table without touching the parsing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# keys chatrepl itself sets in every request: no extra parameter may replace them
RESERVED_KEYS = ("model", "messages", "stream", "stream_options", "temperature", "max_tokens")


@dataclass(frozen=True, slots=True)
class Rule:
    """What a known parameter takes."""

    kind: str  # "number", "integer", "stops", "choice", "format"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """The accepted values, as error messages name them."""
        if self.kind == "number":
            return f"a number from {self.low:g} to {self.high:g}"
        if self.kind == "integer":
            return "a whole number"
        if self.kind == "stops":
            return "a stop string or a list of up to 4 (JSON, or words)"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        return 'json, text, or a JSON object like {"type": "json_schema", …}'


Ranges = Mapping[str, Rule]

GENERIC: Ranges = {
    "top_p": Rule("number", 0.0, 1.0),
    "presence_penalty": Rule("number", -2.0, 2.0),
    "frequency_penalty": Rule("number", -2.0, 2.0),
    "seed": Rule("integer"),
    "stop": Rule("stops"),
    "response_format": Rule("format"),
    "reasoning_effort": Rule("choice", choices=("none", "minimal", "low", "medium", "high")),
}
KNOWN_KEYS = tuple(GENERIC)
_FIRST_CLASS = {
    "temperature": "-t/--temperature or /temperature",
    "max_tokens": "--max-tokens or /max_tokens",
    "model": "-m/--model or /model",
}


class ParamError(ValueError):
    """A parameter that cannot be sent as given (the message names what it takes)."""


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def check(key: str, value: Any, *, ranges: Ranges = GENERIC) -> Any:
    """Validate (and normalise) one parameter's value; ParamError says what it takes."""
    if not key or not key.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ParamError(f"{key!r} is not a parameter name")
    if key in _FIRST_CLASS:
        raise ParamError(f"{key} is a setting of its own: use {_FIRST_CLASS[key]}")
    if key in RESERVED_KEYS:
        raise ParamError(f"{key} is set by chatrepl itself")
    if not _finite(value):
        raise ParamError(f"{key} must be finite (JSON has no NaN or infinity)")
    rule = ranges.get(key)
    if rule is None:
        return value
    bad = ParamError(f"{key} takes {rule.describe()}, not {json.dumps(value)}")
    if rule.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        assert rule.low is not None and rule.high is not None
        if not rule.low <= value <= rule.high:
            raise bad
        return float(value)
    if rule.kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if rule.kind == "stops":
        stops = [value] if isinstance(value, str) else value
        if (
            not isinstance(stops, list)
            or not 1 <= len(stops) <= 4
            or not all(isinstance(s, str) and s for s in stops)
        ):
            raise bad
        return list(stops)
    if rule.kind == "choice":
        if value not in rule.choices:
            raise bad
        return value
    # response_format
    if value in ("json", "json_object"):
        return {"type": "json_object"}
    if value == "text":
        return {"type": "text"}
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value
    raise bad


def _json_or_text(text: str) -> Any:
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        if stripped[:1] in '{["':
            raise ParamError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        return text  # a bare word is a string: -o user=alice


def from_text(key: str, text: str, *, ranges: Ranges = GENERIC) -> Any:
    """A value typed on the command line or after /set, read for `key`, then checked."""
    rule = ranges.get(key)
    value: Any
    if rule is not None and rule.kind == "stops" and not text.strip().startswith("["):
        import shlex

        try:
            value = shlex.split(text)  # /set stop "###" END
        except ValueError as exc:
            raise ParamError(f"stop: {exc}") from None
        if len(value) == 1:
            value = value[0]
    elif rule is not None and rule.kind in ("choice", "format") and text.strip()[:1] != "{":
        value = text.strip()
    else:
        try:
            value = _json_or_text(text)
        except ParamError as exc:
            raise ParamError(f"{key}: {exc}") from None
    return check(key, value, ranges=ranges)


def split_assignment(text: str) -> tuple[str, str]:
    """`KEY=VALUE` as `-o` takes it."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ParamError(f"expected KEY=VALUE, not {text!r}")
    return key.strip(), value


def parse_params(value: Any) -> dict[str, Any]:
    """The settings-table parser: a table (config, transcript) or one `KEY=VALUE` (a flag)."""
    if isinstance(value, str):
        key, text = split_assignment(value)
        return {key: from_text(key, text)}
    if isinstance(value, Mapping):
        return {str(k): check(str(k), v) for k, v in value.items()}
    raise ParamError("a table of request parameters, like [profiles.NAME.params]")


def describe_value(value: Any) -> str:
    """A parameter's value as /settings shows it (JSON, which is how it is sent)."""
    return json.dumps(value, ensure_ascii=False)
