"""Misconfigured endpoints and a provider that is down, against a real provider process.

No hub needed: the authenticator's own calls are made, as the hub makes them.
"""

from __future__ import annotations

import pytest
from hdss_hub.oidc import SandboxOAuthenticator
from tornado.httpclient import HTTPRequest
from tornado.web import HTTPError
from traitlets.config import Config

from tests.integration.hubproc import free_port
from tests.oidc.provider import CLIENT_ID


def authenticator(provider, **overrides) -> SandboxOAuthenticator:
    cfg = Config()
    a = cfg.SandboxOAuthenticator
    a.authorize_url = provider.authorize_url
    a.token_url = provider.token_url
    a.userdata_url = provider.userdata_url
    a.client_id = CLIENT_ID
    a.client_secret = "any"
    a.manage_groups = True
    a.probe_timeout = 3.0
    for key, value in overrides.items():
        setattr(a, key, value)
    return SandboxOAuthenticator(config=cfg)


async def test_a_provider_that_answers_passes_the_login_probe(provider):
    assert await authenticator(provider).provider_problem() is None


async def test_a_wrong_authorize_url_is_named_at_the_login_button(provider):
    a = authenticator(provider, authorize_url=f"{provider.url}/oauth2/authorise")
    status, message = await a.provider_problem()
    assert status == 502 and "auth.oidc.authorize_url" in message


async def test_a_provider_that_is_down_is_reported_at_the_login_button(provider):
    dead = f"http://127.0.0.1:{free_port()}/oauth2/authorize"
    status, message = await authenticator(provider, authorize_url=dead).provider_problem()
    assert status == 503 and "does not answer" in message


async def test_a_wrong_token_url_becomes_a_502_naming_the_setting(provider):
    a = authenticator(provider, token_url=f"{provider.url}/oauth2/tokens")
    req = HTTPRequest(a.token_url, method="POST", body="grant_type=authorization_code&code=x")
    with pytest.raises(HTTPError) as e:
        await a.fetch(req)
    assert e.value.status_code == 502 and "auth.oidc.token_url" in e.value.log_message


async def test_an_invalid_code_at_the_token_endpoint_is_a_403(provider):
    a = authenticator(provider)
    params = {"grant_type": "authorization_code", "code": "forged", "redirect_uri": "http://x/cb"}
    with pytest.raises(HTTPError) as e:
        await a.get_token_info(None, {**params, "client_id": CLIENT_ID, "client_secret": "any"})
    assert e.value.status_code == 403 and "refused this login" in e.value.log_message


async def test_a_userinfo_call_with_a_forged_access_token_is_refused(provider):
    a = authenticator(provider)
    with pytest.raises(HTTPError) as e:
        await a.token_to_user({"access_token": "forged", "token_type": "Bearer"})
    assert e.value.status_code == 403
