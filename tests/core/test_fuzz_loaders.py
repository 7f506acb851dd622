"""Fuzzing every loader: transcripts (JSON, JSON Lines, Markdown, message lists, request
bodies) and the config file. Any input gives a result or one clean error naming the file;
nothing else is ever raised, and what loads can be saved again."""

from __future__ import annotations

import json
import math

import pytest
from fuzzing import ANY_TEXT, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from chatrepl.core import transcript
from chatrepl.core.errors import ConfigError, TranscriptError
from chatrepl.core.settings import CONFIG_KEYS, Layer, from_toml, resolve, resolve_key

pytestmark = pytest.mark.fuzz

NAME = "fuzzed.json"
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "format",
                    "version",
                    "settings",
                    "messages",
                    "role",
                    "content",
                    "stats",
                    "model",
                    "temperature",
                    "max_tokens",
                    "system",
                    "reasoning",
                    "usage",
                    "type",
                    "text",
                    "max_completion_tokens",
                    "profile",
                    "interrupted",
                    "timestamp",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=6,
        )
    ),
    max_leaves=25,
)
ROLES = st.sampled_from(["user", "assistant", "system", "developer", "tool", 3, None])


def loaded_or_refused(data: bytes) -> transcript.Transcript | None:
    try:
        loaded = transcript.loads_bytes(data, name=NAME)
    except TranscriptError as exc:
        assert str(exc).startswith(f"{NAME}: ") and "\n" not in str(exc)
        return None
    # whatever loads can be written again, in every format, and reads back the same
    messages, settings = loaded.conversation, loaded.settings
    for text in (transcript.dumps(messages, settings), transcript.to_markdown(messages, settings)):
        text.encode("utf-8")
        again = transcript.loads(text, name=NAME)
        assert again.conversation == messages
    return loaded


@fuzz_settings
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes) -> None:
    loaded_or_refused(data)


@fuzz_settings
@given(JSON)
def test_arbitrary_json(value: object) -> None:
    loaded_or_refused(json.dumps(value).encode())


@fuzz_settings
@given(st.lists(st.fixed_dictionaries({"role": ROLES, "content": JSON}), max_size=6), JSON)
def test_message_lists_and_request_bodies(messages: list[dict], extra: object) -> None:
    loaded_or_refused(json.dumps(messages).encode())
    body = {"model": extra, "messages": messages, "temperature": extra, "max_tokens": extra}
    loaded_or_refused(json.dumps(body).encode())


@fuzz_settings
@given(JSON, st.lists(JSON, max_size=5), st.booleans())
def test_chatrepl_documents_and_json_lines(settings: object, records: list, torn: bool) -> None:
    head = {"format": transcript.FORMAT, "version": 2, "settings": settings}
    loaded_or_refused(json.dumps({**head, "messages": records}).encode())
    lines = "\n".join(json.dumps(r) for r in [head, *records]) + ("" if torn else "\n")
    loaded_or_refused(lines.encode())


@fuzz_settings
@given(ANY_TEXT, ANY_TEXT, st.sampled_from(["msg", "x", ""]))
def test_markdown_like_text(front: str, body: str, boundary: str) -> None:
    text = (
        f'---\nformat: "chatrepl.transcript"\nversion: 2\nboundary: "{boundary}"\n{front}\n---\n'
        f'<!-- chatrepl:{boundary} {{"role": "user"}} -->\n## user\n\n{body}\n\n'
    )
    loaded_or_refused(text.encode("utf-8", "surrogatepass"))


TOML_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats().map(
        lambda f: (
            "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf") if math.isinf(f) else repr(f)
        )
    ),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20).map(json.dumps),
    st.lists(st.text(max_size=5).map(json.dumps), max_size=3).map(lambda v: f"[{', '.join(v)}]"),
    st.just("1e400"),
    st.just("{a = 1}"),
)


@fuzz_settings
@given(
    st.lists(
        st.tuples(st.sampled_from([*CONFIG_KEYS, "key", "temprature"]), TOML_VALUES), max_size=8
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["work", "local", "x y"]), st.sampled_from(CONFIG_KEYS), TOML_VALUES
        ),
        max_size=4,
    ),
)
def test_config_files_give_settings_or_one_clean_error(top: list, profiles: list) -> None:
    lines = [f"{key} = {value}" for key, value in dict(top).items()]
    for name, key, value in profiles:
        lines += [f'[profiles."{name}"]', f"{key} = {value}"]
    text = "\n".join(lines)
    try:
        config = from_toml(text, path="c.toml")
    except ConfigError as exc:
        assert str(exc).startswith("c.toml: ") and "\n" not in str(exc)
        return
    try:
        resolve_key(
            resolve(config.base, *config.profiles.values()),
            {},
            run_command=lambda words: "inf-from-command",
        )
    except ConfigError as exc:
        assert "\n" not in str(exc)


@fuzz_settings
@given(ANY_TEXT)
def test_any_text_as_a_config_file(text: str) -> None:
    try:
        from_toml(text, path="c.toml")
    except ConfigError as exc:
        assert str(exc).startswith("c.toml: ")


@fuzz_settings
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "INFERENCE_URL",
                "INFERENCE_MODEL_ID",
                "INFERENCE_KEY",
                "OPENAI_API_KEY",
                "OPENAI_BASE_URL",
            ]
        ),
        ANY_TEXT,
    )
)
def test_any_environment_gives_settings_or_one_clean_error(env: dict[str, str]) -> None:
    from chatrepl.core.settings import from_env

    try:
        resolved = resolve_key(resolve(from_env(env), Layer("flag", {})), env)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        key = (env.get("INFERENCE_KEY") or env.get("OPENAI_API_KEY") or "").strip()
        elsewhere = any(key in v for k, v in env.items() if not k.endswith("KEY"))
        assert len(key) < 8 or elsewhere or key not in str(exc)
        return
    if resolved.settings.key is not None:
        resolved.settings.key.value.encode("ascii")  # goes into a header as it is
