"""`local:` specs against the real llama.cpp server: started on the first comparison that
names one, asked beside another endpoint, kept by /pick, stopped with the session."""

from __future__ import annotations

import importlib.util
import socket
from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest
from fakes import RecordingView
from fakeserver import FakeServer

from chatrepl.adapters.http import HttpBackend
from chatrepl.adapters.llamacpp import bundled_model_installed
from chatrepl.app.profile_endpoints import ProfileEndpoints
from chatrepl.app.wiring import profile_settings
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.engine import Engine
from chatrepl.core.settings import Layer, resolve

pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None or not bundled_model_installed(),
        reason="needs pip install '.[local]' and the model (see the README's Install)",
    ),
]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_a_local_spec_starts_the_server_on_first_use_and_pick_goes_on_with_it() -> None:
    with FakeServer() as home:
        stack = ExitStack()
        resolved = resolve(Layer("test", {"url": home.url, "model": "m1"}))
        backend = HttpBackend(resolved.settings)
        stack.callback(backend.close)
        view = RecordingView()
        endpoints = ProfileEndpoints(
            profile_settings({}, None), {}, stack
        )  # no config file: `local` is built in
        engine = Engine(resolved, backend, view, commands=builtin_commands(), endpoints=endpoints)
        with stack:
            engine.handle("/compare m1 -- say hi")  # no local spec: nothing started
            started: dict[str, object] = vars(endpoints)["_built"]
            assert started == {}
            engine.handle(
                "/compare m1 local:smollm2@temperature=0,max_tokens=8 local:smollm2@max_tokens=4 "
                "-- Say hello."
            )
            assert view.errors == []
            comparison = engine.last_comparison
            assert comparison is not None
            results = comparison.results
            assert [comparison.label(i) for i in comparison.order] == [
                "m1",
                "local:smollm2 · temperature=0.0, max_tokens=8",
                "local:smollm2 · max_tokens=4",
            ]
            assert results[0].text == "You said: Say hello."
            for local in results[1:]:  # SmolLM2 answered, capped as each spec asked
                assert local.error is None and local.text.strip()
                assert local.reply.stats.usage is not None
            assert results[1].reply.stats.usage.completion_tokens <= 8
            assert results[2].reply.stats.usage.completion_tokens <= 4
            url = endpoints("local").settings.url
            assert url is not None
            port = urlsplit(url).port
            assert port is not None and port_open(port)
            engine.handle("/pick 2")
            assert view.infos[-1].startswith("now using local:smollm2 · temperature=0.0")
            before = len(home.chat_requests)
            outcome = engine.handle("And goodbye.")
            assert outcome.error is None and outcome.reply is not None
            assert outcome.reply.stats is not None and outcome.reply.stats.model
            assert len(home.chat_requests) == before  # the local server answered it
            sent = [m.content for m in engine.conversation.messages]
            assert sent[0] == "Say hello." and sent[1] == results[1].text
        assert not port_open(port)  # stopped with the session
