"""The promotion API's access rules and input validation over HTTP (no hub, no Docker).

Callers are named by a test header (tests/ledger/helpers.py); requests are stored
directly, so only the service's own decisions are exercised here. There is no Docker
engine: what needs one answers 503, as it does when the engine is down.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from docker.errors import DockerException, NotFound
from hdss_hub.ledger.core import Ledger
from hdss_hub.promotion import runner, schemas
from hdss_hub.promotion.contract import ContractReport, Problem
from hdss_hub.promotion.core import Airlock, AirlockConfig
from hdss_hub.promotion.models import STATES, RequestRow
from hdss_hub.promotion.web import Context, make_app
from sqlalchemy.orm import Session

from tests.ledger.helpers import HeaderAuth, ServerThread, as_user

PREFIX = "/services/promotion/"
# Values only data stewards may see: a finding's detail, a run log line, an output file.
DETAIL = "count 3 is below 5"
LOG_VALUE = "R92CW9282A"
OUTPUT = "g,n\na,3\n"
RESTRICTED_VALUES = (DETAIL, LOG_VALUE, OUTPUT)
RESEARCHERS = ("alice", "bob")
EVENTS = "12:00:00 run started: 1 notebook(s) on dk\n12:00:09 outbox copied out: 1 file(s)"


class NoEngine:
    """A Docker client whose engine never answers (as when it is down)."""

    def __getattr__(self, name: str):
        raise DockerException(f"no Docker engine in this test (asked for {name})")


class NoVolumes:
    """A Docker client whose engine has the image and no volume: no sandbox home exists."""

    def __init__(self) -> None:
        self.images = SimpleNamespace(get=lambda name: SimpleNamespace(id="sha256:" + "2" * 64))
        self.volumes = SimpleNamespace(get=self._no_volume)

    @staticmethod
    def _no_volume(name: str):
        raise NotFound(f"no such volume: {name}")


class EmptyHomes(NoVolumes):
    """A Docker client whose engine has the image and empty volumes: a sandbox home holds
    nothing to promote, and archives written to a volume are accepted (and kept in
    ``written``), as the engine's archive API would (see promotion/workspace.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.volumes = SimpleNamespace(get=lambda name: SimpleNamespace(name=name))
        self.containers = SimpleNamespace(create=self._holder)
        # HEAD /containers/<id>/archive: every path is missing.
        self.api = SimpleNamespace(
            head=lambda url, params: SimpleNamespace(status_code=404, headers={}),
            _url=lambda template, *args: template.format(*args),
        )
        self.written: list[tuple[str, bytes]] = []

    def _holder(self, image: str, *args, **kwargs) -> SimpleNamespace:
        def put_archive(path: str, data: bytes) -> bool:
            self.written.append((path, data))
            return True

        return SimpleNamespace(
            id="holder", client=self, remove=lambda force=False: None, put_archive=put_archive
        )


def _request(requester: str, report: dict) -> RequestRow:
    now = datetime.now(UTC)
    contract = ContractReport(
        notebook="study.ipynb", dataset="dk", version="1", tables=["bef"], columns=["koen"]
    )
    return RequestRow(
        project_id="p-1",
        requester=requester,
        state="awaiting-review",
        dataset="dk",
        dataset_version="1",
        developed_on={"dataset": "dk-synthetic", "version": "1"},
        image="img",
        image_id="sha256:1",
        files=[{"path": "study.ipynb", "sha256": "1" * 64, "size": 10}],
        notebooks=["study.ipynb"],
        contract=[contract.to_json()],
        run_log=f"{EVENTS}\n\n{runner.FULL_LOG}\nExecuting Cell 1\nn\n3\nValueError: {LOG_VALUE}",
        run_events=EVENTS,
        checks=[report],
        created_at=now,
        updated_at=now,
    )


def seeded_airlock(tmp_path: Path, client: object | None = None) -> Airlock:
    """An airlock on a new SQLite database; ``client`` as the Docker client (by default
    :class:`NoEngine`).

    The restricted dataset ``dk`` is published; alice and steve (a data steward) hold a
    permission for project ``p-1``. Requests: 1, alice's, awaits review (``t.csv`` is
    flagged by a finding that quotes a value, the run log holds a value); 2, alice's, was
    rejected by steve (its receipt holds such a finding); 3, steve's own, awaits review.
    """
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    restricted = tmp_path / "restricted"
    (restricted / "dk" / "1").mkdir(parents=True)
    (restricted / "dk" / "1" / "datapackage.json").write_text(json.dumps({"name": "dk"}))
    ledger = Ledger(url, restricted_root=restricted)
    now = datetime.now(UTC)
    ledger.log(
        {
            "project_id": "p-1",
            "members": ["alice", "steve"],
            "datasets": ["dk"],
            "authority": "Sundhedsdatastyrelsen",
            "reference": "TEST-1",
            "legal_basis": "a test",
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=365)).isoformat(),
        },
        steward="sam",
        known_users={"alice", "steve"},
    )
    cfg = AirlockConfig(
        airlock_dir=str(tmp_path / "a"),
        restricted_root=str(restricted),
        synthetic_root=str(tmp_path / "synthetic"),
    )
    airlock = Airlock(url, ledger, client or NoEngine(), cfg)  # type: ignore[arg-type]
    # (A check report as the airlock stores it, whichever checker made it.)
    report = {"path": "t.csv", "size": len(OUTPUT), "sha256": "0" * 64, "status": "flag"}
    # A finding whose place quotes a header (a header can be a value): researchers get
    # "row 1, column 2" only.
    report["findings"] = [
        {
            "rule": "small-count",
            "severity": "flag",
            "detail": DETAIL,
            "where": "row 1, column 2 'n'",
            "position": {"part": "table", "row": 1, "column": 2},
        }
    ]
    with Session(airlock.engine) as s, s.begin():
        s.add_all([_request("alice", report), _request("alice", report), _request("steve", report)])
    for request_id in (1, 2, 3):
        airlock.outbox_dir(request_id).mkdir(parents=True)
        (airlock.outbox_dir(request_id) / "t.csv").write_text(OUTPUT)
    airlock.review("steve", 2, "reject", "a cell below 5")
    return airlock


@contextmanager
def serving(airlock: Airlock) -> Iterator[ServerThread]:
    """The service on ``airlock``, callers named by a test header."""
    ctx = Context(airlock=airlock, prefix=PREFIX)
    try:
        with ServerThread(make_app(ctx, auth_mixin=HeaderAuth)) as server:
            yield server
    finally:
        ctx.runs.shutdown(wait=True)
        airlock.engine.dispose()
        airlock.ledger.engine.dispose()


@pytest.fixture
def service(tmp_path):
    airlock = seeded_airlock(tmp_path)
    with serving(airlock) as server:
        yield server, airlock


def call(server, method, path, user, **kwargs):
    return requests.request(
        method,
        f"{server.url}{PREFIX}api{path}",
        headers=as_user(user) if user else {},
        timeout=10,
        **kwargs,
    )


def test_anonymous_callers_are_refused(service):
    server, _ = service
    assert call(server, "GET", "/requests", None).status_code == 403


def test_researchers_see_their_own_requests_without_values(service):
    server, _ = service
    reqs = call(server, "GET", "/requests", "alice").json()
    assert [r["id"] for r in reqs] == [2, 1]
    rejected, waiting = reqs
    assert waiting["checks"][0]["findings"][0] == {
        "rule": "small-count",
        "severity": "flag",
        "where": "row 1, column 2",
        "position": {"part": "table", "row": 1, "column": 2}
        | dict.fromkeys(("cell", "output", "table", "line")),
    }
    # No hash or size of an output (a hash of a small file can be guessed back).
    assert waiting["checks"][0]["sha256"] is None and waiting["checks"][0]["size"] is None
    # The receipt of a rejected request lists the same findings, also without the value.
    assert rejected["receipt"]["checks"][0]["findings"][0] == waiting["checks"][0]["findings"][0]
    assert rejected["receipt"]["withheld"] == ["t.csv"]
    log = call(server, "GET", "/requests/1/log", "alice").json()["log"]
    assert log == EVENTS  # the runner's events and nothing the run printed
    for path in ("/requests", "/requests/1", "/requests/2", "/requests/1/log"):
        text = call(server, "GET", path, "alice").text
        assert not [v for v in RESTRICTED_VALUES if v in text], path
    assert call(server, "GET", "/requests", "bob").json() == []
    assert call(server, "GET", "/requests/1", "bob").status_code == 404


def test_stewards_see_the_values(service):
    server, _ = service
    req = call(server, "GET", "/requests/2", "steve").json()
    assert req["checks"][0]["findings"][0]["detail"] == DETAIL
    assert req["receipt"]["checks"][0]["findings"][0]["detail"] == DETAIL
    assert LOG_VALUE in call(server, "GET", "/requests/1/log", "steve").json()["log"]
    assert [
        r["id"] for r in call(server, "GET", "/requests?state=awaiting-review", "steve").json()
    ] == [3, 1]


def test_only_stewards_read_outputs_and_review(service):
    server, airlock = service
    assert call(server, "GET", "/requests/1/outputs/t.csv", "alice").status_code == 403
    r = call(server, "GET", "/requests/1/outputs/t.csv", "steve")
    assert r.status_code == 200 and r.text == "g,n\na,3\n"
    assert call(server, "GET", "/requests/1/outputs/..%2Fx", "steve").status_code in (404, 422)
    assert call(server, "GET", "/requests/1/outputs/other.csv", "steve").status_code == 404
    assert "count 3" in json.dumps(call(server, "GET", "/requests/1", "steve").json())
    r = call(
        server, "POST", "/requests/1/review", "alice", json={"decision": "approve", "reason": "x"}
    )
    assert r.status_code == 403
    denied = [e for e in airlock.audit.entries() if e.action == "access.denied"]
    assert denied and denied[-1].actor == "alice"


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"not json", 400, "not valid JSON"),
        (b"[1]", 422, "JSON object"),
        (json.dumps({"project_id": "../x", "paths": ["a"]}).encode(), 422, "project_id"),
        (json.dumps({"project_id": "p-1", "paths": "a"}).encode(), 422, "paths"),
        (json.dumps({"project_id": "p-1", "paths": ["a"], "x": 1}).encode(), 422, "unknown"),
        (json.dumps({"project_id": "p-1", "paths": []}).encode(), 422, "paths"),
        (json.dumps({"project_id": "p-1", "paths": ["a"] * 51}).encode(), 422, "paths"),
        (json.dumps({"project_id": "p-1", "paths": ["a\x00b"]}).encode(), 422, "paths.0"),
        (b'{"project_id": "p-1", "paths": ["\\ud800"]}', 422, "paths.0"),
        (json.dumps({"project_id": "p-1", "paths": [1]}).encode(), 422, "paths.0"),
        (
            json.dumps({"project_id": "p-1", "paths": ["a"], "dataset": "../dk"}).encode(),
            422,
            "dataset",
        ),
        (json.dumps({"project_id": 1, "paths": ["a"]}).encode(), 422, "project_id"),
    ],
)
def test_bad_submissions_are_refused_with_a_message(service, body, status, message):
    server, _ = service
    r = call(server, "POST", "/requests", "alice", data=body)
    assert r.status_code == status and message in r.json()["message"]


def test_review_needs_a_decision_and_a_reason(service):
    server, _ = service
    r = call(
        server, "POST", "/requests/1/review", "steve", json={"decision": "maybe", "reason": "x"}
    )
    assert r.status_code == 422 and "decision" in r.json()["message"]
    for body in (
        {"decision": "reject", "reason": " "},
        {"decision": "reject"},
        {"decision": "reject", "reason": "x" * 2001},
        {"decision": "reject", "reason": "a\x00b"},
    ):
        r = call(server, "POST", "/requests/1/review", "steve", json=body)
        assert r.status_code == 422 and "reason" in r.json()["message"], body
    r = call(
        server,
        "POST",
        "/requests/1/review",
        "steve",
        json={"decision": "reject", "reason": "x", "y": 1},
    )
    assert r.status_code == 422 and "y: unknown field" in r.json()["message"]
    assert call(server, "GET", "/requests/1", "steve").json()["state"] == "awaiting-review"


def test_review_decides_and_refuses_what_it_must(service):
    server, airlock = service
    r = call(
        server, "POST", "/requests/3/review", "steve", json={"decision": "reject", "reason": "x"}
    )
    assert r.status_code == 403 and "another data steward" in r.json()["message"]
    r = call(
        server, "POST", "/requests/2/review", "steve", json={"decision": "reject", "reason": "x"}
    )
    assert r.status_code == 409 and "awaiting review" in r.json()["message"]
    # Approving writes to alice's sandbox home, through the (absent) Docker engine.
    r = call(
        server, "POST", "/requests/1/review", "steve", json={"decision": "approve", "reason": "ok"}
    )
    assert r.status_code == 503 and "Docker engine" in r.json()["message"]
    r = call(
        server,
        "POST",
        "/requests/1/review",
        "steve",
        json={"decision": "reject", "reason": "a cell below 5"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "rejected" and r.json()["receipt"]["reviewer"] == "steve"
    assert r.json()["receipt"]["checks"][0]["findings"][0]["detail"] == DETAIL


def test_submissions_reach_the_airlock(service):
    server, airlock = service
    body = {"project_id": "p-1", "paths": ["../../etc/passwd"]}
    r = call(server, "POST", "/requests", "alice", json=body)
    assert r.status_code == 422 and "'..'" in r.json()["message"]
    refused = [e for e in airlock.audit.entries() if e.action == "promotion.submit"]
    assert refused[-1].outcome == "refused" and refused[-1].actor == "alice"
    r = call(server, "POST", "/requests", "alice", json={**body, "project_id": "other-1"})
    assert r.status_code == 403 and "no permission" in r.json()["message"]
    r = call(server, "POST", "/requests", "alice", json={**body, "paths": ["a.ipynb"]})
    assert r.status_code == 503 and "nothing was promoted" in r.json()["message"]
    r = call(
        server,
        "POST",
        "/requests",
        "alice",
        json={"project_id": "p-1", "paths": ["a.ipynb"], "dataset": "other"},
    )
    assert r.status_code == 422 and "not covered by the permission" in r.json()["message"]
    assert len(call(server, "GET", "/requests", "alice").json()) == 2


def test_a_missing_sandbox_home_is_refused_with_a_message(tmp_path):
    airlock = seeded_airlock(tmp_path, NoVolumes())
    with serving(airlock) as server:
        body = {"project_id": "p-1", "paths": ["a.ipynb"]}
        r = call(server, "POST", "/requests", "alice", json=body)
        assert r.status_code == 422 and "hdss-home-alice does not exist" in r.json()["message"]
        review = {"decision": "approve", "reason": "aggregates"}
        r = call(server, "POST", "/requests/1/review", "steve", json=review)
        assert r.status_code == 409 and "could not be written" in r.json()["message"], r.text
        assert call(server, "GET", "/requests/1", "steve").json()["state"] == "awaiting-review"


def test_an_empty_sandbox_home_is_refused_and_an_approval_released(tmp_path):
    engine = EmptyHomes()
    airlock = seeded_airlock(tmp_path, engine)
    with serving(airlock) as server:
        body = {"project_id": "p-1", "paths": ["study/a.ipynb"]}
        r = call(server, "POST", "/requests", "alice", json=body)
        assert r.status_code == 422 and "no such file or folder" in r.json()["message"], r.text
        outcomes = [(e.action, e.outcome) for e in airlock.audit.entries()]
        assert ("promotion.submit", "refused") in outcomes
        review = {"decision": "approve", "reason": "aggregates"}
        r = call(server, "POST", "/requests/1/review", "steve", json=review)
        assert r.status_code == 200 and r.json()["state"] == "released", r.text
        # Nothing passed the checks: the receipt alone goes to alice's home.
        assert r.json()["receipt"]["released"] == [] and len(engine.written) == 1


def test_me_and_errors_are_answered_as_documented(service):
    server, _ = service
    assert call(server, "GET", "/me", "steve").json() == {"name": "steve", "role": "steward"}
    assert call(server, "GET", "/me", "audrey").json() == {"name": "audrey", "role": "researcher"}
    r = call(server, "GET", "/requests?state=done", "steve")
    assert r.status_code == 400 and r.json() == {
        "status": 400,
        "message": "state must be one of " + ", ".join(STATES),
    }
    r = call(server, "GET", "/nothing", "steve")
    assert r.status_code == 404 and "openapi.json" in r.json()["message"]


def test_a_contract_refusal_carries_the_reports():
    report = ContractReport(notebook="a.ipynb", dataset="dk", version="1")
    report.problems.append(Problem("column", "bef.x", "cell 2", "bef has no column x"))
    body = schemas.error_view(422, "the promotion contract is not met", [report.to_json()])
    assert body["contract"][0]["problems"][0]["name"] == "bef.x"
    assert body["contract"][0]["ok"] is False
    assert schemas.error_view(403, "no") == {"status": 403, "message": "no"}


def test_pages_render_for_researchers_and_stewards(service):
    server, _ = service
    mine = requests.get(f"{server.url}{PREFIX}", headers=as_user("alice"), timeout=10)
    assert mine.status_code == 200 and "Your requests" in mine.text
    assert "Awaiting review" not in mine.text
    for request_id in (1, 2):
        page = requests.get(
            f"{server.url}{PREFIX}requests/{request_id}", headers=as_user("alice"), timeout=10
        )
        assert page.status_code == 200 and "small-count" in page.text
        assert "count 3" not in page.text and "a,3" not in page.text
        assert LOG_VALUE not in page.text
    queue = requests.get(f"{server.url}{PREFIX}", headers=as_user("steve"), timeout=10)
    assert "Awaiting review" in queue.text
    review = requests.get(f"{server.url}{PREFIX}requests/1", headers=as_user("steve"), timeout=10)
    assert "count 3 is below 5" in review.text and "<td>3</td>" in review.text
    # Outputs rendered on the page can neither run a script nor fetch from elsewhere.
    assert "default-src 'none'" in review.headers["Content-Security-Policy"]
    assert "script-src" not in review.headers["Content-Security-Policy"]


def test_review_page_checks_the_form_like_the_api(service):
    server, _ = service
    r = requests.post(
        f"{server.url}{PREFIX}requests/1/review",
        headers=as_user("steve"),
        data={"decision": "reject", "reason": "  "},
        timeout=10,
        allow_redirects=False,
    )
    assert r.status_code == 422 and "give a reason" in r.text


def test_openapi_lists_every_endpoint(service):
    server, _ = service
    spec = requests.get(f"{server.url}{PREFIX}api/openapi.json", timeout=10).json()
    assert spec["openapi"] == "3.1.0"
    body = spec["paths"]["/requests"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/SubmitIn"}
    assert spec["components"]["schemas"]["SubmitIn"]["additionalProperties"] is False
    assert "detail" not in spec["components"]["schemas"]["Finding"]["required"]
    assert set(spec["paths"]) == {
        "/me",
        "/requests",
        "/requests/{id}",
        "/requests/{id}/log",
        "/requests/{id}/outputs/{path}",
        "/requests/{id}/review",
    }
