"""The OpenAPI 3.1 description of the promotion API, built from the pydantic models in
:mod:`.schemas` (served at ``api/openapi.json``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..apimodels import components, document, error_answers, json_answer, json_body, ref
from .models import STATES
from .schemas import ANSWERS, BODIES, MAX_ID, PromotionRequest, ReviewIn, SubmitIn

ERRORS = {
    "400": "malformed request (not JSON, bad query parameter, bad characters in the URL)",
    "403": "not authenticated, or not allowed (no active permission; data stewards only; "
    "a steward's own request)",
    "404": "no such request (or not one of yours), or no such output",
    "409": "conflicts with the request's state (not awaiting review; permission revoked; "
    "the snapshot or release could not be written)",
    "422": "the body breaks a rule (field, path, dataset, contract; a contract refusal "
    "carries the reports in 'contract')",
    "503": "the Docker engine did not answer; nothing was promoted or released",
}
REQUEST_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
_errors = partial(error_answers, ERRORS)


def spec(base: str) -> dict[str, Any]:
    """The document served at ``<base>/openapi.json``."""
    one = json_answer(ref(PromotionRequest), "the request as you may see it")
    return document(
        title="HDSS promotion and airlock",
        description="Promote notebooks from the sandbox to the restricted data; only "
        "checked, approved results come back. Researchers submit and follow their own "
        "requests (findings without their detail, run logs as progress lines only); data "
        "stewards (hub group or scope custom:ledger:write) see every request, read the "
        "outputs and decide. Every step and every denial is in the audit log.",
        base=base,
        paths={
            "/me": {
                "get": {
                    "operationId": "whoami",
                    "summary": "who you are to the airlock",
                    "responses": {
                        "200": json_answer(ref("Caller"), "the caller"),
                        **_errors("403"),
                    },
                }
            },
            "/requests": {
                "get": {
                    "operationId": "listRequests",
                    "summary": "your requests, newest first (stewards: all)",
                    "parameters": [
                        {
                            "name": "state",
                            "in": "query",
                            "schema": {"type": "string", "enum": list(STATES)},
                        }
                    ],
                    "responses": {
                        "200": json_answer(
                            {"type": "array", "items": ref(PromotionRequest)}, "the requests"
                        ),
                        **_errors("400", "403"),
                    },
                },
                "post": {
                    "operationId": "submitRequest",
                    "summary": "promote files from your sandbox home to a project",
                    "requestBody": json_body(SubmitIn),
                    "responses": {
                        "201": {
                            **json_answer(ref(PromotionRequest), "submitted and queued"),
                            "headers": {
                                "Location": {
                                    "description": "the request's URL",
                                    "schema": {"type": "string"},
                                }
                            },
                        },
                        **_errors("400", "403", "409", "422", "503"),
                    },
                },
            },
            "/requests/{id}": {
                "parameters": [REQUEST_ID],
                "get": {
                    "operationId": "getRequest",
                    "summary": "one request: snapshot, contract, checks, receipt",
                    "responses": {"200": one, **_errors("400", "403", "404")},
                },
            },
            "/requests/{id}/log": {
                "parameters": [REQUEST_ID],
                "get": {
                    "operationId": "getRunLog",
                    "summary": "the run's log, live while it runs (researchers: progress only)",
                    "responses": {
                        "200": json_answer(ref("RunLog"), "the log"),
                        **_errors("400", "403", "404"),
                    },
                },
            },
            "/requests/{id}/outputs/{path}": {
                "parameters": [
                    REQUEST_ID,
                    {
                        "name": "path",
                        "in": "path",
                        "required": True,
                        "description": "the file's path in the outbox",
                        "schema": {"type": "string", "minLength": 1},
                    },
                ],
                "get": {
                    "operationId": "getOutput",
                    "summary": "an outbox file, as text (data stewards only)",
                    "responses": {
                        "200": {
                            "description": "the file",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **_errors("400", "403", "404", "422"),
                    },
                },
            },
            "/requests/{id}/review": {
                "parameters": [REQUEST_ID],
                "post": {
                    "operationId": "reviewRequest",
                    "summary": "approve or reject (data stewards; never your own request)",
                    "requestBody": json_body(ReviewIn),
                    "responses": {
                        "200": json_answer(ref(PromotionRequest), "decided"),
                        **_errors("400", "403", "404", "409", "422", "503"),
                    },
                },
            },
        },
        schemas=components(BODIES, ANSWERS),
    )
