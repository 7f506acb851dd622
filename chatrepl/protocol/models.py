"""Model listings: the ids in whatever shape a server lists them, chat models only. Pure.

OpenAI and most servers answer `GET /v1/models` with `{"data": [{"id": …}]}`; llama.cpp
adds `models: [{"name", "model"}]`; Heroku answers `GET /available-models` with a bare
list of `{"model_id", "type": [...], "regions": [...]}`, where only `text-to-text`
models can chat (the others embed, draw or rank).
"""

from __future__ import annotations

from typing import Any

CHAT_TYPE = "text-to-text"


def is_chat_model(entry: Any) -> bool:
    """Whether a listed entry can chat: Heroku's `type` says so; other lists have none."""
    if not isinstance(entry, dict):
        return isinstance(entry, str)
    kinds = entry.get("type")
    if isinstance(kinds, str):
        kinds = [kinds]
    return not isinstance(kinds, list) or CHAT_TYPE in kinds


def model_ids(body: Any) -> list[str]:
    """The chat models' ids, in the server's order, each once."""
    if isinstance(body, dict):
        entries = body.get("data") or body.get("models") or []
    elif isinstance(body, list):
        entries = body
    else:
        entries = []
    ids: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not is_chat_model(entry):
            continue
        name: Any = entry
        if isinstance(entry, dict):
            name = entry.get("id") or entry.get("model_id") or entry.get("model")
            name = name or entry.get("name")
        if isinstance(name, str) and name and name not in ids:
            ids.append(name)
    return ids
