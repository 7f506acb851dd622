"""The other endpoints a comparison asks: one per profile, each with its own pooled HTTP
backend, built on first use (a `local:` spec starts the bundled llama.cpp server then).

A profile's settings resolve as `--profile NAME` would resolve them, without the flags:
the config's top level < the environment < the profile; its key is found the same way
and joins the redactor before anything is sent. Everything opened here closes with the
session (the servers stop, the pools close).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import IO

from chatrepl.core.errors import ChatReplError, ConfigError, LocalModelError
from chatrepl.core.ports import Endpoint
from chatrepl.core.settings import Resolved, Secret, check_plain_http


class ProfileEndpoints:
    """`profile name -> Endpoint`, each built once (thread-safe), closed with `stack`."""

    def __init__(
        self,
        settings_for: Callable[[str], Resolved],
        env: Mapping[str, str],
        stack: ExitStack,
        *,
        secret: Callable[[Resolved], None] = lambda resolved: None,
        spinner_to: IO[str] | None = None,
    ) -> None:
        self._settings_for = settings_for  # a profile's settings, as --profile resolves them
        self._env = env
        self._stack = stack
        self._secret = secret  # registers a key (and a URL's password) with the redactor
        self._spinner_to = spinner_to
        self._built: dict[str, Endpoint] = {}
        self._lock = threading.Lock()

    def __call__(self, profile: str) -> Endpoint:
        """The profile's endpoint (a ChatReplError, one line, when it cannot be had)."""
        with self._lock:
            if profile not in self._built:
                self._built[profile] = self._build(profile)
            return self._built[profile]

    def _build(self, profile: str) -> Endpoint:
        try:
            resolved = self._settings_for(profile)
        except ConfigError as exc:
            raise ConfigError(f"{profile}: {exc}") from None
        self._secret(resolved)
        if resolved.settings.local:
            resolved = self._start_local(resolved)
        elif not resolved.settings.url:
            raise ConfigError(f"profile {profile} names no url = … to send to")
        check_plain_http(resolved.settings)
        from chatrepl.adapters.http import HttpBackend

        backend = HttpBackend(resolved.settings, env=self._env)
        self._stack.callback(backend.close)
        return Endpoint(backend, resolved.settings)

    def _start_local(self, resolved: Resolved) -> Resolved:
        from chatrepl.adapters.llamacpp import start_local_server

        try:
            server = self._stack.enter_context(
                start_local_server(resolved.settings.local_model, spinner_to=self._spinner_to)
            )
        except LocalModelError as exc:
            if exc.missing is None:
                raise
            from chatrepl.adapters.install_hints import Need, install_hint, this_installation

            hint = install_hint(Need(exc.missing), this_installation(self._env))
            raise LocalModelError(f"local: {exc}: {hint}") from None
        except (OSError, RuntimeError) as exc:  # the library failed to start its server
            raise ChatReplError(f"the local server did not start: {exc}") from None
        source = "local llama.cpp server"
        resolved = resolved.with_value("url", server.url, source)
        resolved = resolved.with_value("key", Secret(server.key, "the local server"), source)
        if resolved.sources.get("dialect", "").startswith(("default", "detected")):
            resolved = resolved.with_value("dialect", "llamacpp", "detected: local (llama.cpp)")
        if not resolved.settings.model:
            resolved = resolved.with_value("model", server.model, source)
        self._secret(resolved)
        return resolved
