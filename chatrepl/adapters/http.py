"""`HttpBackend`: the `Backend` port over a `requests.Session`.

Why it reads the way it does:
- A streamed 200 is read with `raw.read1()`, which hands over whatever bytes have
  arrived. `iter_lines()` waits to fill its buffer, so on a stream that ends by closing
  the connection (no chunked encoding) the first token could wait until the end.
- After `[DONE]` the rest of the body is drained so the connection goes back to the pool:
  the next turn then skips the TCP/TLS handshake. Closing the generator early (Ctrl-C)
  closes the response instead, which drops the connection and stops the server's work.
- Every body is redacted as it is read (`core.redact`: the key, whole or in pieces, and
  URL credentials), before anything parses, cuts or shows it: a gateway that echoes the
  Authorization header cannot put the key on screen, in an error or in a transcript.
- `trust_env` is off, so `~/.netrc` is never read (requests would put its credentials
  in place of the key, even after a redirect to the same host); proxies and the CA
  bundle come from the environment mapping instead (`adapters.proxies`). Redirects are
  followed by hand and only within the same origin: a POST, conversation and key
  included, is never sent on to another host.
- Retries (`adapters.retry`) happen only before any byte of a 200 was read, each wait
  announced by a `Notice` and cut short by Ctrl-C; a request whose headers never came
  back is not retried. A stream must end with a finish reason or `[DONE]`: one that is
  cut off, empty, or not an event stream at all is an error, never a quiet short reply.
  A 429 without `Retry-After` waits for the `x-ratelimit-reset-*` header instead (when
  it is ≤ 60 s), and says so.
- A 400 that names a parameter chatrepl added on its own (`stream_options`) is retried
  once without it, and that parameter is not sent to this endpoint again. A parameter
  the user set is never dropped: the error says which command set it.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from http.client import IncompleteRead, RemoteDisconnected
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from chatrepl import __version__
from chatrepl.adapters.chunked import DirectBody, direct_body, direct_reads
from chatrepl.adapters.proxies import NetworkEnv
from chatrepl.adapters.reads import gathered_reads, waiting_bytes
from chatrepl.adapters.retry import (
    MAX_RETRY_AFTER,
    retry_after,
    retry_delay,
    retryable_status,
    should_retry,
    waiting,
    with_wait_hint,
)
from chatrepl.core.dialect import Detected, announced, dialect, refused_parameter, refused_setting
from chatrepl.core.errors import ApiError, ConfigError, TransportError
from chatrepl.core.messages import (
    Finish,
    Notice,
    RateLimitReport,
    RateLimits,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
)
from chatrepl.core.redact import Redactor, redact_bytes, redact_chunks, redact_events
from chatrepl.core.settings import CONNECT_TIMEOUT, Settings, api_base, read_timeout
from chatrepl.protocol.chunks import chunk_events, parse_stream
from chatrepl.protocol.errors import error_text
from chatrepl.protocol.models import model_ids
from chatrepl.protocol.ratelimit import rate_limits, reset_wait
from chatrepl.protocol.think import split_think_tags

__all__ = ["HttpBackend", "retry_delay", "should_retry"]

READ_SIZE = 65536
# Seconds between two reads of a stream that keeps up (see reads): each read costs a
# wake-up and the pipeline once, whatever it holds. The screen is redrawn at most 20
# times a second, so reading more often shows nothing sooner; at 1,000 tokens/s 0.02 s
# cost the reading thread twice the CPU of 0.05 s (bench_stream), first text unchanged.
READ_SPACING = 0.05
DRAIN_LIMIT = 1 << 20  # past this much unread tail, dropping the connection is cheaper
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
SNIPPET = 160
Sending = Generator[Notice, None, requests.Response]


class _Bearer(requests.auth.AuthBase):
    """Sets `Authorization: Bearer …` (or nothing, when there is no key)."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "<Bearer ***>"


class _Stalled(Exception):
    """A read timed out while the body was arriving; `_events` says where that was."""


class _Body:
    """Reads a streamed body as it arrives, noting how much came and whether it ended."""

    def __init__(self, response: requests.Response, describe: Callable[..., str]) -> None:
        self._response = response
        self._describe = describe
        self.received = 0
        self.head = b""  # the first bytes, to name what arrived when it was no stream
        self.ended = False  # the server closed the body (as opposed to us stopping at [DONE])

        self.direct: DirectBody | None = None  # a chunked body undone here, a read at a time

    def __iter__(self) -> Iterator[bytes]:
        raw = self._response.raw
        self.direct = direct_body(raw)
        if self.direct is not None:
            reads = direct_reads(self.direct, size=READ_SIZE, spacing=READ_SPACING)
        else:
            reads = gathered_reads(
                lambda size: raw.read1(size, decode_content=True),
                waiting_bytes(raw),
                size=READ_SIZE,
                spacing=READ_SPACING,
            )
        try:
            for data in reads:
                if len(self.head) < SNIPPET * 4:
                    self.head += data[: SNIPPET * 4]
                self.received += len(data)
                yield data
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
            raise _Stalled() from exc
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if any(isinstance(c, TimeoutError) for c in _causes(exc)):
                raise _Stalled() from exc
            raise TransportError(self._describe(exc, midway=True)) from exc
        self.ended = True


class HttpBackend:
    """Talks to an OpenAI-compatible `/v1/chat/completions` endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        max_retries: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        env: Mapping[str, str] | None = None,
        refused: Iterable[str] = (),
        on_refused: Callable[[str], object] | None = None,
    ) -> None:
        if not settings.url:
            raise ConfigError("no endpoint URL: set $INFERENCE_URL or pass --url")
        self.settings = settings
        self.session = session if session is not None else requests.Session()
        self.session.trust_env = False  # no ~/.netrc; proxies come from `env` instead
        self.network = NetworkEnv.from_env(env or {})
        self.connect_timeout = connect_timeout
        self.max_retries = settings.max_retries if max_retries is None else max_retries
        self._sleep = sleep
        key = settings.key.value if settings.key is not None else None
        self.redactor = Redactor([key, urlsplit(settings.url).password])
        self.refused = set(refused)  # our own parameters this endpoint refused
        self._on_refused = on_refused  # remembers a refusal for the next run
        self.rate_limits: RateLimits | None = None  # of the last response that had them
        self.announced: Detected | None = None  # the dialect the model listing revealed

    def __repr__(self) -> str:
        return f"HttpBackend(url={self.redactor(self.settings.url or '')!r})"

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

        `<think>` tags in the answer come out as reasoning; a retry wait comes as a
        `Notice` before the first event.
        """
        return split_think_tags(redact_events(self._events(payload), self.redactor))

    def _events(self, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        url = self._base() + "/chat/completions"
        streaming = bool(payload.get("stream"))
        headers = {"Accept": "text/event-stream" if streaming else "application/json"}
        if streaming:
            # A compressing server or proxy holds small chunks back to fill its blocks.
            headers["Accept-Encoding"] = "identity"
        payload = {k: v for k, v in payload.items() if k not in self.refused}
        for attempt in range(2):  # a second time only without a refused parameter
            response = yield from self._attempts(
                "POST", url, json_body=payload, headers=headers, streaming=streaming
            )
            try:
                limits = self._note_limits(response)
                if limits is not None:
                    yield RateLimitReport(limits)
                if response.status_code >= 300:
                    dropped = self._refusal(response, payload) if attempt == 0 else None
                    if dropped is None:
                        error = self._api_error(response, model=payload.get("model"), sent=payload)
                        raise with_wait_hint(error, response.headers)
                    payload = {k: v for k, v in payload.items() if k != dropped}
                    yield Notice(f"the server refused {dropped}; retrying without it")
                    continue
                yield from self._reply_events(response, streaming=streaming)
                return
            finally:
                response.close()  # a no-op once drained; otherwise it drops the connection

    def _reply_events(
        self, response: requests.Response, *, streaming: bool
    ) -> Iterator[StreamEvent]:
        """The events of a 200, whichever way it comes; anything else is an error."""
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if content_type.lower() in ("text/html", "application/xhtml+xml"):
            raise TransportError(self._not_a_reply(response, "a web page"))
        event_stream = content_type.lower() == "text/event-stream"
        if event_stream or (streaming and content_type != "application/json"):
            # a server may also stream when asked not to: read what it sends
            body = _Body(response, self._describe)
            yield from self._stream_events(response, body, streaming=streaming)
            self._finish(response, body.direct)
        else:  # asked for no stream, or a server that ignored stream=true
            yield from self._json_events(response)

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

    def _stream_events(
        self, response: requests.Response, body: _Body, *, streaming: bool
    ) -> Iterator[StreamEvent]:
        """The events of an event stream, which must end with a finish reason or [DONE]."""
        started = finished = False
        try:
            for event in parse_stream(redact_chunks(body, self.redactor)):
                if isinstance(event, TextDelta | ReasoningDelta):
                    started = True
                elif isinstance(event, Finish):
                    finished = True
                yield event
        except _Stalled:
            seconds = read_timeout(self.settings, streaming=streaming)
            if started:
                where = f"stopped sending mid-reply for {seconds:g} s"
            else:
                where = f"sent no reply for {seconds:g} s after its headers"
            raise TransportError(f"{self._host()} {where} (read timeout)") from None
        if finished or not body.ended:  # a finish reason, or we stopped at [DONE]
            return
        if started:
            raise TransportError(
                f"the connection to {self._host()} closed mid-reply (no finish reason, no [DONE])"
            )
        if body.received == 0:
            raise TransportError(f"{self._host()} answered 200 with an empty stream")
        raise TransportError(self._not_a_reply(response, "no event stream", head=body.head))

    def _json_events(self, response: requests.Response) -> Iterator[StreamEvent]:
        """The events of a whole JSON reply, which must be a chat completion."""
        value = self._json(response)
        events = chunk_events(value) if isinstance(value, dict) else []
        if not any(isinstance(e, TextDelta | ReasoningDelta | Finish) for e in events):
            snippet = _snippet(json.dumps(value, ensure_ascii=False).encode())
            raise TransportError(f"{self._host()} sent JSON that is not a chat reply: {snippet}")
        yield from events

    def _not_a_reply(self, response: requests.Response, what: str, head: bytes = b"") -> str:
        """`HOST answered 200 with a web page, not a reply: <title>…` (a captive portal?)."""
        if not head:
            try:
                head = redact_bytes(response.raw.read(SNIPPET * 4) or b"", self.redactor)
            except (urllib3.exceptions.HTTPError, OSError, ValueError):
                head = b""
        snippet = _snippet(head) or "nothing"
        content_type = response.headers.get("content-type") or "no content type"
        hint = " (a captive portal or a proxy's login page?)" if what == "a web page" else ""
        return (
            f"{self._host()} answered 200 with {what} ({content_type}), "
            f"not a chat reply{hint}: {snippet}"
        )

    def list_models(self) -> list[str]:
        """Chat model ids from `/v1/models`, else Heroku's `/available-models` (the
        dialect says which to try first); `announced` keeps what the listing revealed.

        A listing that fails is not the end: the other one may work (a server that only
        looks like Heroku); the first failure is raised when neither does.
        """
        origin = self._base().removesuffix("/v1")
        failure: ApiError | None = None
        for path in dialect(self.settings.dialect).listings:
            with _quietly(self._send("GET", origin + path, streaming=False)) as response:
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
        bearer = _Bearer(key.value if key is not None else None)
        asks = (
            (base.removesuffix("/v1") + "/props", window_from_props),
            (base + "/models", lambda body: window_from_models(body, model)),
        )
        seconds = min(read_timeout(self.settings, streaming=False), 10.0)
        for url, read in asks:
            try:
                with self.session.get(
                    url,
                    auth=bearer,
                    headers={"User-Agent": f"chatrepl/{__version__}"},
                    timeout=(self.connect_timeout, seconds),
                    allow_redirects=False,  # a redirect is no answer (and goes nowhere)
                    proxies=self.network.proxies_for(url),
                    verify=self.network.verify,
                ) as response:
                    if response.status_code != 200:
                        continue
                    found = read(json.loads(redact_bytes(response.content, self.redactor)))
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
        streaming: bool = True,
    ) -> Sending:
        """One request with retries, yielding a Notice before each wait; returns the
        final response, body unread."""
        return self._attempts(
            method, url, json_body=json_body, headers=headers, auth=auth, streaming=streaming
        )

    def _attempts(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        streaming: bool = True,
    ) -> Sending:
        """`_send`: each wait announced by a Notice (a rate limit's says whose reset it is)."""
        key = self.settings.key
        bearer = _Bearer(key.value if auth and key is not None else None)
        all_headers = {"User-Agent": f"chatrepl/{__version__}", **(headers or {})}
        timeout = (self.connect_timeout, read_timeout(self.settings, streaming=streaming))
        attempt, retries = 0, self.max_retries
        while True:
            try:
                response = self._request(method, url, json_body, all_headers, bearer, timeout)
            except requests.RequestException as exc:
                if _retryable_failure(exc) and attempt < retries:
                    delay = retry_delay(attempt, None)
                    attempt += 1
                    yield waiting(_reason(_causes(exc)), delay, attempt, retries)
                    self._sleep(delay)
                    continue
                raise TransportError(self._describe(exc)) from exc
            status = response.status_code
            if status < 300 or attempt >= retries or not should_retry(status, response.headers):
                return response
            delay = retry_delay(attempt, response.headers)
            if with_wait_hint(ApiError(""), response.headers).retry_after is not None:
                return response  # it asks for longer than we wait: say so instead
            if status == 429:
                wait = self._rate_limit_wait(response, delay)
                if wait is None:
                    return response  # the limit resets too late to wait for it
                delay, why = wait
                _discard(response)
                attempt += 1
                yield Notice(f"rate limited — waiting {_seconds(delay)} ({why})")
                self._sleep(delay)
                continue
            _discard(response)
            attempt += 1
            yield waiting(f"HTTP {status}", delay, attempt, retries)
            self._sleep(delay)

    def _rate_limit_wait(
        self, response: requests.Response, backoff: float
    ) -> tuple[float, str] | None:
        """How long a 429 asks to wait and who said so; None when it is over a minute."""
        self._note_limits(response)
        hinted = retry_after(response.headers)
        if hinted is not None and 0 < hinted <= MAX_RETRY_AFTER:
            return hinted, "Retry-After"
        reset = reset_wait(self.rate_limits, now=time.time())
        if reset is None:
            return backoff, "backing off"
        seconds, header = reset
        if seconds > MAX_RETRY_AFTER:
            return None
        return max(seconds, 0.05), header

    def _request(
        self,
        method: str,
        url: str,
        json_body: Any,
        headers: dict[str, str],
        bearer: _Bearer,
        timeout: tuple[float, float],
    ) -> requests.Response:
        """Send it, following redirects only within the same origin (scheme, host, port)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.request(
                method,
                url,
                json=json_body,
                headers=headers,
                auth=bearer,
                timeout=timeout,
                stream=True,
                allow_redirects=False,
                proxies=self.network.proxies_for(url),
                verify=self.network.verify,
            )
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                return response
            target = urljoin(url, location)
            _discard(response)
            keeps_method = response.status_code in (307, 308) or method == "GET"
            if not _same_origin(url, target) or not keeps_method:
                raise TransportError(self._refused_redirect(response.status_code, target))
            url = target
        too_many = f"more than {MAX_REDIRECTS} times"
        raise TransportError(f"{self._host()} redirected the request {too_many}")

    def _refused_redirect(self, status: int, target: str) -> str:
        """One line naming where the server tried to send the request."""
        parts = urlsplit(target)
        where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        return (
            f"{self._host()} redirected the request to {where} (HTTP {status}); not followed, "
            "nothing was sent there (if it is the right server, use --url)"
        )

    def _finish(self, response: requests.Response, direct: DirectBody | None = None) -> None:
        """After `[DONE]`: drain a short tail so the connection can be reused."""
        raw = response.raw
        reusable = raw.chunked or raw.length_remaining is not None
        if not reusable or response.headers.get("connection", "").lower() == "close":
            return  # the finally closes it; it could not be reused anyway
        left = DRAIN_LIMIT
        try:
            if direct is not None:  # the framing is undone here: http.client lost track
                while left > 0 and (data := direct.read(READ_SIZE)):
                    left -= len(data)
                if not direct.decoder.done:
                    return  # too long a tail: the finally drops the connection
            while left > 0 and (data := raw.read1(READ_SIZE, decode_content=True)):
                left -= len(data)
        except (urllib3.exceptions.HTTPError, OSError, ValueError):
            pass  # the reply is complete; only the connection is lost

    def _json(self, response: requests.Response) -> Any:
        try:
            body = redact_bytes(response.content, self.redactor)
        except requests.RequestException as exc:
            if any(isinstance(c, TimeoutError) for c in _causes(exc)):
                seconds = read_timeout(self.settings, streaming=False)
                message = f"{self._host()} sent its headers but not the reply within {seconds:g} s"
                raise TransportError(f"{message} (read timeout)") from exc
            raise TransportError(self._describe(exc, midway=True)) from exc
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            snippet = _snippet(body) or "an empty body"
            message = f"{self._host()} sent a reply that is not JSON: {snippet}"
            raise TransportError(message) from None

    # --- errors ---------------------------------------------------------------

    def _error_detail(self, response: requests.Response) -> str:
        """The server's own words for a failed response: one line, whatever the body,
        redacted before anything is cut."""
        try:
            body = response.content
        except requests.RequestException:
            body = b""
        content_type = response.headers.get("content-type", "")
        return error_text(
            body, status=response.status_code, content_type=content_type, clean=self.redactor
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
                what = f"the server refused the key from {key.origin}"
            else:
                what = "the server wants an API key and none is set (e.g. $INFERENCE_KEY)"
        elif status == 403 and model:
            what = f"this key has no access to model '{model}' (/models lists the ones it has)"
        elif status == 403:
            what = "the key is not allowed to do this"
        elif status == 404 and model:
            what = f"model '{model}' may not exist on {self._host()} (try /models)"
        elif status == 404:
            what = f"{self.redactor(response.url)} does not exist; check the URL"
        elif status == 429:
            what = "rate limited" + _resets(self.rate_limits)
        elif status == 400 and isinstance(sent, dict) and refused_setting(detail, sent):
            name, command = refused_setting(detail, sent) or ("", "")
            what = f"the server refused {name}, which {command} set"
        else:
            what = ""
        line = f"HTTP {status}: {what} ({detail})" if what else f"HTTP {status}: {detail}"
        return ApiError(line, status=status, retryable=retryable_status(status))

    def _describe(self, exc: BaseException, *, midway: bool = False) -> str:
        """A one-line account of a network failure that names the host."""
        host = self._host()
        causes = _causes(exc)
        if any(isinstance(c, requests.ConnectTimeout) for c in causes):
            return f"cannot reach {host}: no answer within {self.connect_timeout:g} s"
        timed_out = (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError)
        if any(isinstance(c, timed_out) for c in causes):
            seconds = read_timeout(self.settings, streaming=True)
            if not midway:
                return f"{host} sent no response within {seconds:g} s of the request (read timeout)"
            return f"{host} stopped sending mid-reply for {seconds:g} s (read timeout)"
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


def _retryable_failure(exc: requests.RequestException) -> bool:
    """A failure before the request reached the server: worth another attempt."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.ConnectTimeout):
        return True
    # a read timeout means the request went out and the server is sitting on it
    return isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.Timeout)


def _same_origin(a: str, b: str) -> bool:
    one, two = urlsplit(a), urlsplit(b)
    try:
        ports = (one.port, two.port)
    except ValueError:
        return False
    defaults = {"http": 80, "https": 443}
    port_a = ports[0] or defaults.get(one.scheme.lower())
    port_b = ports[1] or defaults.get(two.scheme.lower())
    return (one.scheme.lower(), one.hostname, port_a) == (two.scheme.lower(), two.hostname, port_b)


def _quietly(sending: Sending) -> requests.Response:
    """Run a request to its response, dropping the retry notices (nobody to show them to)."""
    while True:
        try:
            next(sending)
        except StopIteration as done:
            response: requests.Response = done.value
            return response


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
    return " ".join(text.split())[:SNIPPET]
