"""Who may do what in the ledger (deny by default).

* steward: member of the steward group, or holds ``custom:ledger:write`` -> everything
* auditor: holds ``custom:ledger:read`` -> read every permission and the audit log
* researcher: any other identified hub user -> read the permissions they are a member of
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WRITE_SCOPE = "custom:ledger:write"
READ_SCOPE = "custom:ledger:read"


@dataclass(frozen=True)
class Caller:
    name: str
    kind: str  # "user" or "service"
    role: str  # "steward", "auditor" or "researcher"

    @property
    def steward(self) -> bool:
        return self.role == "steward"

    @property
    def reads_all(self) -> bool:
        return self.role in ("steward", "auditor")


def caller_from_model(model: dict[str, Any] | None, steward_group: str) -> Caller | None:
    """The caller described by a hub user (or service) model, or None if not identified."""
    if not model or not model.get("name"):
        return None
    kind = model.get("kind", "user")
    scopes = set(model.get("scopes") or ())
    groups = set(model.get("groups") or ()) if kind == "user" else set()
    if WRITE_SCOPE in scopes or steward_group in groups:
        role = "steward"
    elif READ_SCOPE in scopes:
        role = "auditor"
    else:
        role = "researcher"
    name = model["name"] if kind == "user" else f"service:{model['name']}"
    return Caller(name=name, kind=kind, role=role)
