"""The context meter's arithmetic: the estimate, readings, windows, overflow errors."""

from __future__ import annotations

import pytest

from chatrepl.core.context import (
    BUILTIN_WINDOWS,
    IMAGE_TOKENS,
    MESSAGE_OVERHEAD,
    Meter,
    Reading,
    Window,
    compact_number,
    estimate,
    is_overflow,
    lookup,
    message_tokens,
    parse_windows,
    tokens_in_error,
    window_in_error,
)
from chatrepl.core.errors import ApiError, TransportError
from chatrepl.core.messages import Attachment, Compaction, Message, TurnStats, Usage

PNG = Attachment("a.png", 10, "ab" * 32, "image/png")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("abcd", 1),
        ("abcde", 2),
        ("x" * 4000, 1000),
        ("é", 1),
        ("日本語", 3),
        ("🙂" * 2, 2),
    ],
)
def test_the_estimate_is_utf8_bytes_over_four_rounded_up(text: str, tokens: int) -> None:
    assert estimate(text) == tokens


def test_a_message_adds_its_template_overhead_and_its_images_but_not_its_reasoning() -> None:
    plain = Message("assistant", "x" * 40, reasoning="y" * 4000)
    assert message_tokens(plain) == 10 + MESSAGE_OVERHEAD
    with_image = Message("user", "x" * 40, attachments=(PNG,))
    assert message_tokens(with_image) == 10 + MESSAGE_OVERHEAD + IMAGE_TOKENS


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (987, "987"),
        (1000, "1k"),
        (4096, "4.1k"),
        (12_400, "12.4k"),
        (131_072, "131k"),
        (200_000, "200k"),
        (999_499, "999k"),
        (999_500, "1M"),
        (1_500_000, "1.5M"),
    ],
)
def test_compact_numbers(n: int, text: str) -> None:
    assert compact_number(n) == text


def test_a_reading_reads_like_the_toolbar_and_turns_amber_past_eighty_percent() -> None:
    window = Window(200_000, "config")
    assert Reading(12_400, window).text() == "12.4k / 200k · 6 %"
    assert Reading(100, window).text() == "100 / 200k · <1 %"
    assert Reading(12_400, None).text() == "12.4k tokens"
    assert not Reading(160_000, window).warn  # exactly 80 %: not yet
    assert Reading(160_001, window).warn and not Reading(160_001, window).over
    assert Reading(200_001, window).over
    assert not Reading(10**9, None).warn and not Reading(10**9, None).over


def reply(text: str, prompt: int | None = None, completion: int | None = None) -> Message:
    usage = None if prompt is None else Usage(prompt, completion)
    return Message("assistant", text, stats=TurnStats(model="m", usage=usage))


def test_the_server_count_of_the_last_reply_plus_an_estimate_of_what_came_after() -> None:
    messages = [
        Message("user", "q" * 40),
        reply("a" * 40, prompt=30, completion=12),
        Message("user", "x" * 400),  # added since: estimated
    ]
    reading = Meter().read(messages, system="be brief", compaction=None, window=None)
    assert reading.counted == 42
    assert reading.tokens == 42 + 100 + MESSAGE_OVERHEAD


def test_without_usage_everything_is_estimated_system_prompt_included() -> None:
    messages = [Message("user", "q" * 40), reply("a" * 40)]
    reading = Meter().read(messages, system="s" * 8, compaction=None, window=None)
    assert reading.counted == 0
    assert reading.tokens == (2 + MESSAGE_OVERHEAD) + 2 * (10 + MESSAGE_OVERHEAD)


def test_a_reply_without_completion_tokens_counts_its_own_estimate() -> None:
    messages = [Message("user", "q"), reply("a" * 40, prompt=30)]
    assert Meter().read(messages, system=None, compaction=None, window=None).tokens == 44


def test_after_a_compaction_only_the_kept_turns_and_later_counts_are_used() -> None:
    messages = [
        Message("user", "old" * 400),
        reply("old answer", prompt=5000, completion=100),
        Message("user", "q" * 40),
        reply("a" * 40, prompt=6000, completion=10),  # asked before the compaction
    ]
    record = Compaction(upto=2, count=4, at=0.0, how="trim")
    reading = Meter().read(messages, system=None, compaction=record, window=None)
    assert reading.counted == 0  # both counts include turns no longer sent
    assert reading.tokens == 2 * (10 + MESSAGE_OVERHEAD)
    messages += [Message("user", "next"), reply("b", prompt=70, completion=3)]
    assert Meter().read(messages, system=None, compaction=record, window=None).counted == 73


def test_the_meter_follows_edits_of_history_not_just_appends() -> None:
    meter = Meter()
    messages = [Message("user", "x" * 400), reply("a" * 40)]
    first = meter.read(messages, system=None, compaction=None, window=None).tokens
    messages[0] = Message("user", "x" * 4)  # /edit replaced the first message
    second = meter.read(messages, system=None, compaction=None, window=None).tokens
    assert first - second == 99
    assert second == Meter().read(messages, system=None, compaction=None, window=None).tokens


def test_the_meter_learns_how_the_estimate_compares_with_the_servers_count() -> None:
    meter = Meter()
    big = [Message("user", "w" * 4000), reply("ok", prompt=2000, completion=4)]
    meter.read(big, system=None, compaction=None, window=None)
    assert meter.scale == pytest.approx(2004 / (1004 + 5))
    # what comes after the count is estimated with that scale
    later = [*big, Message("user", "z" * 396)]
    tokens = meter.read(later, system=None, compaction=None, window=None).tokens
    assert tokens == 2004 + round((99 + MESSAGE_OVERHEAD) * meter.scale)
    small = Meter()
    small.read(
        [Message("user", "hi"), reply("a", prompt=40)], system=None, compaction=None, window=None
    )
    assert small.scale == 1.0  # a chat template's fixed cost is not a ratio


# --- windows -----------------------------------------------------------------------------


def test_windows_from_the_config_by_name_then_by_pattern() -> None:
    windows = parse_windows({"llama3*": {"context": 131072}, "llama3.2": {"context": 8192}})
    assert lookup(windows, "llama3.2") == 8192
    assert lookup(windows, "llama3.1:70b") == 131072
    assert lookup(windows, "qwen") is None and lookup(windows, None) is None


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ([], "must be a table"),
        ({"m": 5}, 'must be a table [models."m"]'),
        ({"m": {"context": 0}}, "positive whole number"),
        ({"m": {"context": True}}, "positive whole number"),
        ({"m": {"context": "200k"}}, "positive whole number"),
        ({"m": {"contxt": 5}}, "unknown key 'models.m.contxt'"),
    ],
)
def test_bad_window_tables_say_what_is_wrong(table: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace(".", r"\.")):
        parse_windows(table)


def test_the_built_in_table_covers_herokus_chat_models() -> None:
    for model in ("claude-4-5-sonnet", "claude-4-5-haiku", "claude-sonnet-4-6", "nova-pro"):
        assert lookup(BUILTIN_WINDOWS, model)
    assert BUILTIN_WINDOWS["openai-gpt-oss-120b"] == 131_072


# --- what servers say when a request does not fit ----------------------------------------

OVERFLOWS = [
    # OpenAI (code context_length_exceeded)
    "HTTP 400: This model's maximum context length is 8192 tokens. However, your messages "
    "resulted in 9013 tokens. Please reduce the length of the messages.",
    # llama.cpp's server, as tests/llamacpp sees it
    "HTTP 400: request (5031 tokens) exceeds the available context size (4096 tokens), try "
    "increasing it",
    # vLLM, older and v1
    "HTTP 400: This model's maximum context length is 4096 tokens. However, you requested "
    "5000 tokens (4000 in the messages, 1000 in the completion).",
    "HTTP 400: The decoder prompt (length 5120) is longer than the maximum model length of 4096.",
    # Anthropic, and Claude through Heroku
    "HTTP 400: prompt is too long: 210345 tokens > 200000 maximum",
    # Amazon Bedrock, Mistral, Gemini
    "HTTP 400: Input is too long for requested model.",
    "HTTP 400: Prompt contains 40000 tokens, too large for model with 32768 maximum context length",
    "HTTP 400: The input token count (1200000) exceeds the maximum number of tokens allowed "
    "(1048576).",
    # only the code came back
    "HTTP 400: context_length_exceeded",
]


@pytest.mark.parametrize("message", OVERFLOWS)
def test_context_length_errors_are_recognised(message: str) -> None:
    assert is_overflow(ApiError(message, status=400))
    assert is_overflow(ApiError(message.removeprefix("HTTP 400: ")))  # mid-stream, no status


@pytest.mark.parametrize(
    "error",
    [
        ApiError("HTTP 400: temperature must be between 0 and 1", status=400),
        ApiError("HTTP 429: rate limited (maximum context length)", status=429),
        ApiError("HTTP 401: the server refused the key", status=401),
        TransportError("cannot reach h: maximum context length"),
        None,
    ],
)
def test_other_failures_are_not_overflows(error: object) -> None:
    assert not is_overflow(error)  # type: ignore[arg-type]


def test_the_window_and_the_count_a_server_names_are_read_from_its_message() -> None:
    llama = ApiError(OVERFLOWS[1], status=400)
    assert window_in_error(llama) == 4096 and tokens_in_error(llama) == 5031
    openai = ApiError(OVERFLOWS[0], status=400)
    assert window_in_error(openai) == 8192 and tokens_in_error(openai) == 9013
    anthropic = ApiError(OVERFLOWS[4], status=400)
    assert window_in_error(anthropic) == 200_000 and tokens_in_error(anthropic) == 210_345
    vllm = ApiError(OVERFLOWS[3], status=400)
    assert window_in_error(vllm) == 4096 and tokens_in_error(vllm) == 5120
    assert window_in_error(ApiError(OVERFLOWS[5])) is None
