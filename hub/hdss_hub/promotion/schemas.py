"""The promotion API's request bodies and answers as pydantic models.

Bodies are validated with :func:`parse` (strict: no coercion, unknown fields refused);
answers are dumped through the answer models, which list every field that may leave the
service: a field not declared here is never sent. Finding details can quote a restricted
value ("count 3 is below 5"), so :class:`Finding` sends its ``detail`` only when the answer
is dumped for a data steward (:func:`request_view` with ``steward=True``).
The OpenAPI document (:mod:`.openapi`) is generated from these models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from ..apimodels import BodyInvalid, M, encodable
from ..apimodels import parse as parse_model
from ..ledger.schemas import DATASET_RE, LINE_RE, PATTERN_HINTS, DatasetName, ProjectId
from .core import AirlockConfig, Request
from .models import State

MAX_ID = 999_999_999
MAX_FILES = AirlockConfig.max_files
MAX_PATH = 1024
MAX_REASON = 2000
# Free text with at least one character that is not a space (newlines and tabs allowed).
REASON_RE = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
)
SHOW_VALUES = "show_values"
HINTS = {
    "project_id": PATTERN_HINTS["project_id"],
    "paths.*": "a path names a file or folder relative to your sandbox home, "
    "without control characters",
    "dataset": PATTERN_HINTS["datasets"],
    "synthetic": PATTERN_HINTS["datasets"],
    "reason": "give a reason for the decision (it goes into the release receipt): "
    "not only spaces, no control characters",
}

# -- request bodies -----------------------------------------------------------------------

SyntheticName = Annotated[
    str, Field(pattern=DATASET_RE, max_length=63, description="plain name of a synthetic dataset")
]
HomePath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PATH,
        pattern=LINE_RE,
        description="a file or folder in your sandbox home, relative to it (no '..', "
        "no hidden files; checked again, and the refusal audited, by the airlock)",
        examples=["study/analysis.ipynb"],
    ),
    AfterValidator(encodable),
]


class SubmitIn(BaseModel):
    """Files and folders from your sandbox home to run on a project's restricted data."""

    model_config = ConfigDict(extra="forbid", strict=True)

    project_id: ProjectId
    paths: Annotated[list[HomePath], Field(min_length=1, max_length=MAX_FILES)]
    dataset: DatasetName | None = Field(
        None, description="the restricted dataset to run on (default: the permission's first)"
    )
    synthetic: SyntheticName | None = Field(
        None, description="the synthetic dataset the notebooks were developed on"
    )


class ReviewIn(BaseModel):
    """A data steward's decision, with the reason that goes into the release receipt."""

    model_config = ConfigDict(extra="forbid", strict=True)

    decision: Literal["approve", "reject"]
    reason: Annotated[
        str,
        Field(
            max_length=MAX_REASON,
            pattern=REASON_RE,
            description="why; kept in the receipt and the audit log",
        ),
        AfterValidator(encodable),
    ]


def parse(model: type[M], data: object) -> M:
    """``data`` as ``model``, or :class:`BodyInvalid` naming each field that is wrong."""
    return parse_model(model, data, HINTS)


# -- answers ------------------------------------------------------------------------------

Severity = Literal["pass", "flag", "block"]


class Caller(BaseModel):
    name: str
    role: Literal["steward", "researcher"]


class SnapshotFile(BaseModel):
    """A file of the snapshot taken at submission."""

    path: str
    sha256: str
    size: int


class ContractProblem(BaseModel):
    kind: str = Field(description="what is missing: table, column, path or sql")
    name: str
    where: str = Field(description="the notebook cell (id or number)")
    detail: str


class ContractReport(BaseModel):
    """One notebook checked against the restricted dataset's schema at submission."""

    notebook: str
    dataset: str
    version: str
    ok: bool
    tables: list[str]
    columns: list[str]
    problems: list[ContractProblem]
    summary: str


class Finding(BaseModel):
    """A rule that fired on an output file. Its detail can quote a restricted value: only
    data stewards get it."""

    rule: str
    severity: Severity
    where: str = Field(description="where in the file (row, column, cell)")
    detail: str | None = Field(None, description="what was found (data stewards only)")

    @model_serializer(mode="wrap")
    def _withhold_values(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):
        # (No return annotation: the documented schema stays the model's own.)
        out = handler(self)
        if not (info.context or {}).get(SHOW_VALUES):
            out.pop("detail", None)
        return out


class FileCheck(BaseModel):
    """The output check of one file: it passes only with no finding."""

    path: str
    size: int
    sha256: str
    status: Severity
    findings: list[Finding]


class DatasetVersion(BaseModel):
    dataset: str
    version: str


class ReceiptDatasets(BaseModel):
    restricted: DatasetVersion
    developed_on: dict[str, str] = Field(description="the synthetic dataset and version, if known")


class Receipt(BaseModel):
    """The release receipt (also written to ``results/<id>/`` when approved)."""

    request: int
    project_id: str
    requester: str
    reviewer: str
    decision: Literal["approve", "reject"]
    reason: str
    decided_at: str
    notebooks: list[SnapshotFile]
    files: list[SnapshotFile]
    image: str
    image_id: str
    datasets: ReceiptDatasets
    contract: list[ContractReport]
    checks: list[FileCheck] | None
    released: list[str]
    withheld: list[str]


class Links(BaseModel):
    log: str = Field(description="the run log, relative to the service's URL")


class PromotionRequest(BaseModel):
    """A promotion request as the caller may see it."""

    id: int
    project_id: str
    requester: str
    state: State
    dataset: str
    dataset_version: str
    developed_on: dict[str, str] = Field(description="the synthetic dataset and version, if known")
    image: str
    image_id: str
    files: list[SnapshotFile]
    notebooks: list[str]
    contract: list[ContractReport]
    run_outcome: str | None
    checks: list[FileCheck] | None = Field(description="null until the run's outputs are checked")
    reviewer: str | None
    decision_reason: str | None
    receipt: Receipt | None
    created_at: datetime
    updated_at: datetime
    links: Links


class RunLog(BaseModel):
    """The run's log; researchers get the progress lines only."""

    id: int
    state: State
    run_outcome: str | None
    log: str


class Error(BaseModel):
    """A refusal, saying why; a submission refused by the contract adds the reports."""

    status: int
    message: str = Field(min_length=1)
    contract: list[ContractReport] | None = Field(
        None, description="a submission refused by the promotion contract: every notebook's report"
    )


BODIES: list[type[BaseModel]] = [SubmitIn, ReviewIn]
ANSWERS: list[type[BaseModel]] = [Caller, PromotionRequest, RunLog, Error]


# -- dumping answers ----------------------------------------------------------------------


def dump(answer: BaseModel, *, steward: bool = False) -> dict[str, Any]:
    """An answer as JSON data; finding details only for a data steward."""
    return answer.model_dump(mode="json", context={SHOW_VALUES: steward})


def request_view(req: Request, *, steward: bool) -> dict[str, Any]:
    """A request as JSON data for the caller: everything for a data steward; for a
    researcher, every finding without its detail (also in the receipt)."""
    data = {**req.to_json(), "links": {"log": f"api/requests/{req.id}/log"}}
    return dump(PromotionRequest.model_validate(data), steward=steward)


def error_view(status: int, message: str, contract: Any = None) -> dict[str, Any]:
    """An error answer; ``contract`` (a refused submission's reports) when there is one."""
    out = Error.model_validate({"status": status, "message": message, "contract": contract})
    return out.model_dump(mode="json", exclude_none=True)


__all__ = [
    "BodyInvalid",
    "Caller",
    "Error",
    "PromotionRequest",
    "ReviewIn",
    "RunLog",
    "SubmitIn",
    "error_view",
    "parse",
    "request_view",
]
