"""A loopback server that behaves like Heroku Managed Inference, built on FakeServer.

What it does, each from REFERENCE.md's account of Heroku (and the issue that asked):

- `GET /available-models` (no key needed) lists models of mixed types; there is no
  `/v1/models` (404);
- `POST /v1/chat/completions` needs the key and a `model` (400 without), a model from
  the list (403 "You do not have access to that model"), `temperature` ≤ 1 (400 above);
- `stream_options` is refused with 400 and the error object double-encoded as a string,
  exactly as a real Heroku response was seen;
- every chat response carries `x-ratelimit-*` headers; `limit_next()` makes the next
  chat request a 429 with `x-ratelimit-reset-requests` and no `Retry-After`;
- usage arrives on the last chunk whose `choices` is not empty, with `reasoning_tokens`
  and `cached_input_tokens`;
- `extended_thinking` is echoed into the reasoning (`delta.reasoning`; non-streamed,
  `message.reasoning`).

Scripted replies (`enqueue`) still win over all of that, as with FakeServer.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from fakeserver import FakeServer, Recorded, Reply, completion_body, error_body, sse_event

KEY = "inf-heroku-0123456789abcdefKEY"
MODELS: list[dict[str, Any]] = [
    {"model_id": "claude-4-5-haiku", "type": ["text-to-text"], "regions": ["us", "eu"]},
    {"model_id": "claude-4-5-sonnet", "type": ["text-to-text"], "regions": ["us", "eu"]},
    {"model_id": "cohere-embed-multilingual", "type": ["text-to-embedding"], "regions": ["us"]},
    {"model_id": "kimi-k2-5", "type": ["text-to-text"], "regions": ["us"]},
    {"model_id": "openai-gpt-oss-120b", "type": ["text-to-text"], "regions": ["us"]},
    {"model_id": "stable-image-ultra", "type": ["text-to-image"], "regions": ["us"]},
    {"model_id": "cohere-rerank-3-5", "type": ["text-to-ranking"], "regions": ["us"]},
]
CHAT_MODELS = [m["model_id"] for m in MODELS if "text-to-text" in m["type"]]
REQUEST_LIMIT, TOKEN_LIMIT = 150, 800_000

STREAM_OPTIONS_REFUSED = {
    "error": json.dumps(
        {
            "code": 400,
            "message": "unrecognized request argument supplied: stream_options",
            "type": "invalid_request",
        },
        separators=(",", ":"),
    )
}


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return sse_event(
        {
            "id": "chatcmpl-heroku",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [choice],
            **extra,
        }
    )


class HerokuServer(FakeServer):
    """FakeServer speaking Heroku's dialect (see the module docstring)."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("require_key", KEY)
        super().__init__(models=None, available_models=MODELS, **options)
        self.remaining_requests = REQUEST_LIMIT
        self._limited: deque[str] = deque()
        self._count_lock = threading.Lock()

    def limit_next(self, reset: str = "1s") -> None:
        """The next chat request is answered 429, resetting after `reset`, no Retry-After."""
        self._limited.append(reset)

    def reply_for(self, request: Recorded) -> Reply:
        """Heroku's answer, with rate-limit headers on every chat response."""
        chat = request.path.endswith("/chat/completions")
        if chat and self._limited and self._authorized(request):
            reset = self._limited.popleft()
            reply = Reply.error(429, "Rate limit exceeded. Please try again later.")
            reply.headers.update(self._limit_headers(remaining=0, reset=reset))
            return reply
        reply = super().reply_for(request)
        if chat:
            with self._count_lock:
                self.remaining_requests = max(0, self.remaining_requests - 1)
                left = self.remaining_requests
            reply.headers.update(self._limit_headers(remaining=left, reset="51s"))
        return reply

    def _authorized(self, request: Recorded) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.require_key}"

    @staticmethod
    def _limit_headers(*, remaining: int, reset: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(REQUEST_LIMIT),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": reset,
            "x-ratelimit-limit-tokens": str(TOKEN_LIMIT),
            "x-ratelimit-remaining-tokens": str(TOKEN_LIMIT - 1000),
            "x-ratelimit-reset-tokens": "1m0s",
        }

    def _echo(self, payload: dict[str, Any]) -> Reply:
        """Heroku's checks, then 'You said: …' with its usage and reasoning quirks."""
        model = payload.get("model")
        if not model:
            return Reply(status=400, body=error_body(400, "model is required"))
        if model not in CHAT_MODELS:
            return Reply(status=403, body=error_body(403, "You do not have access to that model"))
        if "stream_options" in payload:
            return Reply(status=400, body=STREAM_OPTIONS_REFUSED)
        temperature = payload.get("temperature")
        if isinstance(temperature, int | float) and not 0 <= temperature <= 1:
            message = "temperature must be between 0.0 and 1.0"
            return Reply(status=400, body=error_body(400, message))
        messages = [m for m in payload.get("messages") or [] if isinstance(m, dict)]
        users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
        text = f"You said: {users[-1] if users else ''}"
        thinking = payload.get("extended_thinking")
        reasoning = ""
        if isinstance(thinking, dict) and thinking.get("enabled"):
            reasoning = f"Thinking with a budget of {thinking.get('budget_tokens')} tokens."
        usage = {
            "prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in messages),
            "completion_tokens": len(text) // 4 + len(reasoning) // 4,
            "total_tokens": 0,
            "reasoning_tokens": len(reasoning) // 4,
            "cached_input_tokens": 3,
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not payload.get("stream"):
            body = completion_body(text, model=str(model))
            body["choices"][0]["message"]["reasoning"] = reasoning or None
            body["usage"] = usage
            return Reply(body=body)
        chunks = [_chunk(str(model), {"role": "assistant", "content": ""})]
        chunks += [
            _chunk(str(model), {"reasoning": reasoning[i : i + 8]})
            for i in range(0, len(reasoning), 8)
        ]
        chunks += [_chunk(str(model), {"content": text[i : i + 4]}) for i in range(0, len(text), 4)]
        chunks.append(_chunk(str(model), {}, "stop", usage=usage))  # usage with choices
        chunks.append(b"data: [DONE]\n\n")
        return Reply(chunks=chunks)
