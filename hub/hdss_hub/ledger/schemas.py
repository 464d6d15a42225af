"""Validated input of the ledger (pydantic); the REST API's request bodies are these models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ..apimodels import describe, encodable
from .errors import InvalidRequest

PROJECT_ID_RE = r"^[a-z0-9][a-z0-9-]{1,40}$"
DATASET_RE = r"^[a-z0-9][a-z0-9_-]{0,62}$"
USERNAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}$"
REFERENCE_RE = r"^[A-Za-z0-9][A-Za-z0-9 ./_:#-]{0,99}$"
# Free text: any printable characters; no NUL or other control characters (newlines and
# tabs allowed in longer text).
LINE_RE = r"^[^\x00-\x1f\x7f]+$"
TEXT_RE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date is out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"dates must lie between {EARLIEST:%Y} and {LATEST:%Y}")
    return utc


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        dupes = sorted({v for v in values if values.count(v) > 1})
        raise ValueError(f"listed more than once: {', '.join(dupes)}")
    return sorted(values)


ProjectId = Annotated[str, Field(pattern=PROJECT_ID_RE, description="project id, e.g. diab-2026")]
Username = Annotated[str, Field(pattern=USERNAME_RE, max_length=255), AfterValidator(encodable)]
DatasetName = Annotated[
    str, Field(pattern=DATASET_RE, max_length=63, description="plain name of a restricted dataset")
]
Line = Annotated[str, Field(pattern=LINE_RE), AfterValidator(encodable)]
Text = Annotated[str, Field(pattern=TEXT_RE), AfterValidator(encodable)]
Time = Annotated[
    AwareDatetime,
    AfterValidator(_in_range),
    Field(description="ISO 8601 time with a UTC offset, e.g. 2026-12-01T00:00:00Z"),
]
Members = Annotated[list[Username], Field(min_length=1, max_length=500), AfterValidator(_unique)]
Datasets = Annotated[
    list[DatasetName], Field(min_length=1, max_length=200), AfterValidator(_unique)
]
Reason = Annotated[
    Text, Field(min_length=3, max_length=2000, description="why; kept in the audit log")
]


class PermissionIn(BaseModel):
    """A permission as a data steward logs it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    project_id: ProjectId
    members: Members = Field(description="hub usernames of the project's researchers")
    datasets: Datasets
    authority: Annotated[
        Line,
        Field(
            min_length=2, max_length=200, examples=["Sundhedsdatastyrelsen", "Danmarks Statistik"]
        ),
    ]
    reference: Annotated[
        str,
        Field(
            pattern=REFERENCE_RE,
            max_length=100,
            description="the authority's reference number (unique)",
        ),
    ]
    legal_basis: Annotated[Text, Field(min_length=3, max_length=2000)]
    valid_from: Time
    valid_until: Time

    @model_validator(mode="after")
    def _window(self) -> PermissionIn:
        if self.valid_until <= self.valid_from:
            raise ValueError(
                "valid_until must be after valid_from (the permission would end before it starts)"
            )
        return self


class AmendIn(BaseModel):
    """Changes to a permission; give only the fields that change, and a reason."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: Reason
    members: Members | None = None
    datasets: Datasets | None = None
    authority: Annotated[Line, Field(min_length=2, max_length=200)] | None = None
    legal_basis: Annotated[Text, Field(min_length=3, max_length=2000)] | None = None
    valid_from: Time | None = None
    valid_until: Time | None = None

    @model_validator(mode="after")
    def _something(self) -> AmendIn:
        if not self.changes():
            raise ValueError(
                "nothing to amend: give at least one of members, datasets, "
                "authority, legal_basis, valid_from, valid_until"
            )
        return self

    def changes(self) -> dict:
        return {k: v for k, v in self.model_dump(exclude={"reason"}).items() if v is not None}


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: Reason


PATTERN_HINTS = {
    "project_id": "a project id is 2-41 lower-case letters, digits and '-', starting with a "
    "letter or digit",
    "datasets": "a dataset is a plain name (lower-case letters, digits, '_' and '-'), never a path",
    "members": "a member is a hub username",
    "reference": "a reference number is letters, digits, spaces and ./_:#-",
}

# The hints by field as :func:`describe` looks them up (list items as ``field.*``).
HINTS = {
    "project_id": PATTERN_HINTS["project_id"],
    "datasets.*": PATTERN_HINTS["datasets"],
    "members.*": PATTERN_HINTS["members"],
    "reference": PATTERN_HINTS["reference"],
}


def parse(model: type[BaseModel], data: object) -> BaseModel:
    """Validate ``data`` (a dict, or a model already) or raise :class:`InvalidRequest`."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise InvalidRequest(f"expected a JSON object, got {type(data).__name__}")
    # Validate as JSON, strictly: times only as ISO strings (never numbers), no coercion.
    text = json.dumps(data, default=_json_default)
    try:
        return model.model_validate_json(text)
    except ValidationError as e:
        raise InvalidRequest(describe(e, HINTS, unknown=False)) from None


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise InvalidRequest(f"cannot read a value of type {type(value).__name__}")


class PermissionOut(BaseModel):
    """A permission as the API returns it (documentation of the response)."""

    id: int
    project_id: str
    members: list[str]
    datasets: list[str]
    authority: str
    reference: str
    legal_basis: str
    logged_by: str
    valid_from: datetime
    valid_until: datetime
    state: Annotated[
        str, Field(json_schema_extra={"enum": ["pending", "active", "expired", "revoked"]})
    ]
    version: int
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None
