"""Copying replies: /copy [N] [code K] and /code [N].

The copy itself is the Clipboard port's (adapters/clipboard.py: OSC 52 to the
terminal, which reaches the local clipboard over SSH, and the platform's tool).
"""

from __future__ import annotations

from chatrepl.core.codeblocks import CodeBlock, code_blocks
from chatrepl.core.commands.registry import Command, CommandContext
from chatrepl.core.errors import CommandError
from chatrepl.core.messages import Message

_USAGE = "usage: /copy [N] [code [K]] (N counts replies, K the reply's code blocks)"


def _reply(ctx: CommandContext, number: int | None) -> tuple[int, Message]:
    replies = [m for m in ctx.conversation.messages if m.role == "assistant"]
    if not replies:
        raise CommandError("no reply yet")
    if number is None:
        return len(replies), replies[-1]
    if not 1 <= number <= len(replies):
        raise CommandError(f"no reply {number}: the conversation has {len(replies)}")
    return number, replies[number - 1]


def _block(number: int, reply: Message, k: int | None) -> tuple[int, CodeBlock]:
    blocks = code_blocks(reply.content)
    if not blocks:
        raise CommandError(f"reply {number} has no code blocks")
    if k is None:
        if len(blocks) > 1:
            raise CommandError(
                f"reply {number} has {len(blocks)} code blocks: /copy code K (/code lists them)"
            )
        k = 1
    if not 1 <= k <= len(blocks):
        raise CommandError(
            f"no code block {k}: reply {number} has {len(blocks)} (/code lists them)"
        )
    return k, blocks[k - 1]


def _copy(ctx: CommandContext, args: str) -> None:
    words = args.split()
    number = k = None
    code = False
    if words and words[0].isdigit():
        number = int(words.pop(0))
    if words and words[0].lower() == "code":
        code = True
        words.pop(0)
        if words and words[0].isdigit():
            k = int(words.pop(0))
    if words:
        raise CommandError(_USAGE)
    n, reply = _reply(ctx, number)
    if code:
        k, block = _block(n, reply, k)
        text, what = block.code, f"code block {k} of reply {n}"
    else:
        text, what = reply.content, f"reply {n}"
    if not text:
        raise CommandError(f"{what} is empty")
    report = ctx.copy(text)
    problems = "; ".join(report.problems)
    if not report.used:
        raise CommandError(f"could not copy: {problems}")
    line = f"copied {what} ({len(text):,} characters) via {' and '.join(report.used)}"
    ctx.view.info(line + (f" ({problems})" if problems else ""))


def _code(ctx: CommandContext, args: str) -> None:
    words = args.split()
    if len(words) > 1 or (words and not words[0].isdigit()):
        raise CommandError("usage: /code [N] (N counts replies; default the last)")
    n, reply = _reply(ctx, int(words[0]) if words else None)
    blocks = code_blocks(reply.content)
    if not blocks:
        ctx.view.info(f"reply {n} has no code blocks")
        return
    rows = []
    for k, block in enumerate(blocks, 1):
        first = next((line for line in block.code.split("\n") if line.strip()), "")
        first = first if len(first) <= 50 else first[:49] + "…"
        lines = f"{block.lines} line{'s' * (block.lines != 1)}"
        rows.append((str(k), block.language or "(no language)", lines, first.strip()))
    ctx.view.table(rows, title=f"Code blocks of reply {n} (/copy code K copies one)")


COMMANDS: tuple[Command, ...] = (
    Command(
        "copy",
        _copy,
        "copy the last reply (or reply N, or its code block K) to the clipboard",
        "[N] [code K]",
    ),
    Command("code", _code, "list the code blocks of the last reply (or reply N)", "[N]"),
)
