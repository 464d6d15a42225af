"""The container engine not answering, told apart from the engine answering with an error.

A spawn that fails because the Docker engine is down (stopped, restarting, its socket
gone) raises ``EngineNotAnswering``: a 503 whose message says so and that the hub's
error pages recognise (``hdss_kind = "engine"``), instead of a connection traceback.
"""

from __future__ import annotations

import docker.errors
import requests
from tornado.web import HTTPError

ENGINE = "engine"
MESSAGE = (
    "The sandbox's container engine (Docker) does not answer, so your server cannot start "
    "right now. Your files are safe in your home folder. Try again in a few minutes; if it "
    "persists, tell the sandbox operator."
)


class EngineNotAnswering(HTTPError):
    hdss_kind = ENGINE

    def __init__(self, message: str = MESSAGE):
        super().__init__(503, message)
        self.jupyterhub_message = message  # what the spawn page shows

    def __str__(self) -> str:
        return self.jupyterhub_message


def engine_unreachable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) says the engine did not answer at all.

    An ``APIError`` with a response means the engine answered, with an error: not this.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "hdss_kind", "") == ENGINE:
            return True
        if isinstance(exc, docker.errors.APIError):
            if exc.response is not None:
                return False
        elif isinstance(exc, docker.errors.DockerException):
            return True
        if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
