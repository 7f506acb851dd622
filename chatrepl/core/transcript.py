"""Transcripts: text ⇄ messages and settings. Pure: no disk, no environment.

`loads` reads every format below; it sniffs the content, never the file name:

- the JSON document `/save` writes: `{"format": "chatrepl.transcript", "version": 1,
  "settings": {...}, "messages": [...]}`, one message per line so diffs stay readable;
- JSON Lines (autosaved sessions): that header without "messages" on the first line,
  then one message per line, so a turn is saved by appending (see store.py);
- the Markdown export (front matter, one heading per message; see markdown below);
- a plain JSON list of chat messages, and a chat-completions request body.

A message is an OpenAI chat message (`role`, `content`) plus chatrepl's own keys,
`reasoning`, `stats` and `attachments`, which are never sent to the API as they are.
The API key is not a setting a transcript can hold: only `SETTING_KEYS` are written.

Version 2 adds optional keys only: a message's `alternatives` (every reply a comparison
got for that turn: spec, model, profile, the settings it overrode, content, reasoning,
stats, error, and `picked` on the one the message holds), its `attachments` (path, size, sha256,
media type; a text file's content is in the message's text, an image's bytes are in
the sessions' content-addressed image folder), `stats.params`, `stats.usage.cached_tokens`,
and the header's `name`, `parent` (the session this one was forked from), `kind`
("one-shot" for a one-shot run; absent for a conversation in the REPL), `branches`
(the earlier versions of edited turns; see core/branches.py) and `compacted` (what
/compact and /trim decided and when: every message stays in `messages`, and these
records say which of them a request leaves out and what summary goes in their place).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatrepl.core.conversation import Conversation
from chatrepl.core.errors import TranscriptError
from chatrepl.core.messages import (
    Alternative,
    Attachment,
    Compaction,
    ImageUrl,
    Message,
    TurnStats,
    Usage,
)
from chatrepl.core.params import KNOWN_KEYS
from chatrepl.core.settings import SPECS, STORED_SETTINGS, Settings
from chatrepl.core.text import repair

if TYPE_CHECKING:
    from chatrepl.core.branches import Branch, Fork

FORMAT = "chatrepl.transcript"
VERSION = 2
SETTING_KEYS = STORED_SETTINGS  # the settings table marks which ones are recorded
ROLES = ("system", "user", "assistant")

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    # Version 2 only adds optional keys (alternatives, branches, attachments, what was
    # compacted), so a version-1 document is a valid version-2 one as it stands.
    return {**doc, "version": 2}


# version N -> a function turning a version-N document into a version-N+1 one
UPGRADES: Mapping[int, Upgrade] = {1: _v1_to_v2}

# (JSON key, TurnStats attribute, type). "timestamp" is seconds since the epoch, kept
# as a float so it reads back exactly.
_STATS_FIELDS: tuple[tuple[str, str, type], ...] = (
    ("model", "model", str),
    ("temperature", "temperature", float),
    ("max_tokens", "max_tokens", int),
    ("timestamp", "started_at", float),
    ("ttft", "ttft", float),
    ("duration", "duration", float),
    ("finish_reason", "finish_reason", str),
    ("interrupted", "interrupted", bool),
    ("truncated", "truncated", bool),
)
_USAGE_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "reasoning_tokens",
    "cached_tokens",
)
COMPACTION_HOWS = ("summary", "trim", "full")
_ATTACHMENT_FIELDS: tuple[tuple[str, type], ...] = (
    ("path", str),
    ("size", int),
    ("sha256", str),
    ("media_type", str),
)
# session metadata kept in the header beside `settings`; `kind` is "one-shot" for a
# one-shot run's session and absent for a conversation (so every older file is one)
META_KEYS = ("name", "parent", "kind")
ONE_SHOT = "one-shot"


@dataclass(slots=True)
class Transcript:
    """A conversation and the settings it was held with (only those recorded)."""

    conversation: Conversation
    settings: dict[str, Any] = field(default_factory=dict)
    torn_tail: bool = False  # JSON Lines not ending in a newline: rewrite before appending


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One saved conversation, as /sessions lists it."""

    path: Path
    modified: float
    models: tuple[str, ...] = ()
    turns: int = 0
    first_line: str = ""
    problem: str | None = None  # set when the file cannot be read
    name: str | None = None  # /name
    parent: str | None = None  # the session file it was forked from
    turn: int | None = None  # a search hit's turn: /load N opens the session there
    kind: str | None = None  # "one-shot" for a one-shot run's session

    @property
    def one_shot(self) -> bool:
        """Whether this is a one-shot run's session (hidden unless `/sessions --all`)."""
        return self.kind == ONE_SHOT


class _Bad(Exception):
    """A problem with the content; `loads` prefixes the file name."""


def settings_of(settings: Settings) -> dict[str, Any]:
    """The settings a transcript records (never the key); unset ones left out."""
    out = {k: getattr(settings, k) for k in SETTING_KEYS if getattr(settings, k) is not None}
    if "params" in out:
        out["params"] = dict(out["params"])
    return out


# --- writing ------------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or infinity; a clock glitch must not make a transcript unreadable
    return value if value is None or math.isfinite(value) else None


def stats_to_dict(turn: TurnStats) -> dict[str, Any]:
    """A reply's stats as a JSON object (unset and false values left out)."""
    stats: dict[str, Any] = {}
    for key, attr, kind in _STATS_FIELDS:
        value = getattr(turn, attr)
        if kind is float:
            value = _finite(value)
        if value is not None and value is not False:
            stats[key] = value
    usage = turn.usage
    if usage is not None:
        stats["usage"] = {
            k: getattr(usage, k) for k in _USAGE_FIELDS if getattr(usage, k) is not None
        }
    if turn.params:
        stats["params"] = dict(turn.params)
    return stats


def message_to_dict(message: Message) -> dict[str, Any]:
    """The message as a JSON object: the API's keys, then ours."""
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.reasoning:
        data["reasoning"] = message.reasoning
    if message.stats is not None:
        data["stats"] = stats_to_dict(message.stats)
    if message.attachments:
        data["attachments"] = [
            {key: getattr(a, key) for key, _ in _ATTACHMENT_FIELDS} for a in message.attachments
        ]
    if message.alternatives:
        data["alternatives"] = [alternative_to_dict(a) for a in message.alternatives]
    return data


def alternative_to_dict(alternative: Alternative) -> dict[str, Any]:
    """One comparison column of a turn as a JSON object (unset values left out)."""
    data: dict[str, Any] = {"spec": alternative.spec, "model": alternative.model}
    if alternative.profile is not None:
        data["profile"] = alternative.profile
    if alternative.settings:
        data["settings"] = dict(alternative.settings)
    data["content"] = alternative.content
    if alternative.reasoning:
        data["reasoning"] = alternative.reasoning
    if alternative.stats is not None:
        data["stats"] = stats_to_dict(alternative.stats)
    if alternative.error is not None:
        data["error"] = alternative.error
    if alternative.picked:
        data["picked"] = True
    return data


def _branch_to_dict(branch: Branch) -> dict[str, Any]:
    data: dict[str, Any] = {"messages": [message_to_dict(m) for m in branch.messages]}
    if branch.forks:
        data["branches"] = [fork_to_dict(f) for f in branch.forks]
    return data


def fork_to_dict(fork: Fork) -> dict[str, Any]:
    """An edited turn's earlier versions as a JSON object."""
    return {
        "at": fork.at,
        "position": fork.position,
        "others": [_branch_to_dict(b) for b in fork.others],
    }


def compaction_to_dict(compaction: Compaction) -> dict[str, Any]:
    """What one /compact or /trim decided, as a JSON object."""
    data: dict[str, Any] = {
        "at": _finite(compaction.at),
        "how": compaction.how,
        "upto": compaction.upto,
        "count": compaction.count,
    }
    if compaction.summary is not None:
        data["summary"] = compaction.summary
    if compaction.stats is not None:
        data["stats"] = stats_to_dict(compaction.stats)
    return data


def meta_of(conversation: Conversation) -> dict[str, Any]:
    """The header's session metadata: name, parent, compactions and branches (only those
    set)."""
    meta: dict[str, Any] = {k: getattr(conversation, k) for k in META_KEYS}
    meta = {k: v for k, v in meta.items() if v is not None}
    if conversation.compactions:
        meta["compacted"] = [compaction_to_dict(c) for c in conversation.compactions]
    if conversation.forks:
        meta["branches"] = [
            fork_to_dict(conversation.forks[at]) for at in sorted(conversation.forks)
        ]
    return meta


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _settings_block(settings: Mapping[str, Any]) -> dict[str, Any]:
    # every key, null when unset, so a reader sees what could be there
    return {k: settings.get(k) for k in SETTING_KEYS}


def _head(settings: Mapping[str, Any], conversation: Conversation | None) -> dict[str, Any]:
    head = {"format": FORMAT, "version": VERSION, "settings": _settings_block(settings)}
    if conversation is not None:
        head.update(meta_of(conversation))
    return head


def header_line(settings: Mapping[str, Any], conversation: Conversation | None = None) -> str:
    """The first line of a JSON Lines transcript (with the conversation's metadata)."""
    return _json(_head(settings, conversation)) + "\n"


def message_line(message: Message) -> str:
    """One message as a line of a JSON Lines transcript (json escapes every newline)."""
    return _json(message_to_dict(message)) + "\n"


def dumps(conversation: Conversation, settings: Mapping[str, Any]) -> str:
    """The JSON document: pretty header, then one message (or edited turn) per line."""
    head = _head(settings, None)
    meta = meta_of(conversation)
    forks = meta.pop("branches", None)
    head.update(meta)
    text = json.dumps(head, ensure_ascii=False, indent=2)[: -len("\n}")]
    lines = ",\n".join("    " + _json(message_to_dict(m)) for m in conversation.messages)
    messages = f"[\n{lines}\n  ]" if lines else "[]"
    tail = ""
    if forks:
        rows = ",\n".join("    " + _json(f) for f in forks)
        tail = f',\n  "branches": [\n{rows}\n  ]'
    return f'{text},\n  "messages": {messages}{tail}\n}}\n'


def to_request_body(
    conversation: Conversation,
    settings: Mapping[str, Any],
    *,
    image_url: ImageUrl | None = None,
) -> dict[str, Any]:
    """A plain chat-completions request body (`--format openai`)."""
    body: dict[str, Any] = {}
    if settings.get("model"):
        body["model"] = settings["model"]
    system = settings.get("system")
    messages = [{"role": "system", "content": system}] if system else []
    messages += [m.to_api(image_url) for m in conversation.messages if m.role != "system"]
    body["messages"] = messages
    for key in ("temperature", "max_tokens"):
        if settings.get(key) is not None:
            body[key] = settings[key]
    body.update(settings.get("params") or {})
    return body


# --- Markdown -----------------------------------------------------------------------
#
# Readable as rendered Markdown, and exact on the way back. Each message starts with a
# hidden marker line `<!-- chatrepl:BOUNDARY {"role": ..., "stats": ...} -->`, then a
# visible `## role · model` heading and a blank line; the content follows verbatim and
# ends with a blank line. The BOUNDARY (named in the front matter) is chosen so that no
# content holds the marker's prefix, so headings, `---`, fences or fake markers inside a
# message are just text. Front-matter values are JSON, which YAML also reads.


def _one_line(text: str) -> str:
    # headings are decoration (the marker is authoritative): keep them to one line
    return "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text).strip()


def _boundary(texts: Iterable[str]) -> str:
    texts = list(texts)
    candidate, n = "msg", 1
    while any(f"<!-- chatrepl:{candidate} " in t for t in texts):
        n += 1
        candidate = f"msg{n}"
    return candidate


def _marker_json(data: Mapping[str, Any]) -> str:
    # `>` only occurs inside JSON strings; escaping it keeps `-->` out of the comment
    return _json(data).replace(">", "\\u003e").replace("<", "\\u003c")


def to_markdown(conversation: Conversation, settings: Mapping[str, Any]) -> str:
    """Readable Markdown that `loads` turns back into the same messages and settings."""
    model = _one_line(str(settings.get("model") or ""))
    title = f"# Conversation with {model}" if model else "# Conversation"
    if conversation.name:
        title = f"# {_one_line(conversation.name)}"
    system = settings.get("system")
    preamble = [title, ""]
    if system:
        preamble += [
            f"> **system:** {line}" if i == 0 else f"> {line}"
            for i, line in enumerate(system.split("\n"))
        ] + [""]
    raw = [m.content for m in conversation.messages] + preamble
    raw += [a.content for m in conversation.messages for a in m.alternatives]
    boundary = _boundary(raw)
    out = ["---", f"format: {_json(FORMAT)}", f"version: {VERSION}", f"boundary: {_json(boundary)}"]
    out += [f"{k}: {_json(v)}" for k, v in _settings_block(settings).items()]
    # name, parent and the earlier branches: one JSON line each, exact on the way back
    out += [f"{k}: {_json(v)}" for k, v in meta_of(conversation).items()]
    out += ["---", "", *preamble]
    text = "\n".join(out) + "\n"
    parts = [text]
    for message in conversation.messages:
        meta = message_to_dict(message)
        del meta["content"]
        meta.pop("alternatives", None)  # each under its own heading, below the message
        heading: str = message.role
        if message.stats is not None and message.stats.model:
            heading += f" · {_one_line(message.stats.model)}"
        parts.append(
            f"<!-- chatrepl:{boundary} {_marker_json(meta)} -->\n"
            f"## {heading}\n\n{message.content}\n\n"
        )
        for n, alternative in enumerate(message.alternatives, 1):
            alt = alternative_to_dict(alternative)
            del alt["content"]
            picked = " · picked" if alternative.picked else ""
            parts.append(
                f"<!-- chatrepl:{boundary} alt {_marker_json(alt)} -->\n"
                f"### alternative {n} · {_one_line(alternative.spec)}{picked}\n\n"
                f"{alternative.content}\n\n"
            )
    return "".join(parts)


def _from_markdown(text: str, upgrades: Mapping[int, Upgrade]) -> Transcript:
    lines = text.split("\n")
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise _Bad("Markdown front matter is not closed with ---") from None
    raw: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], 2):
        key, sep, value = line.partition(":")
        if not sep:
            raise _Bad(f"front matter line {number} is not 'key: value'")
        raw[key.strip()] = value
    if raw.get("format", "").strip() != _json(FORMAT):
        raise _Bad(
            f"not a chatrepl Markdown transcript (its front matter has no format: {_json(FORMAT)})"
        )
    front: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            front[key] = json.loads(value)
        except json.JSONDecodeError:
            raise _Bad(f"front matter: the value of {key!r} is not valid JSON") from None
    boundary = front.get("boundary", "msg")
    if not isinstance(boundary, str):
        raise _Bad("front matter 'boundary' must be a string")
    body = "\n".join(lines[end + 1 :])
    markers = list(
        re.finditer(rf"^<!-- chatrepl:{re.escape(boundary)} (alt )?(.*) -->$", body, re.M)
    )
    messages: list[dict[str, Any]] = []
    for i, match in enumerate(markers):
        stop = markers[i + 1].start() if i + 1 < len(markers) else len(body)
        chunk = body[match.end() + 1 : stop]
        _heading, _, rest = chunk.partition("\n")
        rest = rest.removeprefix("\n")
        content = rest[:-2] if rest.endswith("\n\n") else rest.removesuffix("\n")
        try:
            meta = json.loads(match.group(2))
        except json.JSONDecodeError:
            raise _Bad(f"message {i + 1}: its marker comment is not valid JSON") from None
        if not isinstance(meta, dict):
            raise _Bad(f"message {i + 1}: its marker comment is not a JSON object")
        if match.group(1):  # an alternative of the message above it
            if not messages:
                raise _Bad("an alternative comes before any message")
            messages[-1].setdefault("alternatives", []).append({**meta, "content": content})
            continue
        messages.append({**meta, "content": content})
    doc = {k: v for k, v in front.items() if k != "boundary" and k not in SETTING_KEYS}
    doc["settings"] = {k: front.get(k) for k in SETTING_KEYS}
    doc["messages"] = messages
    return _from_chatrepl(doc, upgrades)


# --- reading ------------------------------------------------------------------------


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _typed(value: Any, kind: type, where: str) -> Any:
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        # JSON can spell a lone surrogate ("\\ud800"), which no file can hold
        return repair(value)
    if kind is bool and isinstance(value, bool):
        return value
    names = {float: "a number", int: "a whole number", str: "a string", bool: "true or false"}
    raise _Bad(f"{where} must be {names[kind]}, not {_short(value)}")


def _stats(data: Any, where: str) -> TurnStats:
    if not isinstance(data, dict):
        raise _Bad(f"{where}: 'stats' must be an object")
    values: dict[str, Any] = {}
    for key, attr, kind in _STATS_FIELDS:
        if data.get(key) is not None:
            values[attr] = _typed(data[key], kind, f"{where}: stats.{key}")
    usage = data.get("usage")
    if usage is not None:
        if not isinstance(usage, dict):
            raise _Bad(f"{where}: stats.usage must be an object")
        values["usage"] = Usage(
            **{
                k: _typed(usage[k], int, f"{where}: stats.usage.{k}")
                for k in _USAGE_FIELDS
                if usage.get(k) is not None
            }
        )
    params = data.get("params")
    if params is not None:
        if not isinstance(params, dict):
            raise _Bad(f"{where}: stats.params must be an object")
        values["params"] = params
    return TurnStats(**values)


def _attachments(data: Any, where: str) -> tuple[Attachment, ...]:
    if not isinstance(data, list):
        raise _Bad(f"{where}: 'attachments' must be a list")
    out = []
    for n, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise _Bad(f"{where}: attachment {n} is not an object")
        values = {
            key: _typed(item.get(key), kind, f"{where}: attachment {n}: {key}")
            for key, kind in _ATTACHMENT_FIELDS
        }
        out.append(Attachment(**values))
    return tuple(out)


def _message(data: Any, number: int) -> Message:
    where = f"message {number}"
    if not isinstance(data, dict):
        raise _Bad(f"{where} is not an object")
    role = data.get("role")
    if role not in ROLES:
        raise _Bad(f"{where} has role {_short(role)}; expected one of {', '.join(ROLES)}")
    content = _typed(data.get("content"), str, f"{where}: content")
    reasoning = _typed(data.get("reasoning", ""), str, f"{where}: reasoning")
    stats = _stats(data["stats"], where) if data.get("stats") is not None else None
    attachments = _attachments(data["attachments"], where) if data.get("attachments") else ()
    found = data.get("alternatives")
    alternatives = _alternatives(found, where) if found else ()
    return Message(role, content, reasoning, stats, attachments, alternatives)


def _alternatives(data: Any, where: str) -> tuple[Alternative, ...]:
    if not isinstance(data, list):
        raise _Bad(f"{where}: 'alternatives' must be a list")
    out = []
    for n, item in enumerate(data, 1):
        here = f"{where}: alternative {n}"
        if not isinstance(item, dict):
            raise _Bad(f"{here} is not an object")
        settings = item.get("settings") or {}
        if not isinstance(settings, dict):
            raise _Bad(f"{here}: settings must be an object")
        profile, error = item.get("profile"), item.get("error")
        out.append(
            Alternative(
                spec=_typed(item.get("spec"), str, f"{here}: spec"),
                model=_typed(item.get("model"), str, f"{here}: model"),
                content=_typed(item.get("content", ""), str, f"{here}: content"),
                profile=None if profile is None else _typed(profile, str, f"{here}: profile"),
                settings=settings,
                reasoning=_typed(item.get("reasoning", ""), str, f"{here}: reasoning"),
                stats=_stats(item["stats"], here) if item.get("stats") is not None else None,
                error=None if error is None else _typed(error, str, f"{here}: error"),
                picked=_typed(item.get("picked", False), bool, f"{here}: picked"),
            )
        )
    return tuple(out)


def _forks(data: Any, prefix: int, where: str) -> dict[int, Fork]:
    """Forks at absolute indices; `prefix` messages precede the path they hang off."""
    from chatrepl.core.branches import Branch, Fork  # only for files that have branches

    if not isinstance(data, list):
        raise _Bad(f"{where} must be a list")
    forks: dict[int, Fork] = {}
    for n, item in enumerate(data, 1):
        here = f"{where}[{n}]"
        if not isinstance(item, dict):
            raise _Bad(f"{here} is not an object")
        at = _typed(item.get("at"), int, f"{here}.at")
        position = _typed(item.get("position", 0), int, f"{here}.position")
        others_data = item.get("others")
        if not isinstance(others_data, list) or not others_data:
            raise _Bad(f"{here}.others must be a non-empty list")
        if at < prefix or at in forks:
            raise _Bad(f"{here}.at {at} is out of place")
        others = []
        for k, branch in enumerate(others_data, 1):
            bwhere = f"{here}.others[{k}]"
            if not isinstance(branch, dict) or not isinstance(branch.get("messages"), list):
                raise _Bad(f"{bwhere} must be an object with 'messages'")
            messages = tuple(_message(m, i) for i, m in enumerate(branch["messages"], 1))
            if not messages:
                raise _Bad(f"{bwhere} has no messages")
            below = _forks(branch.get("branches", []), at + 1, f"{bwhere}.branches")
            if any(f.at > at + len(messages) for f in below.values()):
                raise _Bad(f"{bwhere}.branches point past its messages")
            others.append(Branch(messages, tuple(below[i] for i in sorted(below))))
        if not 0 <= position <= len(others):
            raise _Bad(f"{here}.position {position} is out of range")
        forks[at] = Fork(at, tuple(others), position)
    return forks


def _compactions(data: Any, messages: int) -> list[Compaction]:
    if not isinstance(data, list):
        raise _Bad("'compacted' must be a list")
    out = []
    for n, item in enumerate(data, 1):
        where = f"compacted[{n}]"
        if not isinstance(item, dict):
            raise _Bad(f"{where} is not an object")
        how = item.get("how")
        if how not in COMPACTION_HOWS:
            raise _Bad(
                f"{where}.how must be one of {', '.join(COMPACTION_HOWS)}, not {_short(how)}"
            )
        upto = _typed(item.get("upto"), int, f"{where}.upto")
        count = _typed(item.get("count"), int, f"{where}.count")
        if not 0 <= upto <= count <= messages:
            raise _Bad(f"{where}: upto {upto} and count {count} do not fit {messages} messages")
        at = item.get("at")
        summary = item.get("summary")
        out.append(
            Compaction(
                upto,
                count,
                0.0 if at is None else _typed(at, float, f"{where}.at"),
                how,
                None if summary is None else _typed(summary, str, f"{where}.summary"),
                _stats(item["stats"], where) if item.get("stats") is not None else None,
            )
        )
    return out


def _settings(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _Bad("'settings' must be an object")
    out: dict[str, Any] = {}
    for key in SETTING_KEYS:
        value = data.get(key)
        if value is None:
            continue
        try:
            value = SPECS[key].parse(value)
        except (ValueError, OverflowError) as exc:
            raise _Bad(f"setting '{key}' must be {exc}, not {_short(value)}") from None
        if isinstance(value, str):
            value = repair(value)
        if value is not None:
            out[key] = value
    return out


def _upgrade(doc: dict[str, Any], upgrades: Mapping[int, Upgrade]) -> dict[str, Any]:
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _Bad(f"transcript version {_short(version)} is not a whole number")
    if version > VERSION:
        raise _Bad(
            f"transcript version {version} is newer than this chatrepl reads "
            f"(up to {VERSION}); upgrade chatrepl"
        )
    while version < VERSION:
        if version not in upgrades:
            raise _Bad(f"unknown transcript version {version}")
        doc = upgrades[version](doc)
        version += 1
    return doc


def _from_chatrepl(doc: dict[str, Any], upgrades: Mapping[int, Upgrade]) -> Transcript:
    doc = _upgrade(doc, upgrades)
    items = doc.get("messages", [])
    if not isinstance(items, list):
        raise _Bad("'messages' must be a list")
    messages = [_message(item, n) for n, item in enumerate(items, 1)]
    meta = {}
    for key in META_KEYS:
        if doc.get(key) is not None:
            meta[key] = _typed(doc[key], str, f"'{key}'")
    forks = _forks(doc["branches"], 0, "branches") if doc.get("branches") else {}
    if any(at > len(messages) for at in forks):
        raise _Bad("branches point past the messages")
    compacted = doc.get("compacted")
    compactions = _compactions(compacted, len(messages)) if compacted else []
    conversation = Conversation(messages, forks, **meta, compactions=compactions)
    return Transcript(conversation, _settings(doc.get("settings")))


def _text_content(content: Any, number: int) -> str:
    if isinstance(content, str):
        return repair(content)
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        texts = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind != "text" or not isinstance(part.get("text"), str):
                raise _Bad(f"message {number}: only text content is supported, not {_short(kind)}")
            texts.append(part["text"])
        return repair("".join(texts))
    raise _Bad(f"message {number} has no text content (tool calls are not supported)")


def _from_chat(items: list[Any], settings: dict[str, Any]) -> Transcript:
    """A list of chat messages; system (or developer) messages become the system setting."""
    system: list[str] = []
    messages: list[Message] = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise _Bad(f"message {number} is not an object")
        role = item.get("role")
        content = _text_content(item.get("content"), number)
        if role in ("system", "developer"):
            system.append(content)
        elif role in ("user", "assistant"):
            messages.append(Message(role, content))
        else:
            raise _Bad(
                f"message {number} has role {_short(role)}; chatrepl keeps "
                "system, user and assistant messages only"
            )
    if system:
        settings = {**settings, "system": "\n\n".join(system)}
    return Transcript(Conversation(messages), _settings(settings))


def _from_value(value: Any, upgrades: Mapping[int, Upgrade]) -> Transcript:
    if isinstance(value, list):
        return _from_chat(value, {})
    if isinstance(value, dict):
        if "format" in value:
            if value["format"] != FORMAT:
                raise _Bad(f"format {_short(value['format'])} is not {FORMAT!r}")
            return _from_chatrepl(value, upgrades)
        if isinstance(value.get("messages"), list):  # a chat-completions request body
            settings = {k: value.get(k) for k in ("model", "temperature", "max_tokens")}
            if settings["max_tokens"] is None:
                settings["max_tokens"] = value.get("max_completion_tokens")
            # the request parameters chatrepl knows come along (tools and the like do not)
            params = {k: value[k] for k in KNOWN_KEYS if k in value}
            settings["params"] = params or None
            return _from_chat(value["messages"], settings)
    raise _Bad(
        "wrong shape: expected a chatrepl transcript, a list of chat messages, "
        "or a request body with 'messages'"
    )


def _json_problem(exc: json.JSONDecodeError, text: str) -> str:
    if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
        return "truncated: the JSON ends in the middle"
    return f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"


def _from_lines(text: str, upgrades: Mapping[int, Upgrade]) -> Transcript | None:
    """JSON Lines, if the first line is a chatrepl header; a torn last line is dropped."""
    first, _, rest = text.partition("\n")
    try:
        head = json.loads(first)
    except json.JSONDecodeError:
        return None
    if not isinstance(head, dict) or head.get("format") != FORMAT or "messages" in head:
        return None
    lines = rest.split("\n")
    records: list[Any] = []
    # not ending in a newline means the last append was cut short: the store rewrites
    # the file before appending again
    torn = not text.endswith("\n")
    for number, line in enumerate(lines, 2):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            # a crash mid-append can cut the last line short; the turns before it are whole
            if number - 2 == len(lines) - 1 and torn:
                break
            raise _Bad(f"line {number}: not valid JSON ({exc.msg})") from None
    transcript = _from_chatrepl({**head, "messages": records}, upgrades)
    transcript.torn_tail = torn
    return transcript


def _parse(text: str, upgrades: Mapping[int, Upgrade]) -> Transcript:
    text = text.removeprefix("\ufeff")
    start = text.lstrip()[:1]
    if not start:
        raise _Bad("empty file")
    if text.startswith(("---\n", "---\r\n")):
        # an editor or a checkout may have turned every newline into CRLF
        crlf = text.startswith("---\r\n")
        return _from_markdown(text.replace("\r\n", "\n") if crlf else text, upgrades)
    if start not in "{[":
        raise _Bad("not a transcript (expected JSON or chatrepl Markdown)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            lines = _from_lines(text, upgrades)
            if lines is not None:
                return lines
        raise _Bad(_json_problem(exc, text)) from None
    return _from_value(value, upgrades)


def loads(text: str, *, name: str, upgrades: Mapping[int, Upgrade] = UPGRADES) -> Transcript:
    """Parse any supported transcript; TranscriptError says `name: problem` in one line."""
    try:
        return _parse(text, upgrades)
    except _Bad as exc:
        raise TranscriptError(f"{name}: {exc}") from None
    except RecursionError:
        raise TranscriptError(f"{name}: nested too deeply to be a transcript") from None


def loads_bytes(
    data: bytes, *, name: str, upgrades: Mapping[int, Upgrade] = UPGRADES
) -> Transcript:
    """Decode UTF-8 (binary garbage is refused here) and parse."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TranscriptError(
            f"{name}: binary data, not a UTF-8 text transcript (invalid byte at offset {exc.start})"
        ) from None
    return loads(text, name=name, upgrades=upgrades)
