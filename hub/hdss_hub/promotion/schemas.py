"""The promotion API's request bodies and answers as pydantic models.

Bodies are validated with :func:`parse` (strict: no coercion, unknown fields refused);
answers are dumped through the answer models, which list every field that may leave the
service: a field not declared here is never sent. Finding details can quote a restricted
value ("count 3 is below 5"), so :class:`Finding` sends its ``detail`` only when the answer
is dumped for a data steward (:func:`request_view` with ``steward=True``). A researcher gets
rule names and positions only: a finding's ``where`` cut down to cell, row and column
numbers (a checker may quote a header, and a header can be a value), a file named by the
run as ``output file N`` (its name could carry a value), and no hash or size of an output
(a hash of a small file can be guessed back).
The OpenAPI document (:mod:`.openapi`) is generated from these models.
"""

from __future__ import annotations

import re
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
from .checks import PARTS
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


RULE_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")
QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
POSITION = re.compile(
    r"\b(?:(?:cell|row|rows|column|columns|col|line|lines|table|output|page|sheet|figure|"
    r"file|part|item)\s+\d{1,9}(?:\s*[-\u2013]\s*\d{1,9})?|header row|header|"
    r"notebook metadata|cell metadata|metadata|widget state|stdout|stderr|traceback|"
    r"markdown cell|raw cell|markdown|source)\b",
    re.I,
)


def position_only(where: str) -> str:
    """The positions in a finding's ``where`` and nothing else: ``cell 3, row 2, column 4``
    from ``cell 3, row 2, column 'deaths_kbh'`` (quoted text is dropped first)."""
    return ", ".join(m.group(0).lower() for m in POSITION.finditer(QUOTED.sub(" ", where or "")))


def _researcher(info: SerializationInfo) -> bool:
    return not (info.context or {}).get(SHOW_VALUES)


Part = Literal[tuple(sorted(PARTS))]  # type: ignore[valid-type]
Place = Annotated[int, Field(ge=0, le=10**9)]


class Position(BaseModel):
    """Where a finding is, as numbers and a part of a fixed vocabulary: never text taken
    from the file, so researchers get it whole."""

    part: Part | None = None
    cell: Place | None = None
    output: Place | None = None
    table: Place | None = None
    row: Place | None = Field(None, description="0 is the header row")
    column: Place | None = None
    line: Place | None = None


class Finding(BaseModel):
    """A rule that fired on an output file. Its detail can quote a restricted value: only
    data stewards get it; researchers get the rule and its position only."""

    rule: str
    severity: Severity
    position: Position | None = Field(
        None, description="where in the file, in numbers (cell, output, table, row, ...)"
    )
    where: str = Field(
        description="where in the file (cell, row, column); researchers get numbered "
        "positions only, never a quoted header or value"
    )
    detail: str | None = Field(None, description="what was found (data stewards only)")

    @model_serializer(mode="wrap")
    def _withhold_values(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):
        # (No return annotation: the documented schema stays the model's own.)
        out = handler(self)
        if _researcher(info):
            out.pop("detail", None)
            out["where"] = position_only(self.where)
            out["rule"] = self.rule if RULE_RE.fullmatch(self.rule) else "other"
        return out


class FileCheck(BaseModel):
    """The output check of one file: it passes only with no finding."""

    path: str = Field(
        description="the file in the outbox; researchers get its label instead (the "
        "path when the submitted code names it, else 'output file N')"
    )
    label: str | None = Field(
        None, description="how the file is named to a researcher before release"
    )
    size: int | None = Field(None, description="bytes (data stewards only)")
    sha256: str | None = Field(None, description="the file's hash (data stewards only)")
    status: Severity
    findings: list[Finding]

    @model_serializer(mode="wrap")
    def _withhold_names(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):
        out = handler(self)
        if _researcher(info):
            out["path"] = self.label or self.path
            out["size"] = out["sha256"] = None
        return out


class DatasetVersion(BaseModel):
    dataset: str
    version: str


class ReceiptDatasets(BaseModel):
    restricted: DatasetVersion
    developed_on: dict[str, str] = Field(description="the synthetic dataset and version, if known")


class Approval(BaseModel):
    """One data steward's approval (with ``promotion.reviewers_required`` above 1, a
    request is released once that many different stewards approved it)."""

    steward: str
    reason: str
    at: str


class Receipt(BaseModel):
    """The release receipt (also written to ``results/<id>/`` when approved)."""

    request: int
    project_id: str
    requester: str
    reviewer: str = Field(description="the steward whose decision ended the review")
    decision: Literal["approve", "reject"]
    reason: str
    decided_at: str
    reviewers_required: int = Field(1, description="approvals the release needed")
    approvals: list[Approval] = Field(
        default_factory=list, description="every approval, the deciding one included"
    )
    notebooks: list[SnapshotFile]
    files: list[SnapshotFile]
    image: str
    image_id: str
    datasets: ReceiptDatasets
    contract: list[ContractReport]
    checks: list[FileCheck] | None
    released: list[str]
    withheld: list[str] = Field(
        description="files kept in the airlock; for researchers, named by their labels"
    )

    @model_serializer(mode="wrap")
    def _withhold_names(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo):
        out = handler(self)
        if _researcher(info):
            labels = {c.path: c.label or c.path for c in self.checks or []}
            out["withheld"] = [labels.get(p, "output file") for p in self.withheld]
        return out


class AcroFile(BaseModel):
    path: str = Field(description="the file in the outbox")
    checks: dict[str, int] = Field(description="acro's checks: cells each fired on")


class AcroOutput(BaseModel):
    """One output made through acro, as acro judged it while it was made."""

    id: str
    status: str = Field(description="acro's verdict: pass, fail or review")
    type: str
    method: str
    command: str
    summary: str
    exception: str = Field(description="the researcher's request for an exception")
    comments: list[str]
    do_not_release: bool
    files: list[AcroFile]


class AcroResults(BaseModel):
    """A ``results.json`` written by ``acro.finalise()`` in the outbox."""

    path: str
    version: str
    outputs: list[AcroOutput]


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
    reviewers_required: int = Field(
        description="approvals by different data stewards needed to release (the setting "
        "promotion.reviewers_required when the request was submitted)"
    )
    approvals: list[Approval]
    review_progress: str = Field(description="e.g. '1 of 2 approvals'")
    receipt: Receipt | None
    acro: list[AcroResults] | None = Field(
        None,
        description="acro's own results found in the outbox, shown beside ours (data "
        "stewards only: acro's summaries can quote values)",
    )
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
    data = {
        **req.to_json(),
        "review_progress": req.review_progress,
        "links": {"log": f"api/requests/{req.id}/log"},
    }
    if not steward:
        data["acro"] = None
    return dump(PromotionRequest.model_validate(data), steward=steward)


def receipt_view(receipt: dict[str, Any], *, steward: bool) -> dict[str, Any]:
    """A release receipt as the caller may see it (the one written into the researcher's
    home is ``steward=False``)."""
    return dump(Receipt.model_validate(receipt), steward=steward)


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
    "position_only",
    "receipt_view",
    "request_view",
]
