"""What servers say about a model's context window. Pure.

- llama.cpp's `GET /props`: `default_generation_settings.n_ctx` (the context of one
  slot, which is what one request gets), or a top-level `n_ctx` in older builds;
- `GET /v1/models` entries: llama.cpp's `meta.n_ctx`, vLLM's `max_model_len`,
  OpenRouter's and LM Studio's `context_length` / `max_context_length`, and
  `context_window` where a proxy adds it.
"""

from __future__ import annotations

from typing import Any

_MODEL_KEYS = ("max_model_len", "context_length", "max_context_length", "context_window")


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def window_from_props(body: Any) -> int | None:
    """n_ctx from llama.cpp's /props."""
    if not isinstance(body, dict):
        return None
    settings = body.get("default_generation_settings")
    if isinstance(settings, dict) and _positive(settings.get("n_ctx")):
        return _positive(settings.get("n_ctx"))
    return _positive(body.get("n_ctx"))


def window_from_models(body: Any, model: str | None) -> int | None:
    """The window of `model` (or of the only model listed) from a /v1/models body."""
    entries = body.get("data") if isinstance(body, dict) else body
    if not isinstance(entries, list):
        return None
    models = [e for e in entries if isinstance(e, dict)]
    chosen = [
        e for e in models if model is not None and model in (e.get("id"), *(e.get("aliases") or ()))
    ]
    if not chosen and len(models) == 1:
        chosen = models  # one model, asked for by another name (llama.cpp serves any id)
    for entry in chosen:
        meta = entry.get("meta")
        if isinstance(meta, dict) and _positive(meta.get("n_ctx")):
            return _positive(meta.get("n_ctx"))
        for key in _MODEL_KEYS:
            found = _positive(entry.get(key))
            if found:
                return found
    return None
