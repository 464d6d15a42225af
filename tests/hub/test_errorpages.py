"""Error pages name what happened (hdss_hub.errorpages), rendered without a hub.

The real template (hub/hdss_hub/templates/error.html) is rendered on top of JupyterHub's
own error.html, with a stub page.html in place of the hub's layout.
"""

from __future__ import annotations

from pathlib import Path

import docker.errors
import jinja2
import jupyterhub
import pytest
import requests
from hdss_hub import errorpages
from hdss_hub.errorpages import error_page, server_of_url, spawn_url
from hdss_hub.oidc import fetch_problem, login_error
from hdss_hub.pages import TEMPLATES
from hdss_spawner.engine import EngineNotAnswering, engine_unreachable
from tornado.web import HTTPError

HUB_TEMPLATES = Path(jupyterhub.__file__).parents[4] / "share" / "jupyterhub" / "templates"
LOGIN_DOWN = fetch_problem("http://idp.example:9/authorize", None, "authorize")


def render(**ns) -> str:
    """Our error.html, extending the hub's error.html, as JupyterHub's loader finds them."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.DictLoader(
                {"page.html": "{% block main %}{% endblock %}{% block script %}{% endblock %}"}
            ),
            jinja2.FileSystemLoader(str(TEMPLATES)),
            jinja2.PrefixLoader({"templates": jinja2.FileSystemLoader(str(HUB_TEMPLATES))}),
        ]
    )
    env = jinja2.Environment(loader=loader, autoescape=True)
    base = {"base_url": "/hub/", "user": None, "hdss_error_page": errorpages.error_page}
    return env.get_template("error.html").render(**{**base, **ns})


def test_the_hubs_error_template_is_where_ours_extends_it():
    assert (HUB_TEMPLATES / "error.html").exists()


def test_a_login_service_that_does_not_answer_is_named_as_such():
    status, message = LOGIN_DOWN
    html = render(
        status_code=status,
        status_message="Service Unavailable",
        message=message,
        exception=login_error(status, message),
    )
    assert "503 : The login service is not answering" in html
    assert "does not answer right now" in html
    assert 'href="/hub/login"' in html


def test_a_503_that_is_not_the_login_does_not_blame_the_login():
    exc = HTTPError(503, "The datasets are not available: no catalogue at /data")
    html = render(
        status_code=503,
        status_message="Service Unavailable",
        message=exc.log_message,
        exception=exc,
    )
    assert "login" not in html.lower()
    assert "503 : A service the sandbox needs is not available" in html
    assert "The datasets are not available" in html


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError("Connection aborted: /var/run/docker.sock"),
        docker.errors.DockerException("Error while fetching server API version"),
        EngineNotAnswering(),
    ],
)
def test_an_engine_that_does_not_answer_is_named_as_such(exc):
    assert engine_unreachable(exc)
    html = render(
        status_code=500, status_message="Internal Server Error", message="", exception=exc
    )
    assert "The container engine is not answering" in html
    assert "Your files are safe" in html
    assert "login" not in html.lower()


def test_an_engine_that_answers_with_an_error_is_not_down():
    response = requests.Response()
    response.status_code = 409
    assert not engine_unreachable(docker.errors.APIError("conflict", response=response))
    assert not engine_unreachable(ValueError("something else"))


def test_the_spawn_failure_says_the_engine_is_down():
    exc = EngineNotAnswering()
    assert exc.status_code == 503
    assert str(exc) == exc.jupyterhub_message  # what the spawn-pending page shows
    assert "container engine" in str(exc) and "Traceback" not in str(exc)


def test_a_stopped_server_offers_to_start_it_again():
    next_url = spawn_url("/hub/", "anna", "", "/user/anna/lab/tree/work.ipynb")
    html = render(
        status_code=503,
        status_message="Your server has stopped",
        message="",
        hdss_kind=errorpages.SERVER_STOPPED,
        hdss_next_url=next_url,
    )
    assert "503 : Your server has stopped" in html
    assert "Your files are safe in your home folder" in html
    assert "Start your server again" in html
    assert 'href="/hub/spawn/anna?next=%2Fuser%2Fanna%2Flab%2Ftree%2Fwork.ipynb"' in html, html
    assert "login" not in html.lower()


def test_a_server_that_runs_but_does_not_answer_is_called_busy():
    page = error_page(503, kind=errorpages.SERVER_NOT_ANSWERING, server="secure-p1")
    assert page["title"] == "Your server is not answering"
    assert "“secure-p1”" in page["message"] and "Reload" in page["message"]
    assert page["next_url"] == "/hub/home"


def test_short_messages_stay_the_heading_and_refusals_link_to_login():
    assert error_page(404, "No such user bo")["title"] == "No such user bo"
    refused = error_page(403, "x" * 80, "You are not in a group this sandbox serves")
    assert refused["title"] == "Not allowed" and refused["next_url"] == "/hub/login"
    assert error_page(403, "x" * 80, user=object())["next_url"] == ""
    oauth = error_page(400, "Bad Request", "OAuth state mismatch. Try logging in again.")
    assert oauth["title"] == "This login link is not valid"


def test_server_urls_are_parsed_like_the_hub_does():
    assert server_of_url("/user/anna/lab?reset") == ("anna", "lab")  # 2nd part may be a server
    assert server_of_url("/user/anna") == ("anna", "")
    assert server_of_url("/user/r%40x/secure-p1/lab/tree") == ("r@x", "secure-p1")
    assert server_of_url("/prefix/user/anna/lab/x", "/prefix/") == ("anna", "lab")
    assert server_of_url("/hub/home") is None
    assert server_of_url("/user/") is None
    assert spawn_url("/hub/", "r@x", "secure-p1", "") == "/hub/spawn/r%40x/secure-p1"


def test_the_proxys_error_page_is_ours_once_installed():
    import jupyterhub.handlers as hub_handlers

    errorpages.install_handler()
    errorpages.install_handler()  # idempotent
    routes = [h for h in hub_handlers.default_handlers if h[0] == r"/error/(\d+)"]
    assert len(routes) == 1
    assert routes[0][1].__name__ == "ServerErrorHandler"
