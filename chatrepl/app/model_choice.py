"""Never a request without a model: the picker at REPL start, the rule for one-shot mode.

With no model from any layer (flag, config, environment, transcript, the memory of this
endpoint), the REPL lists the endpoint's chat models, numbered, and the user picks one
by number or name (Tab completes); the choice is remembered for this endpoint. One-shot
mode cannot ask, so it exits 2 naming `-m/--model` and the models it could use. A list
with a single model needs no question.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chatrepl.core.errors import ApiError, ChatReplError, ConfigError, TransportError
from chatrepl.core.ports import View

PICKED = "picked from the list"
ONLY_ONE = "the only model listed"
HOW_TO_SET = '/model NAME, -m NAME, or model = "…" in the config file'
SHOWN_IN_ERROR = 12  # an exit message names this many models at most


def choose(text: str, models: Sequence[str]) -> str:
    """The model a typed answer means: a number from the list, a name, or a unique prefix.

    Raises ValueError with a one-line reason otherwise.
    """
    answer = text.strip()
    count = len(models)
    if answer.isdigit():
        number = int(answer)
        if 1 <= number <= count:
            return models[number - 1]
        raise ValueError(f"pick a number from 1 to {count}, or type a name")
    if answer in models:
        return answer
    starting = [m for m in models if m.startswith(answer)]
    if len(starting) == 1:
        return starting[0]
    if starting:
        raise ValueError(f"'{answer}' could be {', '.join(starting[:4])}: type more of it")
    raise ValueError(f"no model '{answer}' here: pick a number from 1 to {count}")


def pick_model(
    models: Sequence[str],
    *,
    view: View,
    read: Callable[[str], str | None],
    where: str,
) -> str | None:
    """Show the numbered list and read a choice until one is valid; None if declined."""
    if len(models) == 1:
        return models[0]
    rows = [(f"{n}", model) for n, model in enumerate(models, 1)]
    view.info(f"Chat models at {where}: pick one by number or name (Tab completes)")
    view.table(rows)
    while True:
        text = read("model> ")
        if text is None or not text.strip():
            view.info(f"no model chosen; set one later with {HOW_TO_SET}")
            return None
        try:
            return choose(text, models)
        except ValueError as exc:
            view.error(str(exc))


def model_list_or_none(
    list_models: Callable[[], list[str]],
) -> tuple[list[str], ChatReplError | None]:
    """The endpoint's chat models, or ([], the failure that kept them away)."""
    try:
        return list(list_models()), None
    except ChatReplError as exc:
        return [], exc


def one_shot_model(list_models: Callable[[], list[str]], *, host: str) -> str:
    """The model a one-shot run may use without asking, or an error saying how to set one.

    No model is a usage error (exit 2); when the list itself failed because the server
    or the network did (a refused key, no connection), that failure's status is kept.
    """
    models, failure = model_list_or_none(list_models)
    if len(models) == 1:
        return models[0]
    if failure is not None:
        line = (
            "no model chosen: pass -m/--model MODEL (or set INFERENCE_MODEL_ID); "
            f"the model list is unavailable: {failure}"
        )
        if isinstance(failure, ApiError) and failure.status != 404:
            raise ApiError(line, status=failure.status)
        if isinstance(failure, TransportError):
            raise TransportError(line)
        raise ConfigError(line)
    if not models:
        raise ConfigError(f"no model chosen: pass -m/--model MODEL ({host} lists no chat models)")
    shown = ", ".join(models[:SHOWN_IN_ERROR]) + (", …" if len(models) > SHOWN_IN_ERROR else "")
    raise ConfigError(f"no model chosen: pass -m/--model MODEL (chat models at {host}: {shown})")


def remember(memory: Any, url: str | None, model: str, view: View | None = None) -> None:
    """Use `model` at this endpoint next time (a failure to save only costs a question)."""
    if memory is None or not url:
        return
    if not memory.remember_model(url, model) and view is not None:
        view.error(f"could not save the model choice to {memory.path}")
