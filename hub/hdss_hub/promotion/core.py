"""The airlock: promotion requests from submission to release, every step audited.

    airlock = Airlock(db_url, ledger, docker_client, AirlockConfig(...))
    req = airlock.submit("alice", "diab-2026", ["study.ipynb"])   # snapshot + contract
    airlock.run(req.id)                  # papermill on restricted data, outbox, checks
    airlock.review("sam", req.id, "approve", "aggregates only")     # release + receipt

Only files whose output check *passes* are ever copied to the researcher's sandbox home,
into ``results/<request id>/``, and only after a data steward other than the requester
approved. The outbox is copied into the airlock's own folder right after the run and
checked, reviewed and released from there, so nothing changed afterwards in the project
workspace can reach the release.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import docker
import sqlalchemy as sa
from docker.errors import DockerException
from hdss_common import naming
from hdss_common.catalog import CatalogEntry, CatalogError, Sensitivity, scan
from hdss_common.db import make_engine, upgrade
from sqlalchemy.orm import Session

from ..ledger.core import Ledger, Permission
from . import acroresults, checks, differencing, runner
from .contract import ContractReport, check_notebook
from .models import FINAL, ReleasedTableRow, RequestRow, State
from .paths import UnsafePath, safe_relpath
from .workspace import (
    ROOT_UID,
    USER_GID,
    USER_UID,
    File,
    WorkspaceError,
    holder,
    read_tree,
    write_tree,
)

log = logging.getLogger(__name__)
VERSION_TABLE = "hdss_promotion_version"


class PromotionError(Exception):
    status = 400


class Refused(PromotionError):
    status = 403


class Invalid(PromotionError):
    status = 422

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


class Missing(PromotionError):
    status = 404


class Conflict(PromotionError):
    status = 409


@dataclass
class AirlockConfig:
    prefix: str = "hdss"
    home_volume_template: str = naming.HOME_VOLUME_TEMPLATE
    image: str = "hdss/singleuser:latest"
    restricted_root: str = ""
    synthetic_root: str = ""
    airlock_dir: str = "var/airlock"
    steward_group: str = "stewards"
    # promotion.run_limits: seconds, memory, cpus, disk, output (see runner.RunSpec)
    timeout_seconds: int = 1800
    mem_limit: str = "2G"
    cpus: float = 1.0
    disk_limit: str = "1G"
    output_limit: str = "100M"
    pids_limit: int = 512
    max_files: int = 50
    max_input_bytes: int = 20 * 1024 * 1024
    reviewers_required: int = 1  # promotion.reviewers_required: approvals to release
    check: checks.Settings = field(default_factory=checks.Settings)

    def home_volume(self, user: str) -> str:
        """The sandbox home volume, named as the spawner names it (same template and escape)."""
        return naming.home_volume(self.prefix, user, self.home_volume_template)

    def project_volume(self, project: str) -> str:
        """The project's secure workspace volume."""
        return naming.project_volume(self.prefix, project)


@dataclass
class Request:
    id: int
    project_id: str
    requester: str
    state: State
    dataset: str
    dataset_version: str
    developed_on: dict
    image: str
    image_id: str
    files: list
    notebooks: list
    contract: list
    run_outcome: str | None
    checks: list | None
    reviewer: str | None
    decision_reason: str | None
    receipt: dict | None
    created_at: datetime
    updated_at: datetime
    approvals: list = field(default_factory=list)  # [{steward, reason, at}]
    reviewers_required: int = 1  # as the setting was when the request was submitted
    acro: list | None = None  # acro's own results found in the outbox (acroresults.read)

    @classmethod
    def from_row(cls, row: RequestRow) -> Request:
        return cls(
            id=row.id,
            project_id=row.project_id,
            requester=row.requester,
            state=State(row.state),
            dataset=row.dataset,
            dataset_version=row.dataset_version,
            developed_on=row.developed_on,
            image=row.image,
            image_id=row.image_id,
            files=row.files,
            notebooks=row.notebooks,
            contract=row.contract,
            run_outcome=row.run_outcome,
            checks=row.checks,
            reviewer=row.reviewer,
            decision_reason=row.decision_reason,
            receipt=row.receipt,
            created_at=row.created_at,
            updated_at=row.updated_at,
            approvals=list(row.approvals or []),
            reviewers_required=row.reviewers_required or 1,
            acro=row.acro,
        )

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("created_at", "updated_at"):
            out[key] = out[key].isoformat().replace("+00:00", "Z")
        return out

    @property
    def workdir(self) -> str:
        return f"promotions/{self.id}"

    @property
    def review_progress(self) -> str:
        """``1 of 2 approvals``: how far the review has come."""
        n = len(self.approvals)
        return (
            f"{n} of {self.reviewers_required} approval{'s' if self.reviewers_required > 1 else ''}"
        )


class Airlock:
    def __init__(
        self, url: str, ledger: Ledger, client: docker.DockerClient | None, cfg: AirlockConfig
    ) -> None:
        self.engine = make_engine(url)
        upgrade(self.engine, "hdss_hub.promotion", VERSION_TABLE)
        self.ledger = ledger
        self.audit = ledger.audit
        self.client = client
        self.cfg = cfg
        self.live: dict[int, runner.Live] = {}  # runs under way
        # Outboxes hold restricted outputs until release: readable by the service alone.
        root = Path(cfg.airlock_dir).absolute()
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o700)
        self._lock = threading.Lock()

    # -- lookups ------------------------------------------------------------------------

    def get(self, request_id: int) -> Request:
        with Session(self.engine) as s:
            row = s.get(RequestRow, request_id)
            if row is None:
                raise Missing(f"no promotion request with id {request_id}")
            return Request.from_row(row)

    def list(self, requester: str | None = None, state: str | None = None) -> list[Request]:
        """Requests, newest first; only ``requester``'s, or only those in ``state``, if given."""
        query = sa.select(RequestRow).order_by(RequestRow.id.desc())
        if requester:
            query = query.where(RequestRow.requester == requester)
        if state:
            query = query.where(RequestRow.state == state)
        with Session(self.engine) as s:
            return [Request.from_row(r) for r in s.scalars(query)]

    def run_log(self, request_id: int, full: bool = True) -> str:
        """The run's log, live while it runs. Without ``full`` (a researcher's) only the
        runner's own progress events, which no notebook output can reach; with it (a data
        steward's) the events and everything the run printed."""
        live = self.live.get(request_id)
        if live is not None:
            return live.full_log() if full else live.researcher_log()
        with Session(self.engine) as s:
            row = s.get(RequestRow, request_id)
            if row is None:
                return ""
            return (row.run_log or "") if full else (row.run_events or "")

    def code_dir(self, request_id: int) -> Path:
        return Path(self.cfg.airlock_dir).absolute() / str(request_id) / "code"

    def outbox_dir(self, request_id: int) -> Path:
        return Path(self.cfg.airlock_dir).absolute() / str(request_id) / "outbox"

    def output(self, request_id: int, rel: str) -> bytes:
        rel = safe_relpath(rel)
        req = self.get(request_id)
        if not any(r["path"] == rel for r in req.checks or []):
            raise Missing(f"request {request_id} has no output {rel}")
        return (self.outbox_dir(request_id) / rel).read_bytes()

    # -- 1. submit: snapshot and contract -------------------------------------------------

    def _restricted(self, names: tuple[str, ...], wanted: str | None):
        entries = {e.name: e for e in scan(Path(self.cfg.restricted_root), Sensitivity.RESTRICTED)}
        name = wanted or (names[0] if names else "")
        if name not in names:
            raise Invalid(
                f"dataset {name!r} is not covered by the permission (it covers: {', '.join(names)})"
            )
        if name not in entries:
            raise Invalid(f"the restricted dataset {name} is not published; ask a data steward")
        return entries[name]

    def _developed_on(self, wanted: str | None) -> dict:
        try:
            entries = scan(Path(self.cfg.synthetic_root), Sensitivity.SYNTHETIC)
        except CatalogError:
            entries = []
        pick = [e for e in entries if e.name == wanted] if wanted else entries[:1]
        if wanted and not pick:
            raise Invalid(f"no synthetic dataset named {wanted!r}")
        return {"dataset": pick[0].name, "version": pick[0].version} if pick else {}

    def submit(
        self,
        user: str,
        project_id: str,
        paths: list[str],
        *,
        dataset: str | None = None,
        synthetic: str | None = None,
    ) -> Request:
        """Snapshot ``paths`` from ``user``'s sandbox home for ``project_id`` (audited)."""
        target = f"project:{project_id}"
        try:
            return self._submit(user, project_id, paths, dataset, synthetic)
        except PromotionError as e:
            details = getattr(e, "details", None)
            self.audit.append(
                user,
                "promotion.submit",
                target,
                "contract-failed" if details else "refused",
                reason=str(e),
                paths=[str(p)[:200] for p in paths][:50],
                report=details,
            )
            raise

    def _submit(self, user, project_id, paths, dataset, synthetic) -> Request:
        """The steps of a submission, in order; the first that fails raises."""
        perm = self._permission(user, project_id)
        wanted = self._selection(paths)
        entry = self._restricted(perm.datasets, dataset)
        developed_on = self._developed_on(synthetic)
        image = self.client.images.get(self.cfg.image)
        files = self._read_home(user, wanted)
        notebooks = self._notebooks(files)
        reports = self._contract(files, notebooks, entry)
        metas = [files[p].meta() for p in sorted(files)]
        req = self._record(
            user, project_id, entry, developed_on, image.id, metas, notebooks, reports
        )
        self._store_snapshot(req, files)
        self.audit.append(
            user,
            "promotion.submit",
            f"promotion:{req.id}",
            "ok",
            project_id=project_id,
            files=metas,
            image_id=image.id,
            dataset=entry.name,
            dataset_version=entry.version,
            developed_on=developed_on,
            permission=perm.id,
        )
        return req

    def _permission(self, user: str, project_id: str) -> Permission:
        """The user's active permission for the project; Refused (saying why) without one."""
        perm = self.ledger.active_permission(user, project_id)
        if perm is None:
            raise Refused(self.ledger.why_not(user, project_id))
        return perm

    def _selection(self, paths: Any) -> list[str]:
        """The named files and folders as sorted, distinct, safe relative paths."""
        if not isinstance(paths, list) or not paths or len(paths) > self.cfg.max_files:
            raise Invalid(f"name 1 to {self.cfg.max_files} files or folders from your home")
        try:
            return sorted({safe_relpath(p) for p in paths})
        except UnsafePath as e:
            raise Invalid(str(e)) from None

    def _read_home(self, user: str, wanted: list[str]) -> dict[str, File]:
        """The selected files read from the user's sandbox home, within the size limits."""
        files: dict[str, File] = {}
        with holder(
            self.client,
            self.cfg.image,
            self.cfg.home_volume(user),
            f"{self.cfg.prefix}-airlock-read-{secrets.token_hex(4)}",
        ) as c:
            for rel in wanted:
                try:
                    for f in read_tree(c, rel, self.cfg.max_input_bytes, self.cfg.max_input_bytes):
                        files[f.path] = f
                except (WorkspaceError, UnsafePath) as e:
                    raise Invalid(str(e)) from None
        if len(files) > self.cfg.max_files:
            raise Invalid(f"{len(files)} files selected; at most {self.cfg.max_files}")
        if sum(len(f.data) for f in files.values()) > self.cfg.max_input_bytes:
            raise Invalid(
                f"the selection is over {self.cfg.max_input_bytes:,} bytes; promote code, not data"
            )
        return files

    @staticmethod
    def _notebooks(files: dict[str, File]) -> list[str]:
        """The selection's notebooks (sorted); Invalid when it holds none."""
        notebooks = sorted(p for p in files if p.endswith(".ipynb"))
        if not notebooks:
            raise Invalid("the selection holds no notebook (.ipynb) to run")
        return notebooks

    @staticmethod
    def _contract(
        files: dict[str, File], notebooks: list[str], entry: CatalogEntry
    ) -> list[ContractReport]:
        """Each notebook's contract report; Invalid (with the reports) unless all are met."""
        manifest = entry.manifest()
        reports = []
        for nb in notebooks:
            try:
                reports.append(check_notebook(files[nb].data, manifest, nb))
            except ValueError as e:
                raise Invalid(f"{nb} is not a readable notebook: {e}") from None
        if not all(r.ok for r in reports):
            raise Invalid(
                "the promotion contract is not met:\n"
                + "\n".join(r.summary() for r in reports if not r.ok),
                [r.to_json() for r in reports],
            )
        return reports

    def _record(
        self,
        user: str,
        project_id: str,
        entry: CatalogEntry,
        developed_on: dict,
        image_id: str,
        metas: list[dict],
        notebooks: list[str],
        reports: list[ContractReport],
    ) -> Request:
        """The new request, stored as queued."""
        now = self.ledger.clock()
        with Session(self.engine) as s, s.begin():
            row = RequestRow(
                project_id=project_id,
                requester=user,
                state=State.QUEUED,
                dataset=entry.name,
                dataset_version=entry.version,
                developed_on=developed_on,
                image=self.cfg.image,
                image_id=image_id,
                files=metas,
                notebooks=notebooks,
                contract=[r.to_json() for r in reports],
                created_at=now,
                updated_at=now,
                approvals=[],
                reviewers_required=self.cfg.reviewers_required,
            )
            s.add(row)
            s.flush()
            return Request.from_row(row)

    def _store_snapshot(self, req: Request, files: dict[str, File]) -> None:
        """The snapshot into the airlock (what runs) and, read-only, into the project
        workspace (for the researcher); the request fails, Conflict, if the latter cannot."""
        for f in files.values():
            target = self.code_dir(req.id) / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.data)
        try:
            with holder(
                self.client,
                self.cfg.image,
                self.cfg.project_volume(req.project_id),
                f"{self.cfg.prefix}-airlock-write-{req.id}",
                create=True,
            ) as c:
                write_tree(
                    c,
                    f"{req.workdir}/code",
                    list(files.values()),
                    uid=ROOT_UID,
                    gid=ROOT_UID,
                    file_mode=0o444,
                    dir_mode=0o555,
                )
        except (WorkspaceError, DockerException) as e:
            self._finish(req.id, State.FAILED, f"the snapshot could not be written: {e}")
            raise Conflict(
                f"the snapshot could not be written to the project workspace: {e}"
            ) from None

    # -- 2. run and 3. checks --------------------------------------------------------------

    def _update(self, request_id: int, **values: Any) -> Request:
        with Session(self.engine) as s, s.begin():
            row = s.get(RequestRow, request_id)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = self.ledger.clock()
            return Request.from_row(row)

    def _finish(
        self, request_id: int, state: State, outcome: str, live: runner.Live | None = None
    ) -> None:
        self._update(
            request_id,
            state=state,
            run_outcome=outcome,
            run_log=live.full_log() if live else None,
            run_events=live.researcher_log() if live else None,
        )

    def run(self, request_id: int) -> Request:
        """Run a queued request's notebooks on the restricted data, then check the outbox."""
        req = self.get(request_id)
        if req.state != State.QUEUED:
            raise Conflict(f"request {request_id} is {req.state}, not queued")
        perm = self.ledger.active_permission(req.requester, req.project_id)
        target = f"promotion:{request_id}"
        if perm is None or req.dataset not in perm.datasets:
            reason = self.ledger.why_not(req.requester, req.project_id)
            self._finish(request_id, State.FAILED, f"not run: {reason}")
            self.audit.append(
                "service:promotion", "promotion.run", target, "refused", reason=reason
            )
            return self.get(request_id)
        entry = self._restricted(perm.datasets, req.dataset)
        self._update(request_id, state=State.RUNNING)
        self.audit.append(
            "service:promotion",
            "promotion.run",
            target,
            "started",
            dataset=entry.name,
            dataset_version=entry.version,
            image_id=req.image_id,
        )
        spec = self.run_spec(req, entry)
        live = self.live[request_id] = runner.Live(self.ledger.clock().timestamp)
        live.event("started", count=len(req.notebooks), dataset=entry.name)
        code: list[File] = []
        try:
            code = self._snapshot(req)
            result = runner.run(self.client, spec, code, live)
        except Exception as e:  # the engine failed: record it, never lose the request
            log.exception("run of request %s failed", request_id)
            live.follow(None)
            live.write(f"\n== the run broke off: {e}\n")
            live.event("engine")
            result = runner.RunResult(
                "failed", None, "", reason="the run broke off: the Docker engine failed"
            )
        if result.limit is None:  # over a run limit: nothing of the run is kept
            self._keep_outbox(req, result)
        if result.outcome != "succeeded":
            self.live.pop(request_id, None)
            self._finish(
                request_id, State(result.outcome), result.reason or "the notebook failed", live
            )
            self.audit.append(
                "service:promotion",
                "promotion.run",
                target,
                result.outcome,
                exit_code=result.exit_code,
                **({"limit": result.limit, "reason": result.reason} if result.limit else {}),
            )
            return self.get(request_id)
        # Exactly the checks of `hdss-airlock check`: each file (the researcher's own cells in
        # the executed notebooks are not outputs), then the outbox as a whole.
        reports = checks.check_outbox(result.outputs, self.cfg.check, code=code)
        for name, problem in result.problems:
            rep = checks.FileReport(path=name, size=0)
            rep.add("not-copied", checks.BLOCK, problem)
            reports.append(rep)
        checked = label_outputs([r.to_json() for r in reports], code, req.notebooks)
        checked = self._differencing(req.project_id, result.outputs, checked, req.id)
        acro = acroresults.read(result.outputs)
        checked = add_findings(checked, acroresults.findings(acro))
        status = [r["status"] for r in checked]
        live.event(
            "checked",
            passed=status.count(checks.PASS),
            flagged=status.count(checks.FLAG),
            blocked=status.count(checks.BLOCK),
        )
        live.event("review")
        self.live.pop(request_id, None)
        self._update(
            request_id,
            state=State.AWAITING_REVIEW,
            run_outcome="succeeded",
            run_log=live.full_log(),
            run_events=live.researcher_log(),
            checks=checked,
            acro=acro or None,
        )
        self.audit.append(
            "service:promotion",
            "promotion.check",
            target,
            "ok",
            files={r.path: r.status for r in reports},
        )
        return self.get(request_id)

    def run_spec(self, req: Request, entry: CatalogEntry) -> runner.RunSpec:
        """How a request runs: its image, dataset, notebooks and the run limits."""
        return runner.RunSpec(
            name=f"{self.cfg.prefix}-promote-{req.id}",
            image_id=req.image_id,
            binds={str(entry.path): entry.mount_path},
            notebooks=req.notebooks,
            data_root=entry.mount_path,
            timeout_seconds=self.cfg.timeout_seconds,
            mem_limit=self.cfg.mem_limit,
            cpus=self.cfg.cpus,
            disk_limit=self.cfg.disk_limit,
            output_limit=self.cfg.output_limit,
            pids_limit=self.cfg.pids_limit,
            max_file_bytes=self.cfg.check.max_file_bytes,
        )

    def _snapshot(self, req: Request) -> list[File]:
        """The airlock's copy of the snapshot, each file checked against its recorded hash."""
        files = []
        for meta in req.files:
            f = File(
                meta["path"], (self.code_dir(req.id) / safe_relpath(meta["path"])).read_bytes()
            )
            if f.sha256 != meta["sha256"]:
                raise Conflict(f"{meta['path']} no longer matches its snapshot hash; not run")
            files.append(f)
        return files

    def _keep_outbox(self, req: Request, result: runner.RunResult) -> None:
        """The outbox into the airlock (checked and released from there) and, read-only, into
        the project workspace, where the researcher can look at it in the secure server."""
        dest = self.outbox_dir(req.id)
        dest.mkdir(parents=True, exist_ok=True)
        for f in result.outputs:
            target = dest / safe_relpath(f.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.data)
        try:
            with holder(
                self.client,
                self.cfg.image,
                self.cfg.project_volume(req.project_id),
                f"{self.cfg.prefix}-airlock-outbox-{req.id}",
                create=True,
            ) as c:
                write_tree(
                    c,
                    f"{req.workdir}/outbox",
                    result.outputs,
                    uid=ROOT_UID,
                    gid=ROOT_UID,
                    file_mode=0o444,
                    dir_mode=0o555,
                )
        except (WorkspaceError, UnsafePath, DockerException) as e:  # the airlock copy counts
            log.warning("outbox of request %s not copied to the workspace: %s", req.id, e)

    # -- 4. review and release -------------------------------------------------------------

    def review(self, steward: str, request_id: int, decision: str, reason: str) -> Request:
        """A data steward's decision. A rejection ends the request; with
        ``reviewers_required`` above 1, approvals by that many different stewards (none of
        them the requester) are needed before anything is released. Each is audited."""
        target = f"promotion:{request_id}"
        req = self.get(request_id)
        if req.requester == steward:
            self.audit.append(
                steward,
                "promotion.review",
                target,
                "denied",
                reason="a steward may not review their own request",
            )
            raise Refused("you made this request: another data steward must review it")
        if decision not in ("approve", "reject"):
            raise Invalid("decision must be 'approve' or 'reject'")
        reason = (reason or "").strip()
        if not reason:
            raise Invalid("give a reason for the decision; it goes into the release receipt")
        with self._lock:
            req = self.get(request_id)
            if req.state != State.AWAITING_REVIEW:
                raise Conflict(
                    f"request {request_id} is {req.state}; only requests awaiting "
                    "review can be decided"
                )
            if any(a["steward"] == steward for a in req.approvals):
                self.audit.append(
                    steward,
                    "promotion.review",
                    target,
                    "denied",
                    reason="a steward approves a request once",
                )
                raise Refused(
                    f"you approved this request already ({req.review_progress}): another "
                    "data steward must approve it too"
                )
            approval = {"steward": steward, "reason": reason, "at": self.ledger.clock().isoformat()}
            approvals = [*req.approvals, approval] if decision == "approve" else req.approvals
            if (
                decision == "approve"
                and self.ledger.active_permission(req.requester, req.project_id) is None
            ):
                why = self.ledger.why_not(req.requester, req.project_id)
                self.audit.append(steward, "promotion.approve", target, "refused", reason=why)
                raise Conflict(f"nothing can be released: {why}; reject the request instead")
            if decision == "approve" and len(approvals) < req.reviewers_required:
                req = self._update(request_id, approvals=approvals)
                self.audit.append(
                    steward,
                    "promotion.approve",
                    target,
                    "approved",
                    reason=reason,
                    approvals=req.review_progress,
                    requester=req.requester,
                )
                return req
            released = [r for r in req.checks or [] if r["status"] == checks.PASS]
            withheld = [r for r in req.checks or [] if r["status"] != checks.PASS]
            receipt = {
                "request": request_id,
                "project_id": req.project_id,
                "requester": req.requester,
                "reviewer": steward,
                "decision": decision,
                "reason": reason,
                "decided_at": self.ledger.clock().isoformat(),
                "reviewers_required": req.reviewers_required,
                "approvals": approvals,
                "notebooks": [f for f in req.files if f["path"] in req.notebooks],
                "files": req.files,
                "image": req.image,
                "image_id": req.image_id,
                "datasets": {
                    "restricted": {"dataset": req.dataset, "version": req.dataset_version},
                    "developed_on": req.developed_on,
                },
                "contract": req.contract,
                "checks": req.checks,
                "released": [r["path"] for r in released] if decision == "approve" else [],
                "withheld": [r["path"] for r in withheld]
                if decision == "approve"
                else [r["path"] for r in req.checks or []],
            }
            if decision == "approve":
                self._release(req, released, receipt)
                self._keep_tables(req, released)
            state = State.RELEASED if decision == "approve" else State.REJECTED
            req = self._update(
                request_id,
                state=state,
                reviewer=steward,
                decision_reason=reason,
                receipt=receipt,
                approvals=approvals,
            )
        self.audit.append(
            steward,
            f"promotion.{decision}",
            target,
            state.value,
            reason=reason,
            released=receipt["released"],
            withheld=receipt["withheld"],
            requester=req.requester,
            approvals=req.review_progress,
        )
        return req

    def _release(self, req: Request, released: list[dict], receipt: dict) -> None:
        files = []
        for r in released:
            data = (self.outbox_dir(req.id) / r["path"]).read_bytes()
            if File(r["path"], data).sha256 != r["sha256"]:
                raise Conflict(
                    f"{r['path']} changed in the airlock since it was checked; nothing was released"
                )
            files.append(File(r["path"], data))
        # The home is outside the secure environment: the receipt there is the one a
        # researcher may read (findings without details, withheld files named by position
        # when the run chose their names), as the API shows it to them.
        from .schemas import receipt_view  # (schemas imports this module)

        public = receipt_view(receipt, steward=False)
        files.append(
            File("RELEASE-RECEIPT.json", json.dumps(public, indent=2, sort_keys=True).encode())
        )
        try:
            with holder(
                self.client,
                self.cfg.image,
                self.cfg.home_volume(req.requester),
                f"{self.cfg.prefix}-airlock-release-{req.id}",
            ) as c:
                write_tree(
                    c,
                    f"results/{req.id}",
                    files,
                    uid=USER_UID,
                    gid=USER_GID,
                    file_mode=0o644,
                    dir_mode=0o755,
                )
        except WorkspaceError as e:
            raise Conflict(f"the release could not be written: {e}") from None

    # -- differencing -----------------------------------------------------------------------

    def released_tables(self, project_id: str) -> list[differencing.Released]:
        """Every table released for ``project_id`` so far."""
        query = sa.select(ReleasedTableRow).where(ReleasedTableRow.project_id == project_id)
        with Session(self.engine) as s:
            return [
                differencing.Released(r.request_id, r.path, r.location, r.header, r.rows)
                for r in s.scalars(query.order_by(ReleasedTableRow.id))
            ]

    def _differencing(
        self, project_id: str, outputs: list[File], checked: list[dict], request_id: int
    ) -> list[dict]:
        """``checked`` with a ``differencing`` finding on each file holding a table that
        differs from one released for the project, or from one before it in the same
        request, by a small number of persons."""
        released = self.released_tables(project_id)
        tables = {f.path: differencing.tables_of(f.path, f.data) for f in outputs}
        passing = {r["path"] for r in checked if r["status"] == checks.PASS}
        found = differencing.check(tables, released, self.cfg.check.threshold, request_id, passing)
        return add_findings(checked, found)

    def _keep_tables(self, req: Request, released: list[dict]) -> None:
        """The tables of the files just released, kept to set later tables against."""
        now = self.ledger.clock()
        with Session(self.engine) as s, s.begin():
            for r in released:
                data = (self.outbox_dir(req.id) / r["path"]).read_bytes()
                for t in differencing.tables_of(r["path"], data):
                    s.add(
                        ReleasedTableRow(
                            project_id=req.project_id,
                            request_id=req.id,
                            path=r["path"],
                            location=t.where,
                            header=t.header,
                            rows=t.rows,
                            released_at=now,
                        )
                    )

    def recover(self) -> None:
        """At start: runs cut off by a restart are failed (the snapshot stays, nothing lost),
        and containers a crashed service left behind are removed."""
        if self.client is not None:
            for c in self.client.containers.list(
                all=True, filters={"label": "hdss.promotion", "name": f"{self.cfg.prefix}-"}
            ):
                if c.name.startswith(f"{self.cfg.prefix}-"):
                    c.remove(force=True)
        for req in self.list(state=State.RUNNING):
            self._finish(req.id, State.FAILED, "interrupted: the promotion service restarted")
            self.audit.append(
                "service:promotion",
                "promotion.run",
                f"promotion:{req.id}",
                "failed",
                reason="interrupted by a service restart",
            )

    def pending(self) -> list[int]:
        return [r.id for r in self.list(state=State.QUEUED) if r.state not in FINAL]


def label_outputs(reports: list[dict], code: list[File], notebooks: list[str]) -> list[dict]:
    """Each check report with the ``label`` a researcher sees for its file.

    A name the run chose can carry a value (``open(f"{value}.csv", "w")``), so a
    researcher sees a file's path only when the submitted code holds it (or it is the
    executed copy of a submitted notebook); otherwise ``output file N``.
    """
    text = b"\n".join(f.data for f in code)
    executed = {nb.replace("/", "__") for nb in notebooks}
    out = []
    for n, report in enumerate(reports, 1):
        path = report["path"]
        parts = PurePosixPath(path).parts if path.isprintable() else ()
        named = path in executed or (bool(parts) and all(p.encode() in text for p in parts))
        out.append({**report, "label": path if named else f"output file {n}"})
    return out


def add_findings(checked: list[dict], found: dict[str, list[dict]]) -> list[dict]:
    """Check reports with ``found`` (path -> findings) added, each file's status raised to
    its most severe finding."""
    order = {checks.PASS: 0, checks.FLAG: 1, checks.BLOCK: 2}
    out = []
    for report in checked:
        extra = found.get(report["path"], [])
        if extra:
            severities = [report["status"], *(f["severity"] for f in extra)]
            status = max(severities, key=order.__getitem__)
            report = {**report, "findings": [*report["findings"], *extra], "status": status}
        out.append(report)
    return out
