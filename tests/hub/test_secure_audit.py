"""The hub's side of the secure servers' guard: reports, tokens, rate limits, shares.

The endpoint and the share refusal run against a real hub in
tests/integration/test_secure_guard.py; these are their rules on plain values.
"""

from __future__ import annotations

import json

import pytest
from hdss_hub import secure_audit, secure_shares
from hdss_hub.settings import load_settings
from jupyterhub import apihandlers
from jupyterhub.apihandlers import shares
from traitlets.config import Config


def body(**report) -> bytes:
    return json.dumps(report).encode()


def test_a_read_and_a_refusal_become_entries():
    assert secure_audit.parse_report(
        body(event="read", route="contents", path="a.csv", size=10, type="file", format="text")
    ) == (
        "secure.read",
        "ok",
        {"route": "contents", "path": "a.csv", "size": 10, "type": "file", "format": "text"},
    )
    action, outcome, details = secure_audit.parse_report(
        body(event="refused", route="not-owner", requester="admin", method="GET")
    )
    assert (action, outcome, details["requester"]) == ("secure.refused", "refused", "admin")


@pytest.mark.abuse
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "JSON object"),
        (b"[1]", "JSON object"),
        (b"{", "JSON object"),
        (body(event="permission.revoke"), "event must be"),
        (body(event="read", actor="steward"), "unknown field 'actor'"),
        (body(event="read", target="server:other/secure-x"), "unknown field 'target'"),
        (body(event="read", size=-1), "whole number"),
        (body(event="read", size=True), "whole number"),
        (body(event="read", path="x" * 1025), "at most 1024"),
        (body(event="read", route=["files"]), "text"),
        (b" " * (secure_audit.MAX_BODY + 1), "at most"),
    ],
)
def test_anything_but_a_small_known_report_is_refused(raw, message):
    with pytest.raises(secure_audit.ReportInvalid, match=message):
        secure_audit.parse_report(raw)


SERVER_SCOPES = ["access:servers!server=res/secure-diab-2026", "users:activity!user"]


def test_the_secure_server_of_a_server_token():
    assert secure_audit.secure_server_of("res", SERVER_SCOPES) == "secure-diab-2026"


@pytest.mark.abuse
@pytest.mark.parametrize(
    ("user", "scopes"),
    [
        ("res2", SERVER_SCOPES),  # another user's scope
        ("res", ["access:servers!server=res/", "users:activity!user"]),  # the sandbox
        ("res", ["access:servers!server=res/analysis"]),  # a named sandbox server
        ("res", ["access:servers!server=res/secure-"]),
        ("res", ["inherit"]),  # a personal token with all the user's rights
        ("res", ["access:servers!user"]),
        ("res", [*SERVER_SCOPES, "access:servers!server=res/secure-other"]),
        ("res", [*SERVER_SCOPES, "access:servers"]),
    ],
)
def test_other_tokens_name_no_secure_server(user, scopes):
    assert secure_audit.secure_server_of(user, scopes) is None


def test_the_rate_limit_turns_away_and_counts():
    now = [0.0]
    rates = secure_audit.RateLimit(limit=2, window=10, clock=lambda: now[0])
    assert rates.allow("a") and rates.allow("a")
    assert not rates.allow("a") and not rates.allow("a")
    assert rates.allow("b"), "each server has its own budget"
    now[0] = 10.5
    assert rates.allow("a")
    assert rates.take_turned_away("a") == 2 and rates.take_turned_away("a") == 0


def test_share_routes_point_at_the_guard():
    routes = list(apihandlers.default_handlers)
    originals = [h for _, h, *_ in routes if h in secure_shares.GUARDED]
    assert secure_shares.refuse_secure_shares(routes) == 4
    assert secure_shares.refuse_secure_shares(routes) == 4  # twice is harmless
    guarded = [h for _, h, *_ in routes if h in secure_shares.GUARDED.values()]
    assert len(guarded) + len(originals) in (4, 8)
    assert not [h for _, h, *_ in routes if h in secure_shares.GUARDED]
    assert issubclass(secure_shares.SecureServerShareAPIHandler, shares.ServerShareAPIHandler)


@pytest.mark.abuse
def test_a_jupyterhub_without_those_routes_stops_the_hub():
    with pytest.raises(RuntimeError, match="could be shared"):
        secure_shares.refuse_secure_shares([("/api/other", object)])


def test_with_the_ledger_the_hub_takes_reports_and_guards_shares(tmp_path):
    settings = load_settings(None, tmp_path)
    c = Config()
    secure_audit.apply_secure_audit(settings, c)
    assert c.JupyterHub.extra_handlers == [
        (r"/api/hdss/secure-audit", secure_audit.SecureAuditHandler)
    ]
    assert not [h for _, h, *_ in apihandlers.default_handlers if h in secure_shares.GUARDED]


def test_without_the_ledger_nothing_is_added(tmp_path):
    settings = load_settings(None, tmp_path)
    settings["ledger"]["enabled"] = False
    c = Config()
    secure_audit.apply_secure_audit(settings, c)
    assert "extra_handlers" not in c.JupyterHub
