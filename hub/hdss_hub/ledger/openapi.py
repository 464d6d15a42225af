"""The OpenAPI 3.1 description of the ledger's REST API, built from the pydantic models."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..apimodels import components, document, error_answers, json_answer, json_body, ref
from .schemas import PROJECT_ID_RE, USERNAME_RE, AmendIn, PermissionIn, PermissionOut, RevokeIn

MAX_ID = 2**31 - 1
MAX_SEQ = 2**53
ERRORS = {
    "400": "malformed request (not JSON, bad query parameter)",
    "403": "not authenticated, or not allowed (data stewards only; four eyes: never on a "
    "permission naming the steward)",
    "404": "no such permission (or not one of yours)",
    "409": "conflicts with what is stored (duplicate reference, overlapping period, revoked)",
    "422": "the permission breaks a rule (pattern, unknown user or dataset, dates)",
}
_errors = partial(error_answers, ERRORS)


def _models() -> dict[str, Any]:
    """The bodies' and the permission's schemas; the answer is documented as ``Permission``
    (its model is ``PermissionOut``: ``Permission`` is the ledger's own class)."""
    schemas = components([PermissionIn, AmendIn, RevokeIn], [PermissionOut])
    schemas["Permission"] = schemas.pop("PermissionOut")
    return schemas


PERMISSION_ID = {
    "name": "permission_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def spec(api_prefix: str = "/services/ledger/api") -> dict[str, Any]:
    """The document served at ``<api_prefix>/openapi.json``."""
    one = json_answer(ref("Permission"), "the permission")
    return document(
        title="HDSS permission ledger",
        description="Research permissions for restricted data. Data stewards (hub group "
        "or scope custom:ledger:write) log, amend and revoke; researchers "
        "see the projects they are members of; others see nothing. Every "
        "change and every denial is in the audit log.",
        base=api_prefix,
        paths={
            "/me": {
                "get": {
                    "operationId": "whoami",
                    "summary": "who the ledger thinks you are",
                    "responses": {
                        "200": json_answer(ref("Caller"), "the caller"),
                        **_errors("403"),
                    },
                }
            },
            "/permissions": {
                "get": {
                    "operationId": "listPermissions",
                    "summary": "permissions you may see (stewards: all; others: your own)",
                    "parameters": [
                        {
                            "name": "state",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["pending", "active", "expired", "revoked"],
                            },
                        },
                        {
                            "name": "project_id",
                            "in": "query",
                            "schema": {"type": "string", "pattern": PROJECT_ID_RE},
                        },
                        {
                            "name": "member",
                            "in": "query",
                            "schema": {"type": "string", "pattern": USERNAME_RE},
                        },
                    ],
                    "responses": {
                        "200": json_answer(
                            {"type": "array", "items": ref("Permission")}, "the permissions"
                        ),
                        **_errors("400", "403"),
                    },
                },
                "post": {
                    "operationId": "logPermission",
                    "summary": "log a new permission (stewards)",
                    "requestBody": json_body(PermissionIn),
                    "responses": {
                        "201": json_answer(ref("Permission"), "logged"),
                        **_errors("400", "403", "409", "422"),
                    },
                },
            },
            "/permissions/{permission_id}": {
                "parameters": [PERMISSION_ID],
                "get": {
                    "operationId": "getPermission",
                    "summary": "one permission",
                    "responses": {"200": one, **_errors("400", "403", "404")},
                },
                "patch": {
                    "operationId": "amendPermission",
                    "summary": "amend with a reason (stewards)",
                    "requestBody": json_body(AmendIn),
                    "responses": {"200": one, **_errors("400", "403", "404", "409", "422")},
                },
            },
            "/permissions/{permission_id}/revoke": {
                "parameters": [PERMISSION_ID],
                "post": {
                    "operationId": "revokePermission",
                    "summary": "revoke now, with a reason (stewards)",
                    "requestBody": json_body(RevokeIn),
                    "responses": {"200": one, **_errors("400", "403", "404", "409", "422")},
                },
            },
            "/audit": {
                "get": {
                    "operationId": "listAudit",
                    "summary": "audit entries (stewards, auditors)",
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SEQ},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                    ],
                    "responses": {
                        "200": json_answer(
                            {"type": "array", "items": ref("AuditEntry")}, "entries in chain order"
                        ),
                        **_errors("400", "403"),
                    },
                }
            },
            "/audit/verify": {
                "get": {
                    "operationId": "verifyAudit",
                    "summary": "recompute the hash chain",
                    "responses": {
                        "200": json_answer(ref("Verify"), "the result"),
                        **_errors("403"),
                    },
                }
            },
        },
        schemas={
            **_models(),
            "Error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {
                    "status": {"type": "integer"},
                    "message": {"type": "string", "minLength": 1},
                },
            },
            "Caller": {
                "type": "object",
                "required": ["name", "role"],
                "properties": {
                    "name": {"type": "string"},
                    "role": {"type": "string", "enum": ["steward", "auditor", "researcher"]},
                },
            },
            "AuditEntry": {
                "type": "object",
                "required": [
                    "seq",
                    "ts",
                    "actor",
                    "action",
                    "target",
                    "outcome",
                    "details",
                    "prev_hash",
                    "hash",
                ],
                "properties": {
                    "seq": {"type": "integer"},
                    "ts": {"type": "string"},
                    "actor": {"type": "string"},
                    "action": {"type": "string"},
                    "target": {"type": "string"},
                    "outcome": {"type": "string"},
                    "details": {"type": "object"},
                    "prev_hash": {"type": "string"},
                    "hash": {"type": "string"},
                },
            },
            "Verify": {
                "type": "object",
                "required": ["ok", "checked", "message"],
                "properties": {
                    "ok": {"type": "boolean"},
                    "checked": {"type": "integer"},
                    "broken_seq": {"type": ["integer", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    )
