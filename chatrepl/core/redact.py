"""Redaction: the one step every string passes before it is shown, logged or stored.

What it masks, with `***`:
- each registered secret (the API key, a URL's password), whole, and any run of
  `MIN_RUN` (8) or more of its characters: a gateway that echoes the key may cut it
  short, and a message cut to 160 characters may hold most of it;
- credentials in URLs (`https://user:pass@host` becomes `https://***@host`);
- the value of an `Authorization` header and a `Bearer` token, whatever the key.

Apply it before truncating: a snippet cut first could keep a piece of the key too short
to recognise. A stream (a reply arriving in pieces, a body read in chunks) goes through
`StreamRedactor`, which holds back the tail that could be the start of a secret until the
next piece says whether it is one. Pure: no I/O.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator

from chatrepl.core.errors import ChatReplError
from chatrepl.core.messages import ReasoningDelta, StreamEvent, TextDelta

MASK = "***"
MIN_RUN = 8  # a run of this many characters of a secret is masked
MIN_SECRET = 4  # shorter "secrets" would mask ordinary words: never masked
HOLD_FROM = 2  # a stream holds back a tail this long or longer that could begin a secret

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@")
_AUTHORIZATION = re.compile(
    r"""(?ix)
    (\bauthorization["']?\s*[:=]\s*["']?)   # the header name and its separator
    (?:(bearer|basic|token|apikey)\s+)?      # a scheme, kept
    [^\s"',;}\]]+                            # the credential itself
    """
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+(?=[\w.~+/=\-]*[\d_\-])[\w.~+/=\-]{8,}")


class Redactor:
    """Masks the registered secrets, URL credentials and Authorization values in text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        self._runs: re.Pattern[str] | None = None
        self._wholes: list[str] = []
        self._probe: re.Pattern[str] | None = None
        self._marks = bytes(256)  # 1 for each ASCII character some secret holds
        self._run = b""  # as many marks in a row as the shortest thing to mask
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Register one more secret (ignored when empty or too short to be one)."""
        if not secret or len(secret) < MIN_SECRET or secret in self._secrets:
            return
        self._secrets.append(secret)
        grams = {s[i : i + MIN_RUN] for s in self._secrets for i in range(len(s) - MIN_RUN + 1)}
        # a lookahead finds every position a run starts at, overlapping ones too
        alternatives = "|".join(sorted(map(re.escape, grams)))
        self._runs = re.compile(f"(?=({alternatives}))") if grams else None
        self._wholes = sorted((s for s in self._secrets if len(s) < MIN_RUN), key=len)[::-1]
        # Any run of 8 characters of a secret holds one of its 4-character pieces that
        # start at a multiple of 4: a few fast substring checks rule most text out
        # before the (slower) search for runs. It keeps streaming at ~1 µs per event.
        probes = [
            s[i : i + 4]
            for s in self._secrets
            if len(s) >= MIN_RUN
            for i in range(0, len(s) - 3, 4)
        ]
        pieces = sorted(dict.fromkeys([*probes, *self._wholes]), key=len, reverse=True)
        self._probe = re.compile("|".join(map(re.escape, pieces))) if pieces else None
        # Faster still for ASCII text (a streamed body, read after read): a run of a
        # secret, or a whole one, is that many characters in a row that secrets hold.
        # One byte translation shows where those are, and most text has no such run
        # (a 2 KB read of events: ~3 µs, the pieces' expression ~13 µs).
        held = {ord(c) for s in self._secrets for c in s if c.isascii()}
        self._marks = bytes(1 if i in held else 0 for i in range(256))
        self._run = b"\x01" * min([MIN_RUN, *map(len, self._wholes)])

    @property
    def secrets(self) -> tuple[str, ...]:
        """The registered secrets (for the stream redactor's hold-back)."""
        return tuple(self._secrets)

    def __call__(self, text: str) -> str:
        """`text` with every secret, URL credential and Authorization value masked."""
        text = self.secrets_in(text)
        if not text:
            return text
        text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + "@", text)
        text = _AUTHORIZATION.sub(_authorization, text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)

    def secrets_in(self, text: str) -> str:
        """`text` with only the registered secrets masked (for a model's own words, which
        may rightly talk about `Authorization: Bearer` headers)."""
        if len(text) < MIN_SECRET or self._probe is None:
            return text
        if text.isascii() and self._run not in text.encode("ascii").translate(self._marks):
            return text  # no run of secret characters as long as anything to mask
        if not self._probe.search(text):
            return text
        text = self._mask_runs(text)
        for secret in self._wholes:
            text = text.replace(secret, MASK)
        return text

    def _mask_runs(self, text: str) -> str:
        if self._runs is None:
            return text
        spans: list[list[int]] = []
        for match in self._runs.finditer(text):
            start = match.start()
            end = start + len(match.group(1))
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        if not spans:
            return text
        parts, last = [], 0
        for start, end in spans:
            parts += [text[last:start], MASK]
            last = end
        parts.append(text[last:])
        return "".join(parts)

    def held_back(self, text: str) -> int:
        """How many trailing characters could be the start of a secret (wait for more).

        A single character is let through: nearly every letter occurs somewhere in a
        key, and one shown next to a mask gives nothing away, while holding it back
        would delay most pieces of a reply.
        """
        longest = 0
        for secret in self._secrets:
            size = HOLD_FROM
            if len(text) < size or text[-size:] not in secret:
                continue  # the usual case: one check
            # a suffix not in the secret has no longer suffix in it either
            limit = min(len(secret), len(text))
            while size < limit and text[-size - 1 :] in secret:
                size += 1
            longest = max(longest, size)
        return longest


def _authorization(match: re.Match[str]) -> str:
    scheme = match.group(2)
    return match.group(1) + (f"{scheme} " if scheme else "") + MASK


class StreamRedactor:
    """Redacts text that arrives in pieces: a secret split across two pieces is still masked.

    `feed` returns what can be shown now; the tail that might begin a secret waits for
    the next piece, and `flush` returns it at the end.
    """

    def __init__(self, redactor: Redactor, *, everything: bool = False) -> None:
        self._redactor = redactor
        self._mask = redactor if everything else redactor.secrets_in
        self._held = ""
        # The last character passed on. `held_back` lets a lone character through, so
        # a key streamed one character per piece would pass whole, a letter at a time:
        # the tail is checked with the character shown before it.
        self._shown = ""

    def feed(self, text: str) -> str:
        """The redacted text that is safe to pass on now."""
        buffer = self._held + text if self._held else text
        # a tail of two or more characters says as much alone as with the one before it
        probe = self._shown + buffer if len(buffer) < HOLD_FROM else buffer
        keep = min(len(buffer), self._redactor.held_back(probe))
        if not keep:  # the usual case: nothing to hold, nothing sliced
            self._held = ""
            return self._passed(self._mask(buffer))
        ready, self._held = buffer[: len(buffer) - keep], buffer[len(buffer) - keep :]
        return self._passed(self._mask(ready))

    def flush(self) -> str:
        """The rest, redacted, at the end of the stream."""
        rest, self._held = self._held, ""
        return self._passed(self._mask(rest))

    def _passed(self, text: str) -> str:
        if text:
            self._shown = text[-1]
        return text


def redact_chunks(chunks: Iterable[bytes], redactor: Redactor) -> Iterator[bytes]:
    """A streamed body with the secrets masked, chunk by chunk; other bytes kept exact."""
    if not redactor.secrets:
        yield from chunks
        return
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    stream = StreamRedactor(redactor)
    for chunk in chunks:
        text = stream.feed(decoder.decode(chunk))
        if text:
            yield text.encode("utf-8", "surrogateescape")
    rest = stream.feed(decoder.decode(b"", final=True)) + stream.flush()
    if rest:
        yield rest.encode("utf-8", "surrogateescape")


def redact_bytes(data: bytes, redactor: Redactor) -> bytes:
    """A whole body with the secrets masked (non-UTF-8 bytes pass through unchanged)."""
    if not redactor.secrets or not data:
        return data
    return redactor(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


def redact_events(events: Iterable[StreamEvent], redactor: Redactor) -> Iterator[StreamEvent]:
    """Stream events with the secrets masked in the text and reasoning, even when a
    secret is spread over several deltas (a server streaming an echoed header)."""
    if not redactor.secrets:
        yield from events
        return
    text, reasoning = StreamRedactor(redactor), StreamRedactor(redactor)
    try:
        for event in events:
            # the other kind's held-back tail goes first: the order of pieces matters
            if isinstance(event, TextDelta):
                rest = reasoning.flush()
                if rest:
                    yield ReasoningDelta(rest)
                ready = text.feed(event.text)
                if ready:
                    yield event if ready is event.text else TextDelta(ready)
            elif isinstance(event, ReasoningDelta):
                rest = text.flush()
                if rest:
                    yield TextDelta(rest)
                ready = reasoning.feed(event.text)
                if ready:
                    yield event if ready is event.text else ReasoningDelta(ready)
            else:
                yield from _flushed(text, reasoning)
                yield event
    except ChatReplError:
        yield from _flushed(text, reasoning)  # what was held back belongs to the partial reply
        raise
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # closing this stream aborts the request under it, at once
    yield from _flushed(text, reasoning)


def _flushed(text: StreamRedactor, reasoning: StreamRedactor) -> Iterator[StreamEvent]:
    rest = reasoning.flush()
    if rest:
        yield ReasoningDelta(rest)
    rest = text.flush()
    if rest:
        yield TextDelta(rest)
