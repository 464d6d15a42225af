"""The OpenAPI description of the promotion API (served at ``api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from .models import STATES

ERROR = {
    "description": "refused, with a message saying why",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
}


def spec(base: str) -> dict[str, Any]:
    ok = {
        "description": "ok",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "HDSS promotion and airlock",
            "version": "1",
            "description": "Promote notebooks from the sandbox to the restricted data; "
            "only checked, approved results come back.",
        },
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "integer"},
                        "message": {"type": "string"},
                        "contract": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "Submit": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["project_id", "paths"],
                    "properties": {
                        "project_id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,40}$"},
                        "paths": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 50,
                            "items": {"type": "string"},
                        },
                        "dataset": {"type": "string"},
                        "synthetic": {"type": "string"},
                    },
                },
                "Review": {
                    "type": "object",
                    "required": ["decision", "reason"],
                    "properties": {
                        "decision": {"enum": ["approve", "reject"]},
                        "reason": {"type": "string", "minLength": 1},
                    },
                },
                "Request": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "project_id": {"type": "string"},
                        "requester": {"type": "string"},
                        "state": {"enum": list(STATES)},
                        "files": {"type": "array", "items": {"type": "object"}},
                        "contract": {"type": "array", "items": {"type": "object"}},
                        "checks": {"type": "array", "nullable": True, "items": {"type": "object"}},
                        "receipt": {"type": "object", "nullable": True},
                    },
                },
            },
        },
        "security": [{"token": []}],
        "paths": {
            "/me": {
                "get": {
                    "summary": "who you are to the airlock",
                    "responses": {"200": {"description": "ok"}, "403": ERROR},
                }
            },
            "/requests": {
                "get": {
                    "summary": "your requests (stewards: all)",
                    "parameters": [
                        {"name": "state", "in": "query", "schema": {"enum": list(STATES)}}
                    ],
                    "responses": {"200": {"description": "ok"}, "400": ERROR, "403": ERROR},
                },
                "post": {
                    "summary": "promote files from your sandbox home to a project",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Submit"}}
                        },
                    },
                    "responses": {"201": ok, "403": ERROR, "409": ERROR, "422": ERROR},
                },
            },
            "/requests/{id}": {"get": {"parameters": [ID], "responses": {"200": ok, "404": ERROR}}},
            "/requests/{id}/log": {
                "get": {
                    "summary": "run progress and log",
                    "parameters": [ID],
                    "responses": {"200": {"description": "ok"}, "404": ERROR},
                }
            },
            "/requests/{id}/outputs/{path}": {
                "get": {
                    "summary": "an outbox file (data stewards only)",
                    "parameters": [
                        ID,
                        {
                            "name": "path",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {"200": {"description": "the file"}, "403": ERROR, "404": ERROR},
                }
            },
            "/requests/{id}/review": {
                "post": {
                    "summary": "approve or reject (data stewards; never your own request)",
                    "parameters": [ID],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Review"}}
                        },
                    },
                    "responses": {"200": ok, "403": ERROR, "409": ERROR, "422": ERROR},
                }
            },
        },
    }
