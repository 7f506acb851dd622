"""Deterministic, realistic chat-reply markdown of a chosen size, for benchmarks and tests.

Sections look like what models write: headings, paragraphs with inline markup, nested
lists, tables, block quotes, fenced code in several languages, rules, and one long code
block (20 KB, or a quarter of the document when that is smaller).
"""

from __future__ import annotations

import random

_PROSE = (
    "the server streams tokens as events and the client renders each finished block once "
    "while the tail stays live latency matters more than throughput for a chat so we "
    "measure time to first token cache the session reuse connections and keep scrollback "
    "clean markdown tables lists and fenced code need care because a fence that is still "
    "open changes how everything after it is parsed"
)
WORDS = _PROSE.split()

PYTHON = '''def retry_delay(attempt: int, *, base: float = 0.5, cap: float = 8.0) -> float:
    """Exponential backoff with jitter, as the reference client does."""
    delay = min(base * 2**attempt, cap)
    return delay * (1 - 0.25 * random.random())


class Backoff:
    def __init__(self, attempts: int = 3) -> None:
        self.attempts = attempts

    def __iter__(self):
        for n in range(self.attempts):
            yield retry_delay(n)
'''

JAVASCRIPT = """async function* streamChat(url, payload) {
  const response = await fetch(url, { method: "POST", body: JSON.stringify(payload) });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield decoder.decode(value, { stream: true });
  }
}
"""

SHELL = """export INFERENCE_URL=https://us.inference.heroku.com
curl -sN "$INFERENCE_URL/v1/chat/completions" \\
  -H "Authorization: Bearer $INFERENCE_KEY" \\
  -d '{"model": "claude-4-sonnet", "stream": true, "messages": []}'
"""

JSON = """{
  "model": "claude-4-sonnet",
  "messages": [{"role": "user", "content": "explain SSE"}],
  "stream": true,
  "stream_options": {"include_usage": true}
}
"""


def _sentence(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(8, 18))
    pick = rng.random()
    if pick < 0.2:
        words[2] = f"**{words[2]}**"
    elif pick < 0.4:
        words[3] = f"`{words[3]}()`"
    elif pick < 0.5:
        words[1] = f"*{words[1]}*"
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 5)))


def _list(rng: random.Random) -> str:
    ordered = rng.random() < 0.5
    items = []
    for n in range(rng.randint(3, 5)):
        items.append(f"{n + 1}. {_sentence(rng)}" if ordered else f"- {_sentence(rng)}")
        if rng.random() < 0.4:
            indent = "   " if ordered else "  "
            items.extend(f"{indent}- {_sentence(rng)}" for _ in range(2))
    return "\n".join(items)


def _table(rng: random.Random) -> str:
    rows = ["| setting | value | note |", "|---|---:|---|"]
    for _ in range(rng.randint(3, 6)):
        rows.append(f"| `{rng.choice(WORDS)}` | {rng.randint(1, 999)} | {_sentence(rng)[:40]} |")
    return "\n".join(rows)


def _quote(rng: random.Random) -> str:
    return "> " + _sentence(rng) + "\n> " + _sentence(rng)


def _code(rng: random.Random) -> str:
    lang, body = rng.choice(
        [("python", PYTHON), ("javascript", JAVASCRIPT), ("bash", SHELL), ("json", JSON)]
    )
    return f"```{lang}\n{body}```"


def long_code_block(size: int) -> str:
    """A fenced Python block of about `size` characters."""
    lines = ["```python"]
    n = 0
    while sum(len(line) + 1 for line in lines) < size:
        lines.append(f"def handler_{n}(event: dict[str, object]) -> str | None:")
        lines.append(f'    """Handle event number {n} and say what happened."""')
        lines.append(f'    return event.get("text_{n}") or None  # fast path {n}')
        lines.append("")
        n += 1
    lines.append("```")
    return "\n".join(lines)


def realistic_markdown(size: int, *, seed: int = 0) -> str:
    """About `size` characters of markdown shaped like a long chat reply."""
    rng = random.Random(seed)
    big = long_code_block(min(20_000, size // 4))
    blocks: list[str] = [f"# Answer {seed}", _paragraph(rng)]
    length = sum(len(b) + 2 for b in blocks)
    placed_big = False
    section = 0
    while length + (0 if placed_big else len(big)) < size:
        section += 1
        part = [f"## Section {section}", _paragraph(rng)]
        part.append(rng.choice([_list, _table, _quote, _code, _paragraph])(rng))
        part.append(rng.choice([_code, _list, _paragraph])(rng))
        if not placed_big and length > size // 3:
            part.append(big)
            placed_big = True
        if section % 4 == 0:
            part.append("---")
        blocks.extend(part)
        length += sum(len(b) + 2 for b in part)
    if not placed_big:
        blocks.append(big)
    return "\n\n".join(blocks) + "\n"
