"""Text that is safe to send, save and show: valid Unicode, whatever the terminal sent.

Python keeps bytes that were not UTF-8 (in argv, a pipe, a terminal) as "surrogate
escapes", and JSON can spell a lone surrogate (`"\\ud800"`). Neither can be written as
UTF-8, so one would kill the autosave, the request or the screen much later. They are
repaired where text comes in: each byte that was not UTF-8, and each lone surrogate,
becomes U+FFFD, the character made for "something was here that could not be read".
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_SURROGATES = re.compile("[\ud800-\udfff]")
_NOT_ESCAPES = re.compile("[\ud800-\udc7f\udd00-\udfff]")  # surrogates that are no byte


def needs_repair(text: str) -> bool:
    """Whether `text` holds something that cannot be written as UTF-8."""
    return _SURROGATES.search(text) is not None


def repair(text: str) -> str:
    """`text` with undecodable bytes and lone surrogates replaced by U+FFFD."""
    if not needs_repair(text):
        return text
    text = _NOT_ESCAPES.sub(REPLACEMENT, text)
    # each escape goes back to the byte it was, and each stray byte becomes one U+FFFD
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
