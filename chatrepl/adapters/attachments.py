"""Reading attached files from disk, and the folder images are kept in.

`DiskFiles` implements the Files port. A file is judged by its bytes (core.attachments
`sniff`), never its name, and its size is checked before it is read, so a 4 GB log is
refused without being loaded. A folder attaches the text files under it, skipping
hidden and vendored folders, binaries, images and whatever would break a limit, and
says what it skipped. Images are stored once, under their sha256, in `images/` beside
the sessions folder (0700, files 0600), so a session line names an image instead of
carrying its base64.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from chatrepl.adapters.paths import private_dir
from chatrepl.core import attachments as rules
from chatrepl.core.attachments import Attached, Limits, Staged
from chatrepl.core.errors import AttachmentError
from chatrepl.core.messages import Attachment

# folders nobody means to send to a model
SKIPPED_FOLDERS = frozenset(
    {"node_modules", "__pycache__", "venv", ".venv", "dist", "build", "target", "site-packages"}
)
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


class DiskFiles:
    """The Files port over the file system, paths relative to the current folder."""

    def __init__(self, images: Path, *, home: str | None = None) -> None:
        self.images = images
        self._home = home

    # --- reading --------------------------------------------------------------

    def _expand(self, path: str) -> Path:
        if path.startswith("~") and self._home:
            return Path(self._home + path[1:]) if path[:2] in ("~", "~/") else Path(path)
        return Path(os.path.expanduser(path))

    def exists(self, path: str) -> bool:
        """Whether `path` names a file or a folder."""
        try:
            return self._expand(path).exists()
        except (OSError, ValueError):
            return False

    def read(
        self, paths: Sequence[str], *, limits: Limits, staged: Sequence[Staged] = ()
    ) -> Attached:
        """Read every path, or raise (one line) without having staged any of them."""
        adding: list[Staged] = []
        skipped: list[str] = []
        for name in paths:
            target = self._expand(name)
            if target.is_dir():
                self._folder(name, target, limits, staged, adding, skipped)
                continue
            adding.append(self._file(name, target, limits, staged, adding))
        return Attached(tuple(adding), tuple(skipped))

    def _file(
        self,
        name: str,
        target: Path,
        limits: Limits,
        staged: Sequence[Staged],
        adding: Sequence[Staged],
    ) -> Staged:
        try:
            size = target.stat().st_size
        except FileNotFoundError:
            raise AttachmentError(f"{name}: no such file") from None
        except OSError as exc:
            raise AttachmentError(f"{name}: cannot read ({exc.strerror or exc})") from None
        if not target.is_file():
            raise AttachmentError(f"{name}: not a regular file")
        problem = rules.check_budget(size, staged=staged, adding=adding, limits=limits)
        if problem is not None:
            raise AttachmentError(f"{name}: {problem}; nothing was attached")
        data = _read(name, target)
        kind = rules.sniff(data)
        if kind is None:
            raise AttachmentError(
                f"{name}: binary (neither UTF-8 text nor a PNG, JPEG, GIF or WebP image)"
            )
        return _staged(name, data, kind)

    def _folder(
        self,
        name: str,
        folder: Path,
        limits: Limits,
        staged: Sequence[Staged],
        adding: list[Staged],
        skipped: list[str],
    ) -> None:
        found = 0
        for path in _walk(folder):
            shown = os.path.join(name, os.path.relpath(path, folder))
            try:
                size = path.stat().st_size
            except OSError as exc:
                skipped.append(f"{shown} (cannot read: {exc.strerror or exc})")
                continue
            problem = rules.check_budget(size, staged=staged, adding=adding, limits=limits)
            if problem is not None:
                skipped.append(f"{shown} ({problem})")
                continue
            try:
                data = _read(shown, path)
            except AttachmentError as exc:
                skipped.append(f"{shown} ({str(exc).removeprefix(shown + ': ')})")
                continue
            kind = rules.sniff(data)
            if kind != "text":
                why = "binary" if kind is None else "an image: attach it by name"
                skipped.append(f"{shown} ({why})")
                continue
            adding.append(_staged(shown, data, kind))
            found += 1
        if not found and not skipped:
            raise AttachmentError(f"{name}: an empty folder")

    # --- the image folder -------------------------------------------------------

    def _blob(self, attachment: Attachment) -> Path:
        return self.images / (attachment.sha256 + _EXTENSIONS.get(attachment.media_type, ""))

    def keep(self, attachment: Attachment) -> None:
        """Write the image's bytes under its sha256 unless they are there already."""
        if attachment.data is None:
            return
        blob = self._blob(attachment)
        if blob.exists():
            return
        from chatrepl.adapters.storage import write_private

        try:
            private_dir(self.images)
            write_private(blob, attachment.data)
        except OSError as exc:
            raise AttachmentError(
                f"{self.images}: cannot keep {attachment.path} ({exc.strerror or exc})"
            ) from None

    def load(self, attachment: Attachment) -> bytes:
        """The image's bytes, checked against its sha256."""
        blob = self._blob(attachment)
        try:
            data = blob.read_bytes()
        except OSError:
            raise AttachmentError(
                f"image {attachment.path} is no longer in {self.images} "
                f"(sha256 {attachment.sha256[:12]}…); /edit that message to attach it again"
            ) from None
        if rules.digest(data) != attachment.sha256:
            raise AttachmentError(f"{blob}: changed on disk (its sha256 no longer matches)")
        return data


def _read(name: str, target: Path) -> bytes:
    try:
        return target.read_bytes()
    except FileNotFoundError:
        raise AttachmentError(f"{name}: no such file") from None
    except PermissionError:
        raise AttachmentError(f"{name}: permission denied (cannot read it)") from None
    except OSError as exc:
        raise AttachmentError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _staged(name: str, data: bytes, kind: str) -> Staged:
    digest = rules.digest(data)
    if kind == "text":
        media = rules.text_media_type(name)
        return Staged(Attachment(name, len(data), digest, media), data.decode("utf-8"))
    return Staged(Attachment(name, len(data), digest, kind, data=data))


def _walk(folder: Path) -> list[Path]:
    """The files under `folder`, sorted, leaving out hidden and vendored folders."""
    found: list[Path] = []
    with contextlib.suppress(OSError):
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS)
            found += [Path(root, n) for n in sorted(names) if not n.startswith(".")]
    return found
