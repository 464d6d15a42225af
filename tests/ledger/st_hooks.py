"""Schemathesis hooks for test_fuzz.py (loaded with SCHEMATHESIS_HOOKS)."""

import schemathesis


@schemathesis.check
def message_on_4xx(ctx, response, case):
    """Every refusal says why: a 4xx carries a JSON body with a non-empty message."""
    if 400 <= response.status_code < 500:
        body = response.json()
        if not (isinstance(body, dict) and body.get("message")):
            raise AssertionError(f"{response.status_code} without a message: {response.text[:200]}")
    return None
