"""The pure rules of attachments: sniffing, blocks and their undoing, sizes, mentions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrepl.core import attachments as rules
from chatrepl.core.attachments import Staged
from chatrepl.core.codeblocks import code_blocks
from chatrepl.core.messages import Attachment


def staged(path: str, text: str) -> Staged:
    data = text.encode()
    return Staged(Attachment(path, len(data), rules.digest(data), "text/plain"), text)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"plain\n", "text"),
        (b"", "text"),
        ("ünï\n".encode(), "text"),
        (b"caf\xe9", None),  # Latin-1, not UTF-8
        (b"a\x00b", None),  # UTF-8 that holds a NUL is binary
        (b"\x89PNG\r\n\x1a\nrest", "image/png"),
        (b"\xff\xd8\xff\xe1", "image/jpeg"),
        (b"GIF87a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8L", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),  # RIFF but not WebP: a WAV, binary
    ],
)
def test_sniff_by_content(data: bytes, kind: str | None) -> None:
    assert rules.sniff(data) == kind


def test_the_fence_outgrows_any_backticks_inside() -> None:
    text = "Use ```python fences``` and ````four````"
    block = rules.block("doc.md", text)
    assert block == f"doc.md:\n`````markdown\n{text}\n`````"
    assert code_blocks(block)[0].code == text  # nothing inside closes it


@given(
    st.text(max_size=30),
    st.lists(st.tuples(st.sampled_from(["a.py", "b.md", "c"]), st.text(max_size=40)), max_size=3),
)
def test_split_blocks_undoes_compose_exactly(typed: str, files: list[tuple[str, str]]) -> None:
    pending = [staged(path, text) for path, text in files]
    content = rules.compose(typed, pending)
    split = rules.split_blocks(content, [s.attachment for s in pending])
    assert split == (typed, [text for _, text in files])


def test_split_blocks_tells_a_final_newline_apart_by_the_sha256() -> None:
    for text in ("x = 1", "x = 1\n"):
        pending = [staged("a.py", text)]
        content = rules.compose("look", pending)
        assert rules.split_blocks(content, [pending[0].attachment]) == ("look", [text])


def test_split_blocks_refuses_content_that_does_not_hold_the_file() -> None:
    pending = [staged("a.py", "x = 1\n")]
    content = rules.compose("look", pending).replace("x = 1", "x = 2")
    assert rules.split_blocks(content, [pending[0].attachment]) is None
    assert rules.split_blocks("just text", [pending[0].attachment]) is None


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
            + (800).to_bytes(4, "big")
            + (600).to_bytes(4, "big"),
            (800, 600),
        ),
        (b"GIF89a" + (10).to_bytes(2, "little") + (20).to_bytes(2, "little"), (10, 20)),
        (
            b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08"
            + (300).to_bytes(2, "big")
            + (400).to_bytes(2, "big")
            + b"\x03",
            (400, 300),
        ),
        (
            b"RIFF\x00\x00\x00\x00WEBPVP8X"
            + b"\x00" * 8
            + (99).to_bytes(3, "little")
            + (49).to_bytes(3, "little"),
            (100, 50),
        ),
        (b"nothing", None),
    ],
)
def test_image_sizes_from_headers(data: bytes, size: tuple[int, int] | None) -> None:
    assert rules.image_size(data) == size


def test_image_tokens_scale_like_the_servers() -> None:
    assert rules.image_tokens((800, 600)) == 640
    assert rules.image_tokens((4000, 3000)) == 1600  # scaled to 1568 px, capped
    assert rules.image_tokens(None) == 1600


@pytest.mark.parametrize(
    ("model", "takes"),
    [
        ("claude-4-5-sonnet", True),
        ("claude-sonnet-4-6", True),
        ("GPT-4o-mini", True),
        ("llava:13b", True),
        ("Qwen2.5-VL-7B", True),
        ("claude-3-haiku", False),
        ("llama3.2", False),
        (None, False),
    ],
)
def test_default_image_models(model: str | None, takes: bool) -> None:
    from chatrepl.core.settings import DEFAULT_IMAGE_MODELS

    assert rules.takes_images(model, DEFAULT_IMAGE_MODELS) is takes


def test_human_sizes() -> None:
    assert [rules.human_size(n) for n in (0, 1023, 1024, 1536, 5 * 1024**2)] == [
        "0 B",
        "1023 B",
        "1 KB",
        "1.5 KB",
        "5 MB",
    ]
