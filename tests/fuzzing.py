"""Shared settings for the fuzz tests (`@pytest.mark.fuzz`).

The normal run tries a modest number of examples per test; CI's fuzz step sets
CHATREPL_FUZZ_EXAMPLES to thousands. No deadline: a loaded 2-core box is slow, and a
slow example is not a failure. No example database: every run explores afresh.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("CHATREPL_FUZZ_EXAMPLES", "60"))

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# any text at all: lone surrogates (how Python keeps undecodable bytes), NUL, controls
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=200)
