"""Attaching files from disk: by content, folders, images kept by sha256, every bad path."""

from __future__ import annotations

import ctypes
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fakeserver import FakeServer

from chatrepl.adapters.attachments import DiskFiles
from chatrepl.core.attachments import Limits, digest
from chatrepl.core.errors import AttachmentError
from chatrepl.core.messages import Attachment

LIMITS = Limits(file=1024, total=4096, count=10)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (8).to_bytes(4, "big") * 2 + b"rest"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 10
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 10


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DiskFiles:
    monkeypatch.chdir(tmp_path)
    return DiskFiles(tmp_path / "data" / "images", home=str(tmp_path))


def test_a_text_file_is_known_by_its_content_not_its_name(files: DiskFiles, tmp_path: Path) -> None:
    (tmp_path / "script").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "fake.png").write_text("not an image at all\n")
    (tmp_path / "café.txt").write_text("crème brûlée\n", encoding="utf-8")
    attached = files.read(["script", "fake.png", "café.txt"], limits=LIMITS)
    assert [s.text for s in attached.staged] == [
        "#!/bin/sh\necho hi\n",
        "not an image at all\n",
        "crème brûlée\n",
    ]
    first = attached.staged[0].attachment
    assert first.media_type == "text/plain" and first.size == 18
    assert first.sha256 == digest(b"#!/bin/sh\necho hi\n")


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_images_are_known_by_their_signature(
    files: DiskFiles, tmp_path: Path, data: bytes, media_type: str
) -> None:
    (tmp_path / "picture.dat").write_bytes(data)
    (staged,) = files.read(["picture.dat"], limits=LIMITS).staged
    assert staged.attachment.media_type == media_type and staged.text is None
    assert staged.attachment.data == data


def test_a_folder_attaches_its_text_files_and_lists_what_it_skipped(
    files: DiskFiles, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "a.py").write_text("a = 1\n")
    (src / "b.md").write_text("# B\n")
    (src / "logo.png").write_bytes(PNG)
    (src / "blob.bin").write_bytes(b"\x00\x01\x02")
    (src / "huge.log").write_text("x" * 2000)
    (src / ".git").mkdir()
    (src / ".git" / "config").write_text("[core]\n")
    (src / "node_modules").mkdir()
    (src / "node_modules" / "dep.js").write_text("x\n")
    attached = files.read(["src"], limits=LIMITS)
    assert [s.attachment.path for s in attached.staged] == ["src/b.md", "src/pkg/a.py"]
    assert attached.skipped == (
        "src/blob.bin (binary)",
        "src/huge.log (2 KB is over the 1 KB file limit)",
        "src/logo.png (an image: attach it by name)",
    )


def test_a_folder_stops_at_the_count_and_total_limits(files: DiskFiles, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(5):
        (folder / f"f{n}.txt").write_text(f"{n}" * 300)
    attached = files.read(["many"], limits=Limits(file=1024, total=1000, count=10))
    assert len(attached.staged) == 3
    assert attached.skipped == (
        "many/f3.txt (over the 1000 B total limit)",
        "many/f4.txt (over the 1000 B total limit)",
    )
    attached = files.read(["many"], limits=Limits(file=1024, total=10_000, count=2))
    assert len(attached.staged) == 2 and len(attached.skipped) == 3


def _fifo(tmp_path: Path) -> str:
    os.mkfifo(tmp_path / "pipe")
    return "pipe"


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: "missing.txt", "missing.txt: no such file"),
        (lambda p: (p / "bin").write_bytes(b"\x7fELF\x00\x01") and "bin", "bin: binary"),
        (lambda p: (p / "latin1.txt").write_bytes(b"caf\xe9\n") and "latin1.txt", "binary"),
        (lambda p: (p / "big.txt").write_text("x" * 1025) and "big.txt", "over the 1 KB file"),
        (lambda p: (p / "empty").mkdir() or "empty", "empty: an empty folder"),
        (_fifo, "pipe: not a regular file"),
        (
            lambda p: (p / "dangling").symlink_to(p / "nowhere") or "dangling",
            "dangling: no such file",
        ),
    ],
    ids=["missing", "binary", "not-utf8", "too-large", "empty-folder", "fifo", "dangling-link"],
)
def test_every_bad_path_is_one_line_and_nothing_is_attached(
    files: DiskFiles, tmp_path: Path, make, problem: str
) -> None:
    (tmp_path / "good.txt").write_text("fine\n")
    name = make(tmp_path)
    with pytest.raises(AttachmentError) as caught:
        files.read(["good.txt", name], limits=LIMITS)
    message = str(caught.value)
    assert problem in message and "\n" not in message


def test_the_total_and_count_include_what_is_already_waiting(
    files: DiskFiles, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a" * 600)
    (tmp_path / "b.txt").write_text("b" * 600)
    first = files.read(["a.txt"], limits=Limits(file=1024, total=1000, count=10)).staged
    with pytest.raises(AttachmentError, match=r"b\.txt: over the 1000 B total limit"):
        files.read(["b.txt"], limits=Limits(file=1024, total=1000, count=10), staged=first)


def test_images_are_kept_once_by_sha256_and_read_back(files: DiskFiles, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    (staged,) = files.read(["a.png"], limits=LIMITS).staged
    files.keep(staged.attachment)
    blob = files.images / f"{digest(PNG)}.png"
    assert blob.read_bytes() == PNG
    assert stat.S_IMODE(blob.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.images.stat().st_mode) == 0o700
    mtime = blob.stat().st_mtime_ns
    files.keep(staged.attachment)  # the same bytes again: not rewritten
    assert blob.stat().st_mtime_ns == mtime
    bare = Attachment("a.png", len(PNG), digest(PNG), "image/png")  # as a transcript has it
    assert files.load(bare) == PNG
    blob.write_bytes(PNG + b"tampered")
    with pytest.raises(AttachmentError, match="changed on disk"):
        files.load(bare)
    blob.unlink()
    with pytest.raises(AttachmentError, match=r"image a\.png is no longer in"):
        files.load(bare)


def test_tilde_means_the_sessions_home(files: DiskFiles, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("n\n")
    assert files.exists("~/notes.txt") and not files.exists("~/other.txt")
    assert files.read(["~/notes.txt"], limits=LIMITS).staged[0].attachment.path == "~/notes.txt"


def _without_root_file_powers() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_an_unreadable_file_sends_nothing(fake_server: FakeServer, tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("secret plans\n")
    locked.chmod(0)
    env = {**os.environ, "INFERENCE_URL": fake_server.url, "INFERENCE_KEY": "inf-k-0123456789abc"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "chatrepl", "-m", "m", "--no-save", f"read @{locked}"],
            env=env,
            preexec_fn=_without_root_file_powers if os.geteuid() == 0 else None,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.SubprocessError as exc:  # no CAP_SETPCAP (an unusual container)
        pytest.skip(f"cannot make a file unreadable for root here: {exc}")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"chatrepl: {locked}: permission denied (cannot read it)\n"
    assert fake_server.requests == []
