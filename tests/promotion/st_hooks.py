"""Schemathesis hooks for test_fuzz.py (loaded with SCHEMATHESIS_HOOKS): every refusal says
why (the ledger's check), and no answer to a researcher holds a restricted value."""

import schemathesis

from tests.ledger import st_hooks  # noqa: F401 (registers message_on_4xx)
from tests.promotion.test_web import RESEARCHERS, RESTRICTED_VALUES


@schemathesis.check
def no_restricted_values_for_researchers(ctx, response, case):
    """A researcher's answer never holds a finding's detail, a run log value or an output."""
    caller = response.request.headers.get("Authorization", "").removeprefix("test ")
    if caller in RESEARCHERS:
        text = response.content.decode("utf-8", errors="replace")
        shown = [v for v in RESTRICTED_VALUES if v in text]
        if shown:
            raise AssertionError(f"{caller} was shown {shown!r}: {text[:200]}")
    return None
