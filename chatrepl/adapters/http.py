"""`HttpBackend`: the `Backend` port over a `requests.Session`.

Why it reads the way it does:
- A streamed 200 is read with `raw.read1()`, which hands over whatever bytes have
  arrived. `iter_lines()` waits to fill its buffer, so on a stream that ends by closing
  the connection (no chunked encoding) the first token could wait until the end.
- After `[DONE]` the rest of the body is drained so the connection goes back to the pool:
  the next turn then skips the TCP/TLS handshake. Closing the generator early (Ctrl-C)
  closes the response instead, which drops the connection and stops the server's work.
- The key travels through an `AuthBase`, which a `~/.netrc` entry cannot override, and is
  scrubbed from server messages; no message or repr here ever contains it.
- Retries follow openai-python's policy, and only before any byte of a 200 was consumed:
  a reply that has started streaming is never sent twice. A 429 without `Retry-After`
  waits for the `x-ratelimit-reset-*` header instead (when it is ≤ 60 s), and says so.
- A 400 that names a parameter chatrepl added on its own (`stream_options`) is retried
  once without it, and that parameter is not sent to this endpoint again. A parameter
  the user set is never dropped: the error says which command set it.
"""

from __future__ import annotations

import email.utils
import json
import random
import socket
import ssl
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from http.client import IncompleteRead, RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from chatrepl import __version__
from chatrepl.adapters.reads import gathered_reads, waiting_bytes
from chatrepl.core.dialect import Detected, announced, dialect, refused_parameter, refused_setting
from chatrepl.core.errors import ApiError, ConfigError, TransportError
from chatrepl.core.messages import Notice, RateLimitReport, RateLimits, StreamEvent
from chatrepl.core.settings import Settings, api_base
from chatrepl.protocol.chunks import chunk_events, parse_stream
from chatrepl.protocol.errors import error_text
from chatrepl.protocol.models import model_ids
from chatrepl.protocol.ratelimit import rate_limits, reset_wait
from chatrepl.protocol.think import split_think_tags

RETRY_STATUSES = frozenset({408, 409, 429})
READ_SIZE = 65536
READ_SPACING = 0.01  # seconds between two reads of a stream that keeps up (see reads)
DRAIN_LIMIT = 1 << 20  # past this much unread tail, dropping the connection is cheaper
MAX_RETRY_AFTER = 60.0


class _Bearer(requests.auth.AuthBase):
    """Sets `Authorization: Bearer …`; as an AuthBase it wins over ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "<Bearer ***>"


def retry_delay(attempt: int, headers: Any, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (0-based): the server's hint, or backoff."""
    hinted = _retry_after(headers)
    if hinted is not None and 0 < hinted <= MAX_RETRY_AFTER:
        return hinted
    return min(0.5 * 2.0**attempt, 8.0) * (1 - 0.25 * rand())


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - time.time()


def should_retry(status: int, headers: Any) -> bool:
    """Whether a failed status is worth another attempt (the server's `x-should-retry` wins)."""
    hint = (headers.get("x-should-retry") or "").strip().lower() if headers is not None else ""
    if hint in {"true", "false"}:
        return hint == "true"
    return status in RETRY_STATUSES or status >= 500


class HttpBackend:
    """Talks to an OpenAI-compatible `/v1/chat/completions` endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 5.0,
        max_retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        refused: Iterable[str] = (),
        on_refused: Callable[[str], object] | None = None,
    ) -> None:
        if not settings.url:
            raise ConfigError("no endpoint URL: set $INFERENCE_URL or pass --url")
        self.settings = settings
        self.session = session if session is not None else requests.Session()
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self._sleep = sleep
        self.refused = set(refused)  # our own parameters this endpoint refused
        self._on_refused = on_refused  # remembers a refusal for the next run
        self.rate_limits: RateLimits | None = None  # of the last response that had them
        self.announced: Detected | None = None  # the dialect the model listing revealed

    def __repr__(self) -> str:
        return f"HttpBackend(url={self.settings.url!r})"

    def __enter__(self) -> HttpBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session and its pooled connections."""
        self.session.close()

    # --- the Backend port -----------------------------------------------------

    def stream(self, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        """POST one chat request and yield its events; closing the generator aborts it.

        `<think>` tags in the answer come out as reasoning.
        """
        return split_think_tags(self._events(payload))

    def _events(self, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        url = self._base() + "/chat/completions"
        streaming = bool(payload.get("stream"))
        headers = {"Accept": "text/event-stream" if streaming else "application/json"}
        if streaming:
            # A compressing server or proxy holds small chunks back to fill its blocks.
            headers["Accept-Encoding"] = "identity"
        payload = {k: v for k, v in payload.items() if k not in self.refused}
        for attempt in range(2):  # a second time only without a refused parameter
            response = yield from self._attempts("POST", url, json_body=payload, headers=headers)
            try:
                limits = self._note_limits(response)
                if limits is not None:
                    yield RateLimitReport(limits)
                if response.status_code >= 300:
                    dropped = self._refusal(response, payload) if attempt == 0 else None
                    if dropped is None:
                        raise self._api_error(response, model=payload.get("model"), sent=payload)
                    payload = {k: v for k, v in payload.items() if k != dropped}
                    yield Notice(f"the server refused {dropped}; retrying without it")
                    continue
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                if streaming and content_type != "application/json":
                    yield from parse_stream(self._chunks(response))
                    self._finish(response)
                else:  # asked for no stream, or a server that ignored stream=true
                    yield from chunk_events(self._json(response))
                return
            finally:
                response.close()  # a no-op once drained; otherwise it drops the connection

    def _note_limits(self, response: requests.Response) -> RateLimits | None:
        limits = rate_limits(response.headers)
        if limits is not None:
            self.rate_limits = limits
        return limits

    def _refusal(self, response: requests.Response, payload: dict[str, Any]) -> str | None:
        """The parameter of ours a 400 refused; from now on it is not sent here."""
        if response.status_code != 400:
            return None
        name = refused_parameter(self._error_detail(response), payload)
        if name is not None:
            self.refused.add(name)
            if self._on_refused is not None:
                self._on_refused(name)
        return name

    def list_models(self) -> list[str]:
        """Chat model ids from `/v1/models`, else Heroku's `/available-models` (the
        dialect says which to try first); `announced` keeps what the listing revealed.

        A listing that fails is not the end: the other one may work (a server that only
        looks like Heroku); the first failure is raised when neither does.
        """
        origin = self._base().removesuffix("/v1")
        failure: ApiError | None = None
        for path in dialect(self.settings.dialect).listings:
            with self._send("GET", origin + path) as response:
                if response.status_code == 404:
                    _discard(response)  # read, so the connection goes back to the pool
                    continue
                if response.status_code >= 300:
                    failure = failure or self._api_error(response)
                    continue
                body = self._json(response)
                self.announced = announced(body, response.headers.get("server"))
                return model_ids(body)
        if failure is not None:
            raise failure
        raise ApiError(
            f"HTTP 404: {self._host()} lists no models "
            "(neither /v1/models nor /available-models exists)",
            status=404,
        )

    def context_window(self, model: str | None) -> int | None:
        """The model's window as the server reports it (llama.cpp's /props, then
        /v1/models metadata); None when it does not say. One try each, no retries."""
        from chatrepl.protocol.windows import window_from_models, window_from_props

        base = self._base()
        key = self.settings.key
        bearer = _Bearer(key.value) if key is not None and key.value else None
        asks = (
            (base.removesuffix("/v1") + "/props", window_from_props),
            (base + "/models", lambda body: window_from_models(body, model)),
        )
        for url, read in asks:
            try:
                with self.session.get(
                    url,
                    auth=bearer,
                    headers={"User-Agent": f"chatrepl/{__version__}"},
                    timeout=(self.connect_timeout, min(self.settings.timeout, 10.0)),
                ) as response:
                    if response.status_code != 200:
                        continue
                    found = read(json.loads(response.content))
            except (requests.RequestException, ValueError):
                continue
            if found:
                return int(found)
        return None

    # --- requests -------------------------------------------------------------

    def _base(self) -> str:
        return api_base(self.settings.url or "")

    def _host(self) -> str:
        netloc = urlsplit(self._base()).netloc
        return netloc.rpartition("@")[2] or "the server"  # never show userinfo

    def _send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> requests.Response:
        """One request with retries; returns the final response, body unread."""
        attempts = self._attempts(method, url, json_body=json_body, headers=headers, auth=auth)
        while True:
            try:
                next(attempts)  # a notice nobody is shown (model listings)
            except StopIteration as done:
                response: requests.Response = done.value
                return response

    def _attempts(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Generator[Notice, None, requests.Response]:
        """`_send`, yielding a Notice before each wait a rate limit imposes."""
        key = self.settings.key
        bearer = _Bearer(key.value) if auth and key is not None and key.value else None
        all_headers = {"User-Agent": f"chatrepl/{__version__}", **(headers or {})}
        timeout = (self.connect_timeout, self.settings.timeout)
        attempt = 0
        while True:
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json_body,
                    headers=all_headers,
                    auth=bearer,
                    timeout=timeout,
                    stream=True,
                )
            except requests.RequestException as exc:
                retryable = isinstance(exc, requests.ConnectionError | requests.Timeout)
                retryable = retryable and not isinstance(exc, requests.exceptions.SSLError)
                if retryable and attempt < self.max_retries:
                    self._sleep(retry_delay(attempt, None))
                    attempt += 1
                    continue
                raise TransportError(self._describe(exc)) from exc
            if response.status_code < 300 or attempt >= self.max_retries:
                return response
            if not should_retry(response.status_code, response.headers):
                return response
            delay = retry_delay(attempt, response.headers)
            if response.status_code == 429:
                wait = self._rate_limit_wait(response, delay)
                if wait is None:
                    return response  # the limit resets too late to wait for it
                delay, why = wait
                yield Notice(f"rate limited — waiting {_seconds(delay)} ({why})")
            _discard(response)
            self._sleep(delay)
            attempt += 1

    def _rate_limit_wait(
        self, response: requests.Response, backoff: float
    ) -> tuple[float, str] | None:
        """How long a 429 asks to wait and who said so; None when it is over a minute."""
        self._note_limits(response)
        hinted = _retry_after(response.headers)
        if hinted is not None and 0 < hinted <= MAX_RETRY_AFTER:
            return hinted, "Retry-After"
        reset = reset_wait(self.rate_limits, now=time.time())
        if reset is None:
            return backoff, "backing off"
        seconds, header = reset
        if seconds > MAX_RETRY_AFTER:
            return None
        return max(seconds, 0.05), header

    def _chunks(self, response: requests.Response) -> Iterator[bytes]:
        """Body bytes as they arrive (chunked or not, decompressed if need be)."""
        raw = response.raw
        reads = gathered_reads(
            lambda size: raw.read1(size, decode_content=True),
            waiting_bytes(raw),
            size=READ_SIZE,
            spacing=READ_SPACING,
        )
        try:
            yield from reads
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise TransportError(self._describe(exc, midway=True)) from exc

    def _finish(self, response: requests.Response) -> None:
        """After `[DONE]`: drain a short tail so the connection can be reused."""
        raw = response.raw
        reusable = raw.chunked or raw.length_remaining is not None
        if not reusable or response.headers.get("connection", "").lower() == "close":
            return  # the finally closes it; it could not be reused anyway
        left = DRAIN_LIMIT
        try:
            while left > 0 and (data := raw.read1(READ_SIZE, decode_content=True)):
                left -= len(data)
        except (urllib3.exceptions.HTTPError, OSError, ValueError):
            pass  # the reply is complete; only the connection is lost

    def _json(self, response: requests.Response) -> Any:
        try:
            body = response.content
        except requests.RequestException as exc:
            raise TransportError(self._describe(exc, midway=True)) from exc
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            snippet = _snippet(body) or "an empty body"
            message = f"{self._host()} sent a reply that is not JSON: {snippet}"
            raise TransportError(message) from None

    # --- errors ---------------------------------------------------------------

    def _error_detail(self, response: requests.Response) -> str:
        """The server's own words for a failed response: one line, whatever the body."""
        try:
            body = response.content
        except requests.RequestException:
            body = b""
        content_type = response.headers.get("content-type", "")
        return error_text(
            body, status=response.status_code, content_type=content_type, clean=self._scrub
        )

    def _api_error(
        self, response: requests.Response, *, model: Any = None, sent: Any = None
    ) -> ApiError:
        """A one-line ApiError from a failed response, in the server's own words."""
        status = response.status_code
        detail = self._error_detail(response)
        key = self.settings.key
        if status == 401:
            if key is not None and key.value:
                what = f"the server refused the key from ${key.source}"
            else:
                what = "the server wants an API key and none is set (e.g. $INFERENCE_KEY)"
        elif status == 403 and model:
            what = f"this key has no access to model '{model}' (/models lists the ones it has)"
        elif status == 403:
            what = "the key is not allowed to do this"
        elif status == 404 and model:
            what = f"model '{model}' may not exist on {self._host()} (try /models)"
        elif status == 404:
            what = f"{response.url} does not exist; check the URL"
        elif status == 429:
            what = "rate limited" + _resets(self.rate_limits)
        elif status == 400 and isinstance(sent, dict) and refused_setting(detail, sent):
            name, command = refused_setting(detail, sent) or ("", "")
            what = f"the server refused {name}, which {command} set"
        else:
            what = ""
        line = f"HTTP {status}: {what} ({detail})" if what else f"HTTP {status}: {detail}"
        return ApiError(line, status=status, retryable=_retryable(status))

    def _scrub(self, text: str) -> str:
        """Servers sometimes echo the key back in their error; never show it."""
        key = self.settings.key
        if key is not None and len(key.value) >= 4 and key.value in text:
            text = text.replace(key.value, key.masked() or "***")
        return text

    def _describe(self, exc: BaseException, *, midway: bool = False) -> str:
        """A one-line account of a network failure that names the host."""
        host = self._host()
        causes = _causes(exc)
        if any(isinstance(c, requests.ConnectTimeout) for c in causes):
            return f"cannot reach {host}: no answer within {self.connect_timeout:g} s"
        timed_out = (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError)
        if any(isinstance(c, timed_out) for c in causes):
            where = "mid-reply" if midway else "after the request was sent"
            return f"{host} sent nothing for {self.settings.timeout:g} s {where} (read timeout)"
        reason = _reason(causes)
        if midway:
            return f"the connection to {host} broke mid-reply: {reason}"
        return f"cannot reach {host}: {reason}"


def _seconds(delay: float) -> str:
    return f"{delay:.0f} s" if delay >= 10 else f"{delay:.1f} s"


def _resets(limits: RateLimits | None) -> str:
    """`; requests reset in 5m0s` when the server said when."""
    if limits is None:
        return ""
    reset = limits.reset_requests if limits.remaining_requests == 0 else None
    reset = reset or (limits.reset_tokens if limits.remaining_tokens == 0 else None)
    reset = reset or limits.reset_requests or limits.reset_tokens
    return f"; the limit resets in {reset}" if reset else ""


def _retryable(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


def _discard(response: requests.Response) -> None:
    """Read a small error body so its connection returns to the pool; else drop it."""
    try:
        length = int(response.headers.get("content-length", "-1"))
        if 0 <= length <= 65536:
            response.content  # noqa: B018 - reading releases the connection
    except (ValueError, requests.RequestException):
        pass
    response.close()


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests nests urllib3 nests socket errors)."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [a for a in current.args if isinstance(a, BaseException)]
        todo += [e for e in linked if isinstance(e, BaseException)]
    return seen


def _reason(causes: list[BaseException]) -> str:
    """Plain words for the innermost cause we recognise."""
    table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], str]] = [
        (ConnectionRefusedError, "connection refused (is the server running?)"),
        ((socket.gaierror, urllib3.exceptions.NameResolutionError), "host name not found"),
        (ConnectionResetError, "connection reset by the server"),
        (RemoteDisconnected, "the server closed the connection without answering"),
        (IncompleteRead, "the stream was cut short"),
        (urllib3.exceptions.DecodeError, "the compressed reply could not be decoded"),
        (ssl.SSLCertVerificationError, "its TLS certificate is not trusted"),
        ((ssl.SSLError, urllib3.exceptions.SSLError), "TLS handshake failed"),
        (urllib3.exceptions.ProtocolError, "the connection broke"),
    ]
    for kinds, words in table:
        if any(isinstance(c, kinds) for c in causes):
            return words
    for c in causes:
        if isinstance(c, ValueError) and "chunk" in str(c).lower():
            return "malformed chunked encoding"
    return f"connection failed ({type(causes[-1]).__name__})"


def _snippet(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    return " ".join(text.split())[:160]
