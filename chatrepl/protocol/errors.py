"""Any error a server sends, as one readable line. Pure.

Servers disagree on the shape of an error, and a user must never be shown raw JSON or
markup. Seen in the wild and handled here:

- `{"error": {"code", "message", "type"}}` (OpenAI, Heroku's documented shape);
- `{"error": "{\\"code\\":400,\\"message\\":…}"}`: the object double-encoded as a string
  (observed from Heroku), and `{"error": "plain words"}`;
- `{"object": "error", "message": …, "code": 503}` (vLLM, flat, also mid-stream);
- `{"detail": "…"}` and FastAPI's `{"detail": [{"loc": […], "msg": "…"}]}`;
- `{"message": "…"}`;
- an HTML page from a proxy or load balancer (its `<title>`, else its first text);
- plain text, and an empty body (then the status and its reason phrase).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any

MAX_LINE = 240  # an error is one line; a page of text is not an error message
_MAX_DEPTH = 8  # double (or triple) encoded errors, but never an endless loop


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _short(text: str) -> str:
    line = _collapse(text)
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1].rstrip() + "…"


def _looks_like_json(text: str) -> bool:
    stripped = text.strip()
    return stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]")


def _detail_list(items: list[Any], depth: int) -> str | None:
    """FastAPI's validation errors: `loc: msg` for each."""
    parts: list[str] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("msg"), str):
            loc = item.get("loc")
            where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
            parts.append(f"{where}: {item['msg']}" if where else item["msg"])
        else:
            found = _message(item, depth + 1)
            if found:
                parts.append(found)
    return "; ".join(parts) or None


def _message(value: Any, depth: int = 0) -> str | None:
    """The human words inside an error value, or None when it holds none."""
    if depth > _MAX_DEPTH or value is None:
        return None
    if isinstance(value, str):
        if _looks_like_json(value):
            try:
                return _message(json.loads(value), depth + 1) or None
            except ValueError:
                pass
        return _collapse(value) or None
    if isinstance(value, list):
        return _detail_list(value, depth) if value else None
    if not isinstance(value, dict):
        return None
    if "error" in value and value["error"] not in (None, "", {}, []):
        found = _message(value["error"], depth + 1)
        if found:
            return found
    for key in ("message", "msg", "detail", "error_description", "title"):
        found = _message(value.get(key), depth + 1)
        if found:
            return found
    kind = value.get("type") or value.get("code")
    return str(kind) if isinstance(kind, str) and kind else None


def error_message(payload: Any) -> str:
    """The server's own words from a parsed error body, whatever its shape."""
    return _short(_message(payload) or "the server gave no error message")


def error_status(payload: Any) -> int | None:
    """The HTTP-like status an error object carries (`code`: 503), if it names one."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, str) and _looks_like_json(error):
        try:
            error = json.loads(error)
        except ValueError:
            error = None
    for holder in (error, payload):
        code = holder.get("code") if isinstance(holder, dict) else None
        if isinstance(code, int) and not isinstance(code, bool) and 100 <= code < 600:
            return code
    return None


def is_error_object(chunk: dict[str, Any]) -> bool:
    """A stream chunk that is an error: `{"error": …}` or vLLM's flat `{"object": "error"}`."""
    return bool(chunk.get("error")) or chunk.get("object") == "error"


class _PageText(HTMLParser):
    """The title of an HTML page and its first visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.text: list[str] = []
        self._in_title = False
        self._hidden = 0  # inside <script>, <style>, <head>…

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in ("script", "style", "noscript", "template"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in ("script", "style", "noscript", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden and data.strip():
            self.text.append(data)


def html_text(page: str) -> str | None:
    """An HTML page's `<title>`, else its first lines of visible text; never markup."""
    parser = _PageText()
    try:
        parser.feed(page)
        parser.close()
    except (AssertionError, ValueError):  # a broken page: keep what was read
        pass
    title = _collapse("".join(parser.title))
    if title:
        return title
    text = _collapse(" ".join(parser.text[:6]))
    return text or None


def looks_like_html(text: str, content_type: str = "") -> bool:
    """Whether a body is a web page rather than a message."""
    if "html" in content_type.lower():
        return True
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body", "<title", "<h1", "<p>"))


def reason_phrase(status: int) -> str:
    """`Bad Gateway` for 502; a generic phrase for a status the stdlib does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "an error with no explanation"


def error_text(
    body: bytes | str,
    *,
    status: int | None = None,
    content_type: str = "",
    clean: Callable[[str], str] = str,
) -> str:
    """One line for an error body of any shape (JSON, HTML, text, or nothing at all).

    `clean` runs on the whole decoded text before anything is cut, so whatever it hides
    (the key) cannot survive half-cut.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = clean(text)
    fallback = reason_phrase(status) if status is not None else "no details"
    if not text.strip():
        return fallback
    if _looks_like_json(text):
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if payload is not None:
            return _short(_message(payload) or fallback)
    if looks_like_html(text, content_type):
        return _short(html_text(text) or fallback)
    return _short(text)
