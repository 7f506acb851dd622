"""Files in a message: what a file is (by its content), how it joins the text, what it
costs, and the limits. Pure: the adapter (adapters/attachments.py) reads the disk.

A text file is UTF-8 that decodes (and holds no NUL byte), whatever its name; it joins
the next message as a fenced block headed by its path, with the language its name
suggests. PNG, JPEG, GIF and WebP images are recognised by their first bytes and go
as `image_url` content parts. Anything else is binary and refused. Attachments wait
(`Staged`) until the next message, so attaching never sends an empty prompt.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatrepl.core.messages import Attachment

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

_LANGUAGES = {
    "py": "python", "pyi": "python", "js": "javascript", "mjs": "javascript",
    "cjs": "javascript", "jsx": "jsx", "ts": "typescript", "tsx": "tsx", "rs": "rust",
    "go": "go", "rb": "ruby", "java": "java", "kt": "kotlin", "swift": "swift",
    "c": "c", "h": "c", "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "hpp": "cpp",
    "cs": "csharp", "php": "php", "pl": "perl", "lua": "lua", "r": "r", "scala": "scala",
    "sh": "bash", "bash": "bash", "zsh": "zsh", "fish": "fish", "ps1": "powershell",
    "sql": "sql", "html": "html", "htm": "html", "css": "css", "scss": "scss",
    "xml": "xml", "json": "json", "jsonl": "json", "yaml": "yaml", "yml": "yaml",
    "toml": "toml", "ini": "ini", "cfg": "ini", "md": "markdown", "markdown": "markdown",
    "rst": "rst", "tex": "latex", "csv": "csv", "diff": "diff", "patch": "diff",
    "dockerfile": "dockerfile", "makefile": "makefile", "vue": "vue", "svelte": "svelte",
    "ex": "elixir", "exs": "elixir", "erl": "erlang", "hs": "haskell", "ml": "ocaml",
    "clj": "clojure", "dart": "dart", "zig": "zig", "nim": "nim", "jl": "julia",
}  # fmt: skip
_TEXT_TYPES = {
    "markdown": "text/markdown", "json": "application/json", "csv": "text/csv",
    "html": "text/html", "xml": "application/xml", "yaml": "application/yaml",
    "toml": "application/toml", "python": "text/x-python", "javascript": "text/javascript",
    "css": "text/css",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one message may carry (the attach_max_* settings)."""

    file: int  # bytes per file
    total: int  # bytes for all of a message's files
    count: int  # files per message


@dataclass(frozen=True, slots=True)
class Staged:
    """An attachment waiting for the next message; a text file's content rides along."""

    attachment: Attachment
    text: str | None = None

    @property
    def tokens(self) -> int:
        """A rough estimate of what it costs in the prompt."""
        if self.text is not None:
            return math.ceil(len(self.text) / 4)
        size = image_size(self.attachment.data or b"")
        return image_tokens(size)


@dataclass(frozen=True, slots=True)
class Attached:
    """What one /attach (or the @paths of a message) read, and what it passed over."""

    staged: tuple[Staged, ...]
    skipped: tuple[str, ...] = ()  # "path (why)", for a folder's files that did not fit


def sniff(data: bytes) -> str | None:
    """The image type by its signature, "text" for UTF-8 text, or None for binary."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text"


def language_of(path: str) -> str:
    """The fence language a file's name suggests ("" when it suggests none)."""
    name = posixpath.basename(path.replace("\\", "/")).lower()
    if name in ("dockerfile", "makefile"):
        return name
    _, _, ext = name.rpartition(".")
    return _LANGUAGES.get(ext, "") if "." in name else ""


def text_media_type(path: str) -> str:
    """The media type recorded for a text file."""
    return _TEXT_TYPES.get(language_of(path), "text/plain")


def digest(data: bytes) -> str:
    """The sha256 the transcript records (and images are stored under)."""
    import hashlib  # loads OpenSSL: not before the first prompt

    return hashlib.sha256(data).hexdigest()


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def block(path: str, text: str) -> str:
    """A text file as it joins a message: its path, then a fence no line of it can close."""
    fence = _fence(text)
    newline = "" if text.endswith("\n") or not text else "\n"
    return f"{path}:\n{fence}{language_of(path)}\n{text}{newline}{fence}"


def compose(text: str, staged: Sequence[Staged]) -> str:
    """The message's content: what the user typed, then each text file's block."""
    blocks = [block(s.attachment.path, s.text) for s in staged if s.text is not None]
    return "\n\n".join([text, *blocks]) if blocks else text


def split_blocks(content: str, attachments: Sequence[Attachment]) -> tuple[str, list[str]] | None:
    """Undo `compose`: the typed text and each text attachment's content, or None when the
    content does not end in those blocks (the sha256 tells "a" from "a\\n" apart)."""
    texts: list[str] = []
    rest = content
    for attachment in reversed([a for a in attachments if not a.is_image]):
        lines = rest.rsplit("\n", 1)
        fence = lines[-1]
        if len(lines) < 2 or not fence or set(fence) != {"`"}:
            return None
        opening = f"{attachment.path}:\n{fence}{language_of(attachment.path)}\n"
        start = rest.rfind(opening)
        if start < 0:
            return None
        body = rest[start + len(opening) : len(rest) - len(fence)]
        candidates = [body, body[:-1]] if body.endswith("\n") else [body]
        text = next((c for c in candidates if digest(c.encode()) == attachment.sha256), None)
        if text is None:
            return None
        texts.append(text)
        rest = rest[:start]
        if rest and not rest.endswith("\n\n"):
            return None
        rest = rest[:-2]
    return rest, texts[::-1]


def image_size(data: bytes) -> tuple[int, int] | None:
    """An image's width and height from its header, when the format tells them simply."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"GIF") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:4] == b"RIFF" and data[12:16] == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(
                    data[i + 5 : i + 7], "big"
                )
            i += 2 + length
    return None


def image_tokens(size: tuple[int, int] | None) -> int:
    """About what an image costs: servers scale it to ≤ 1568 px a side, ~750 px² a token."""
    if size is None or min(size) <= 0:
        return 1600
    width, height = size
    scale = min(1.0, 1568 / max(width, height))
    return max(1, min(1600, math.ceil(width * scale * height * scale / 750)))


def takes_images(model: str | None, patterns: Sequence[str]) -> bool:
    """Whether the model is one the image_models patterns (or the dialect) allow."""
    import fnmatch

    name = (model or "").lower()
    return bool(name) and any(fnmatch.fnmatchcase(name, p.lower()) for p in patterns)


def check_budget(
    size: int, *, staged: Sequence[Staged], adding: Sequence[Staged], limits: Limits
) -> str | None:
    """Why one more file of `size` bytes would break a limit, or None if it fits."""
    if size > limits.file:
        return f"{human_size(size)} is over the {human_size(limits.file)} file limit"
    count = len(staged) + len(adding)
    if count + 1 > limits.count:
        return f"over the limit of {limits.count} files a message"
    total = sum(s.attachment.size for s in (*staged, *adding)) + size
    if total > limits.total:
        return f"over the {human_size(limits.total)} total limit"
    return None


def human_size(size: int) -> str:
    """1536 -> "1.5 KB"."""
    value, unit = float(size), "B"
    for bigger in ("KB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}".replace(".0 ", " ")


_MENTION = re.compile(r"(?<!\S)@(?:\"([^\"]+)\"|'([^']+)'|(\S+))")
_TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True, slots=True)
class Mention:
    """An `@path` in a message: the path as written, and shorter readings of it."""

    path: str
    quoted: bool

    def readings(self) -> list[str]:
        """The path, then the path without trailing punctuation ("see @a.py.")."""
        if self.quoted:
            return [self.path]
        out = [self.path]
        stripped = self.path.rstrip(_TRAILING)
        if stripped and stripped != self.path:
            out.append(stripped)
        return out

    @property
    def looks_like_path(self) -> bool:
        """Worth an error when missing: "@notes.txt" and "@src/" are; "@alice" and
        "@app.route('/')" (a decorator, not a path) are not."""
        if self.quoted:
            return True
        p = self.readings()[-1]
        if not _PATH_CHARS.fullmatch(p):
            return False
        has_extension = re.search(r"\w\.\w{1,8}$", p) is not None
        return "/" in p or p.startswith(("~", ".")) or has_extension


_PATH_CHARS = re.compile(r"[\w.~/+\-]+")
_CODE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?(?:^ {0,3}\1[`~]*[ \t]*$|\Z)|`[^`\n]*`", re.M | re.S)


def mentions(text: str) -> list[Mention]:
    """Every `@path` (also `@"with spaces"`) in a message, outside code (a pasted
    decorator is not a file)."""
    found = []
    for match in _MENTION.finditer(_CODE.sub(" ", text)):
        quoted = match.group(1) or match.group(2)
        found.append(Mention(quoted or match.group(3), bool(quoted)))
    return found
