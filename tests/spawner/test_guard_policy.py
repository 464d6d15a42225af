"""The secure servers' guard (hdss_secure.policy): what it refuses, from plain values.

The guard itself runs inside the single-user image; these rules need no Jupyter server.
The integration tests (tests/integration/test_secure_guard.py) run the real thing.
"""

from __future__ import annotations

import base64
import json

import pytest
from hdss_secure import policy

ENV = {
    "HDSS_PROJECT": "diab-2026",
    "JUPYTERHUB_USER": "res",
    "JUPYTERHUB_SERVER_NAME": "secure-diab-2026",
    "JUPYTERHUB_API_URL": "http://172.30.0.1:8081/hub/api/",
    "JUPYTERHUB_API_TOKEN": "t0k3n",
    "HDSS_SECURE_MAX_READ_BYTES": "2048",
}


def test_a_sandbox_server_is_left_alone():
    assert policy.SecureSettings.from_env({**ENV, "HDSS_PROJECT": ""}) is None
    assert policy.SecureSettings.from_env({}) is None


def test_a_secure_server_reads_its_identity_and_bound():
    s = policy.SecureSettings.from_env(ENV)
    assert (s.project, s.owner, s.server_name) == ("diab-2026", "res", "secure-diab-2026")
    assert s.api_url == "http://172.30.0.1:8081/hub/api" and s.max_read_bytes == 2048


def test_without_a_bound_the_default_applies_never_none():
    env = {k: v for k, v in ENV.items() if k != "HDSS_SECURE_MAX_READ_BYTES"}
    assert policy.SecureSettings.from_env(env).max_read_bytes == policy.DEFAULT_MAX_READ_BYTES


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"JUPYTERHUB_USER": ""}, "JUPYTERHUB_USER"),
        ({"JUPYTERHUB_API_TOKEN": ""}, "JUPYTERHUB_API_TOKEN"),
        ({"HDSS_SECURE_MAX_READ_BYTES": "lots"}, "not a number"),
        ({"HDSS_SECURE_MAX_READ_BYTES": "-1"}, "negative"),
    ],
)
def test_a_secure_server_without_what_it_needs_does_not_start(change, message):
    with pytest.raises(ValueError, match=message):
        policy.SecureSettings.from_env({**ENV, **change})


@pytest.mark.abuse
@pytest.mark.parametrize(
    ("headers", "query", "kind"),
    [
        ({"Authorization": "token abc"}, {}, "Authorization header (token)"),
        ({"Authorization": "Bearer abc"}, {}, "Authorization header (bearer)"),
        ({"Authorization": "Basic YTpi"}, {}, "Authorization header (basic)"),
        ({}, {"token": [b"abc"]}, "token URL parameter"),
        ({}, {"token": [b""]}, "token URL parameter"),
    ],
)
def test_any_token_is_a_credential_the_guard_refuses(headers, query, kind):
    assert kind in policy.presented_credential(headers, query)


def test_a_cookie_session_presents_no_token():
    """Positive control: what JupyterLab sends once its page holds no token."""
    headers = {"Cookie": "jupyterhub-user-res-secure=...", "X-XSRFToken": "x"}
    assert policy.presented_credential(headers, {"content": [b"1"]}) == ""


def file_model(content, fmt="text", kind="file", size=None):
    return {"type": kind, "format": fmt, "content": content, "size": size}


@pytest.mark.abuse
def test_a_file_past_the_bound_is_refused_whatever_its_format():
    text = "x" * 3000
    assert policy.read_refusal(file_model(text), 2048) == 3000
    b64 = base64.b64encode(b"\0" * 3000).decode()
    assert policy.read_refusal(file_model(b64, "base64"), 2048) == 3000
    # The size on disk counts too: a pre-check without content refuses it first.
    assert policy.read_refusal(file_model(None, None, size=5000), 2048) == 5000


def test_small_files_notebooks_and_folders_are_read():
    assert policy.read_refusal(file_model("x" * 2048), 2048) is None
    notebook = {"cells": [{"source": "x" * 10_000}]}
    assert policy.read_refusal(file_model(notebook, "json", "notebook", 10_100), 2048) is None
    assert policy.read_refusal(file_model([], "json", "directory"), 2048) is None


def test_content_bytes_counts_what_leaves():
    assert policy.content_bytes(file_model("æøå")) == 6
    for data in (b"abc", b"abcd", b"abcde", b"x" * 1000):
        wrapped = base64.encodebytes(data).decode()  # as jupyter_server sends it
        assert policy.content_bytes(file_model(wrapped, "base64")) == len(data)
    notebook = {"cells": []}
    assert policy.content_bytes(file_model(notebook, "json", "notebook")) == len(
        json.dumps(notebook)
    )


def test_an_unknown_type_is_read_as_a_file_as_jupyter_server_does():
    assert policy.requested_type("notebook") == "notebook"
    assert policy.requested_type(None) is None
    assert policy.requested_type("anything") == "file"


def test_jupyterlab_gets_no_token_and_no_download_commands():
    page = {"token": "oauth-token", "disabledExtensions": ["@jupyterlab/x:y"]}
    out = policy.lab_page_config(page)
    assert out["token"] == ""
    assert set(policy.DISABLED_LAB_PLUGINS) <= set(out["disabledExtensions"])
    assert "@jupyterlab/x:y" in out["disabledExtensions"]
    assert "@jupyterlab/docmanager-extension:download" in out["disabledExtensions"]
    assert policy.lab_page_config({"disabledExtensions": {"a:b": True, "c:d": False}})[
        "disabledExtensions"
    ] == sorted({"a:b", *policy.DISABLED_LAB_PLUGINS})


def test_refusals_say_what_to_do():
    assert "airlock" in policy.DOWNLOAD_REFUSED and "/services/promotion/" in policy.AIRLOCK
    assert "home page" in policy.TOKEN_REFUSED
    message = policy.not_owner_message("admin", "res", "diab-2026")
    assert "members only" in message and "admin" in message and "diab-2026" in message
    assert "4096" in policy.too_large_message(4096, 1024)
    assert "%" not in policy.too_large_message(4096, 1024)  # tornado formats log messages
