"""One-shot comparisons: `chatrepl --compare m1,m2 "question"` (or the question piped in).

Every model is asked at once; on a terminal the replies stream side by side (the live
compare view), into a pipe each reply comes under its model as Markdown, then the
metrics table. `--json` prints one object instead: every reply with its spec, settings,
stats and error. Exit 0 when at least one model answered, 1 when none did, 130 on Ctrl-C.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from typing import Any

from chatrepl.app.oneshot import message_text
from chatrepl.app.wiring import Session
from chatrepl.core.comparison import Comparison, Target
from chatrepl.core.errors import ConfigError, ExitStatus
from chatrepl.core.settings import ConfigFile
from chatrepl.core.specs import current_target, is_current
from chatrepl.ui.terminal import keyboard_echo_off


def targets_of(value: str, config: ConfigFile | None = None) -> list[Target]:
    """The model specs named by `--compare m1,heroku:m2@temperature=0.2,@set` (see
    core/specs.py; the config's profiles and sets are known)."""
    from chatrepl.core.specs import SpecError, expand, split_specs

    names = split_specs(value)
    if not names:
        raise ConfigError("--compare takes models separated by commas: --compare m1,m2")
    try:
        return expand(
            names,
            profiles=tuple(config.profiles) if config is not None else (),
            sets=config.compare_sets if config is not None else None,
        )
    except SpecError as exc:
        raise ConfigError(f"--compare: {exc}") from None


def run_compare(session: Session) -> int:
    """Ask every model the message at once; the exit status says whether any answered."""
    targets = targets_of(session.args.compare, session.config)
    text = message_text(session)
    if not text:
        raise ConfigError("nothing to send: give a message or pipe one in")
    environment = session.environment
    as_json = bool(session.args.json)
    if as_json:
        # the replies go into the JSON; errors and notices still reach stderr
        from chatrepl.ui.plain import PlainView
        from chatrepl.ui.redacting import RedactingView

        view: Any = RedactingView(PlainView(io.StringIO(), environment.stderr), session.redactor)
    else:
        view = session.view()
    engine = session.build_engine(view, interactive=False)
    model = engine.settings.model
    if len(targets) == 1 and model and not is_current(targets[0], model):
        targets.insert(0, current_target(model))  # one spec: mine against that one
    with keyboard_echo_off(environment.stdin if environment.stdin_isatty else None):
        comparison = engine.compare(targets, text)
    if as_json:
        document = json.dumps(as_document(comparison), ensure_ascii=False, indent=2)
        environment.stdout.write(session.redactor.secrets_in(document) + "\n")
        environment.stdout.flush()
    results = comparison.results
    if any(r.reply.interrupted for r in results):
        return ExitStatus.INTERRUPTED
    answered = any(r.reply.text and r.reply.error is None for r in results)
    return ExitStatus.OK if answered else ExitStatus.API


def as_document(comparison: Comparison) -> dict[str, Any]:
    """The comparison as one JSON-ready object."""
    replies = []
    pairs = zip(comparison.targets, comparison.results, strict=True)
    for index, (target, result) in enumerate(pairs):
        stats = result.reply.stats
        replies.append(
            {
                "spec": target.spec,
                "model": target.model,
                "profile": target.profile,
                "settings": dict(target.overrides),
                "label": comparison.letter(index),
                "text": result.reply.text,
                "reasoning": result.reply.reasoning or None,
                "error": result.error,
                "interrupted": stats.interrupted,
                "finish_reason": stats.finish_reason,
                "ttft": stats.ttft,
                "duration": stats.duration,
                "usage": asdict(stats.usage) if stats.usage is not None else None,
                "tokens_per_second": stats.tokens_per_second,
                "cost": stats.cost,
                "temperature": stats.temperature,
                "max_tokens": stats.max_tokens,
            }
        )
    return {"question": comparison.question, "replies": replies}
