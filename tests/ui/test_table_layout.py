"""Laying out a table too wide for the terminal: alike rows alike, nothing folded that fits."""

from __future__ import annotations

import pytest

from chatrepl.ui.table_layout import _row_width, column_widths, rows_to_fold

SETTINGS_AT_60 = [
    ["url", "http://127.0.0.1:41699", "env INFERENCE_URL"],
    ["key", "…", "env INFERENCE_KEY"],
    ["model", "m", "env INFERENCE_MODEL_ID"],
    ["temperature", "(not set)", "default"],
    ["max_tokens", "off", "default"],
    ["dialect", "heroku", "detected: URL from Heroku's add-on variables"],
    ["app", "(not set)", "default"],
    ["addon", "(not set)", "default"],
    ["timeout", "120 s (600 s no-stream)", "default"],
    ["autosave_one_shot", "on", "default"],
    ["params", "(none: /set KEY VALUE)", "default"],
    ["auto_compact", "off", "default"],
    ["profile", "(not set)", "default"],
]


def test_short_rows_stay_on_one_line_beside_folded_wide_ones() -> None:
    folded = rows_to_fold(SETTINGS_AT_60, 60)
    names = {SETTINGS_AT_60[n][0] for n in folded}
    # the wide values fold; "temperature (not set) default" is as short as "app (not set)
    # default" and used to fold only because the greedy pass reached it first
    assert {"url", "timeout", "params"} <= names
    assert not names & {"temperature", "addon", "auto_compact", "profile", "app", "max_tokens"}


@pytest.mark.parametrize("width", [40, 50, 60, 72])
def test_no_folded_cell_would_fit_back_without_moving_other_rows(width: int) -> None:
    folded = rows_to_fold(SETTINGS_AT_60, width)
    widths = column_widths(SETTINGS_AT_60, folded)
    for number, count in folded.items():
        trial = {**folded, number: count - 1}
        kept = len(SETTINGS_AT_60[number]) - trial[number]
        if column_widths(SETTINGS_AT_60, trial) != widths:
            continue  # giving it back would move other rows
        assert _row_width(SETTINGS_AT_60[number], kept, widths) >= width, SETTINGS_AT_60[number]
