"""The airlock against a real Docker engine, without a hub: snapshot, run, checks, release.

The hub-level journey (REST API, pages, stewards) is in test_promotion_hub.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from hdss_hub.audit.log import AuditLog
from hdss_hub.ledger.core import Ledger
from hdss_hub.promotion.core import Airlock, AirlockConfig, Conflict, Invalid, Refused

from tests.integration.ledger_helpers import permission_body
from tests.promotion import nbs
from tests.promotion.conftest import list_files, permission, put_files

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PROJECT = "diab-2026"


@pytest.fixture
def airlock(engine, data_roots, prefix, tmp_path):
    synthetic, restricted = data_roots
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    ledger = Ledger(url, restricted_root=restricted)
    # Logged by another steward than sam, a member (four eyes: nobody logs their own).
    ledger.log(permission(PROJECT, ["alice", "sam"], "SDS-1"), steward="steve")
    cfg = AirlockConfig(
        prefix=prefix,
        restricted_root=str(restricted),
        synthetic_root=str(synthetic),
        airlock_dir=str(tmp_path / "airlock"),
        timeout_seconds=120,
    )
    put_files(
        engine,
        cfg.home_volume("alice"),
        {
            "study/aggregate.ipynb": nbs.AGGREGATE,
            "study/helper.py": b"X = 1\n",
            "small.ipynb": nbs.SMALL_AND_IDS,
            "missing.ipynb": nbs.MISSING_COLUMN,
            "fails.ipynb": nbs.FAILS,
            "hangs.ipynb": nbs.HANGS,
            "escape.ipynb": b"symlink:/etc/passwd",
            "link": b"symlink:/etc",
            "study2/a.ipynb": nbs.AGGREGATE,
            "study2/passwd": b"symlink:/etc/passwd",
        },
    )
    engine.volumes.create(cfg.project_volume(PROJECT))
    yield Airlock(url, ledger, engine, cfg)


def test_aggregate_is_snapshotted_run_checked_and_released(airlock, engine):
    req = airlock.submit("alice", PROJECT, ["study"])
    assert [f["path"] for f in req.files] == ["study/aggregate.ipynb", "study/helper.py"]
    assert Path(airlock.cfg.airlock_dir).stat().st_mode & 0o077 == 0
    assert req.image_id.startswith("sha256:") and req.developed_on["version"]
    code = list_files(engine, airlock.cfg.project_volume(PROJECT), f"promotions/{req.id}/code")
    assert set(code) == {"code/study/aggregate.ipynb", "code/study/helper.py"}
    req = airlock.run(req.id)
    assert req.state == "awaiting-review", airlock.run_log(req.id)
    status = {r["path"]: r["status"] for r in req.checks}
    assert status["persons_by_sex.csv"] == "pass", req.checks
    with pytest.raises(Refused):
        airlock.review("alice", req.id, "approve", "mine")
    # The outbox is kept read-only in the project workspace too.
    outbox = list_files(engine, airlock.cfg.project_volume(PROJECT), f"promotions/{req.id}/outbox")
    assert "outbox/persons_by_sex.csv" in outbox
    req = airlock.review("sam", req.id, "approve", "aggregates of many persons")
    assert req.state == "released"
    home = list_files(engine, airlock.cfg.home_volume("alice"), f"results/{req.id}")
    released = {k.split("/", 1)[1] for k in home}
    assert "persons_by_sex.csv" in released and "RELEASE-RECEIPT.json" in released
    receipt = json.loads(home[f"{req.id}/RELEASE-RECEIPT.json"])
    assert receipt["decision"] == "approve" and receipt["image_id"] == req.image_id
    assert receipt["notebooks"][0]["sha256"] == req.files[0]["sha256"]
    assert airlock.audit.verify().ok


def test_small_cells_and_person_ids_are_caught_and_rejected_outputs_stay(airlock, engine):
    req = airlock.run(airlock.submit("alice", PROJECT, ["small.ipynb"]).id)
    assert req.state == "awaiting-review", airlock.run_log(req.id)
    status = {r["path"]: r for r in req.checks}
    assert status["deaths.csv"]["status"] == "flag"
    assert {f["rule"] for f in status["deaths.csv"]["findings"]} == {"small-count"}
    assert status["small.ipynb"]["status"] == "block"
    assert "person-id" in {f["rule"] for f in status["small.ipynb"]["findings"]}
    airlock.review("bob", req.id, "reject", "small cells; suppress and resubmit")
    assert list_files(engine, airlock.cfg.home_volume("alice"), "results") == {}


def test_contract_stops_a_missing_column(airlock, engine):
    with pytest.raises(Invalid) as e:
        airlock.submit("alice", PROJECT, ["missing.ipynb"])
    assert "bef.income_decile" in str(e.value)
    assert airlock.list() == []
    assert list_files(engine, airlock.cfg.project_volume(PROJECT), "promotions") == {}


@pytest.mark.parametrize(
    "paths, message",
    [
        (["escape.ipynb"], "link"),
        (["link/passwd"], "link"),
        (["../x.ipynb"], "'..'"),
        (["/etc/passwd"], "absolute"),
        (["nothing.ipynb"], "no such file"),
        (["study2"], "is a link"),
    ],
)
def test_bad_selections_are_refused_and_audited(airlock, paths, message):
    with pytest.raises(Invalid) as e:
        airlock.submit("alice", PROJECT, paths)
    assert message in str(e.value)
    last = list(airlock.audit.entries())[-1]
    assert last.action == "promotion.submit" and last.outcome == "refused"


def test_no_permission_no_promotion(airlock):
    with pytest.raises(Refused, match="not a member"):
        airlock.submit("mallory", PROJECT, ["study"])


def test_failing_and_hanging_notebooks_end_clearly(airlock, engine):
    airlock.cfg.timeout_seconds = 25
    failed = airlock.run(airlock.submit("alice", PROJECT, ["fails.ipynb"]).id)
    assert failed.state == "failed" and "the analysis broke" in airlock.run_log(failed.id)
    hung = airlock.run(airlock.submit("alice", PROJECT, ["hangs.ipynb"]).id)
    assert hung.state == "timed-out" and "time limit" in airlock.run_log(hung.id)
    assert not engine.containers.list(all=True, filters={"name": f"{airlock.cfg.prefix}-promote"})
    with pytest.raises(Exception, match="failed"):
        airlock.review("sam", failed.id, "approve", "x")
    assert AuditLog(airlock.engine, migrate=False).verify().ok


def test_huge_binary_linked_and_hidden_outputs_are_blocked_not_lost(airlock, engine):
    put_files(engine, airlock.cfg.home_volume("alice"), {"bad.ipynb": nbs.BAD_OUTPUTS})
    airlock.cfg.check.max_file_bytes = 100_000
    req = airlock.run(airlock.submit("alice", PROJECT, ["bad.ipynb"]).id)
    assert req.state == "awaiting-review", airlock.run_log(req.id)
    status = {
        r["path"]: (r["status"], r["findings"][0]["rule"] if r["findings"] else "")
        for r in req.checks
    }
    assert status["ok.csv"] == ("pass", "")
    assert status["huge.csv"] == ("block", "not-copied")
    assert status["data.parquet"] == ("block", "binary")
    assert status["restricted-link"] == ("block", "not-copied")
    assert status[".hidden.csv"] == ("block", "not-copied")
    req = airlock.review("sam", req.id, "approve", "only the passing file")
    home = list_files(engine, airlock.cfg.home_volume("alice"), f"results/{req.id}")
    assert {k.split("/", 1)[1] for k in home} == {"ok.csv", "bad.ipynb", "RELEASE-RECEIPT.json"}
    receipt = json.loads(home[f"{req.id}/RELEASE-RECEIPT.json"])
    assert set(receipt["withheld"]) >= {"huge.csv", "data.parquet", "restricted-link"}


def test_what_runs_is_the_hashed_snapshot_not_the_workspace(airlock, engine):
    req = airlock.submit("alice", PROJECT, ["study"])
    fake = nbs.notebook('open(f"{output_dir}/tampered.csv", "w").write("a,n\\nx,100\\n")')
    # In the secure server the researcher owns the workspace root: swap the snapshot folder.
    engine.containers.run(
        "hdss/singleuser:latest",
        ["sh", "-c", f"mv promotions promotions-old && mkdir -p promotions/{req.id}/code/study"],
        entrypoint=[],
        user="1000:100",
        working_dir="/home/jovyan",
        remove=True,
        network_mode="none",
        volumes={airlock.cfg.project_volume(PROJECT): {"bind": "/home/jovyan", "mode": "rw"}},
    )
    put_files(
        engine,
        airlock.cfg.project_volume(PROJECT),
        {f"promotions/{req.id}/code/study/aggregate.ipynb": fake},
    )
    req = airlock.run(req.id)
    assert req.state == "awaiting-review", airlock.run_log(req.id)
    assert "persons_by_sex.csv" in {r["path"] for r in req.checks}
    assert "tampered.csv" not in {r["path"] for r in req.checks}


def test_nothing_is_released_once_the_permission_ended(airlock, engine):
    req = airlock.run(airlock.submit("alice", PROJECT, ["study"]).id)
    (perm,) = airlock.ledger.list(project_id=PROJECT)
    airlock.ledger.revoke(perm.id, "project closed", steward="sam")
    with pytest.raises(Exception, match="revoked"):
        airlock.review("sam", req.id, "approve", "fine")
    assert list_files(engine, airlock.cfg.home_volume("alice"), "results") == {}
    assert airlock.review("sam", req.id, "reject", "permission ended").state == "rejected"


def test_a_restart_fails_interrupted_runs_and_removes_their_containers(airlock, engine):
    req = airlock.submit("alice", PROJECT, ["study"])
    airlock._update(req.id, state="running")
    engine.containers.create(
        "hdss/singleuser:latest",
        ["true"],
        entrypoint=[],
        name=f"{airlock.cfg.prefix}-promote-{req.id}",
        labels={"hdss.promotion": "run"},
    )
    airlock.recover()
    assert airlock.get(req.id).state == "failed"
    assert "restarted" in airlock.get(req.id).run_outcome
    assert not engine.containers.list(all=True, filters={"name": airlock.cfg.prefix})


# -- bounded runs: disk, memory, time and output limits (promotion.run_limits) -------------

RUN_LIMITS = {"disk_limit": "16M", "mem_limit": "600M", "cpus": 1.0, "output_limit": "4M"}
WRITE = 'open({where}, "w").write("x" * ({mib} << 20))'
PLACES = ["/", "/home/jovyan", "/opt", "/opt/promotion/code", "/var/tmp", "/etc", "/run",
          "/data/restricted", "/tmp", "/dev/shm", "OUTBOX"]  # fmt: skip
PROBE_WRITES = nbs.notebook(
    "import os\nrows = []\n"
    f"for place in {PLACES!r}:\n"
    "    place = output_dir if place == 'OUTBOX' else place\n"
    "    try:\n"
    "        open(os.path.join(place, 'probe.txt'), 'w').write('x')\n"
    "        rows.append((place, 'writable'))\n"
    "    except OSError as e:\n"
    "        rows.append((place, type(e).__name__ + ' ' + str(e.errno)))\n"
    "open(os.path.join(output_dir, 'places.csv'), 'w').write(\n"
    "    'place,result\\n' + ''.join(f'{p},{r}\\n' for p, r in rows))\n"
)


def bounded(airlock, seconds: int = 90) -> Airlock:
    for key, value in RUN_LIMITS.items():
        setattr(airlock.cfg, key, value)
    airlock.cfg.timeout_seconds = seconds
    return airlock


def assert_nothing_kept_or_released(airlock, engine, req) -> None:
    """A run over a limit: no checks, no outbox anywhere, nothing to review or release."""
    assert req.checks is None
    outbox = airlock.outbox_dir(req.id)
    assert not outbox.exists() or not any(outbox.iterdir())
    workspace = list_files(engine, airlock.cfg.project_volume(PROJECT), f"promotions/{req.id}")
    assert not [p for p in workspace if p.startswith("outbox/")], workspace
    with pytest.raises(Conflict):
        airlock.review("sam", req.id, "approve", "release whatever there is")
    assert list_files(engine, airlock.cfg.home_volume("alice"), "results") == {}
    last = [e for e in airlock.audit.entries() if e.action == "promotion.run"][-1]
    assert last.target == f"promotion:{req.id}" and last.outcome == req.state
    assert last.details["limit"] in ("disk", "memory", "seconds", "output")
    assert not engine.containers.list(all=True, filters={"name": f"{airlock.cfg.prefix}-promote"})
    assert airlock.audit.verify().ok


def submit_and_run(airlock, engine, name: str, notebook: bytes):
    put_files(engine, airlock.cfg.home_volume("alice"), {name: notebook})
    return airlock.run(airlock.submit("alice", PROJECT, [name]).id)


def test_positive_control_a_normal_run_under_the_limits_reaches_review(airlock, engine):
    req = bounded(airlock).run(airlock.submit("alice", PROJECT, ["study"]).id)
    assert req.state == "awaiting-review", airlock.run_log(req.id)
    assert {r["path"]: r["status"] for r in req.checks}["persons_by_sex.csv"] == "pass"
    req = airlock.review("sam", req.id, "approve", "aggregates of many persons")
    home = list_files(engine, airlock.cfg.home_volume("alice"), f"results/{req.id}")
    assert f"{req.id}/persons_by_sex.csv" in home


def test_a_run_writes_only_to_its_bounded_tmpfs_mounts(airlock, engine):
    req = submit_and_run(bounded(airlock), engine, "places.ipynb", PROBE_WRITES)
    assert req.state == "awaiting-review", airlock.run_log(req.id)
    rows = (airlock.outbox_dir(req.id) / "places.csv").read_text().splitlines()[1:]
    writable = {p for p, r in (row.split(",") for row in rows) if r == "writable"}
    assert writable == {"/tmp", "/dev/shm", "/opt/promotion/outbox"}, rows


@pytest.mark.abuse
@pytest.mark.parametrize(
    "where, place",
    [("f'{output_dir}/big.csv'", "its outbox"), ("'/tmp/big.bin'", "its scratch space /tmp")],
)
def test_a_run_that_fills_its_disk_fails_naming_the_limit_and_releases_nothing(
    airlock, engine, where, place
):
    notebook = nbs.notebook(
        'open(f"{output_dir}/partial.csv", "w").write("a,n\\nx,100\\n")',
        WRITE.format(where=where, mib=64),
    )
    req = submit_and_run(bounded(airlock), engine, "fill.ipynb", notebook)
    assert req.state == "failed", airlock.run_log(req.id)
    assert "promotion.run_limits.disk = 16M" in req.run_outcome and place in req.run_outcome
    assert "promotion.run_limits.disk" in airlock.run_log(req.id, full=False)
    assert_nothing_kept_or_released(airlock, engine, req)


@pytest.mark.abuse
def test_a_run_that_allocates_past_its_memory_fails_naming_memory(airlock, engine):
    notebook = nbs.notebook(
        'open(f"{output_dir}/partial.csv", "w").write("a,n\\nx,100\\n")',
        'hog = b"x" * (2 << 30)',
    )
    req = submit_and_run(bounded(airlock), engine, "hog.ipynb", notebook)
    assert req.state == "failed", airlock.run_log(req.id)
    assert "promotion.run_limits.memory = 600M" in req.run_outcome
    assert_nothing_kept_or_released(airlock, engine, req)


@pytest.mark.abuse
def test_a_run_that_sleeps_past_its_time_fails_naming_seconds(airlock, engine):
    notebook = nbs.notebook(
        'open(f"{output_dir}/partial.csv", "w").write("a,n\\nx,100\\n")',
        "import time\ntime.sleep(600)",
    )
    req = submit_and_run(bounded(airlock, seconds=15), engine, "sleeps.ipynb", notebook)
    assert req.state == "timed-out", airlock.run_log(req.id)
    assert "promotion.run_limits.seconds = 15" in req.run_outcome
    assert_nothing_kept_or_released(airlock, engine, req)


@pytest.mark.abuse
def test_an_outbox_over_the_output_bound_is_not_copied_out(airlock, engine):
    notebook = nbs.notebook(WRITE.format(where="f'{output_dir}/big.csv'", mib=8))
    req = submit_and_run(bounded(airlock), engine, "big.ipynb", notebook)
    assert req.state == "failed", airlock.run_log(req.id)
    assert "promotion.run_limits.output = 4M" in req.run_outcome
    assert_nothing_kept_or_released(airlock, engine, req)


# -- researchers see no restricted value before release -------------------------------------

LEAK_PROJECT = "leak-2026"
# Every way a notebook could push a value to the researcher before release: progress-like
# lines on stdout and stderr (also past the kernel, on the exec's own stderr), a file named
# after it, a table headed by it, a finding about it, HTML and free text holding it.
OPEN_MARKER = (
    "import hdss_data, os, sys\nimport pandas as pd\nfrom pathlib import Path\n"
    "con = hdss_data.open_dataset(data_root)\n"
    "m = con.execute(\"select c_dod1 from dodsaars where c_dod1 like 'quokka-%'\").fetchone()[0]\n"
)
LEAKS = nbs.notebook(
    OPEN_MARKER
    + 'print("== " + m)\nprint("Executing Cell 1 " + m)\n'
    + 'os.write(2, ("== papermill " + m + "\\n").encode())\n'
    + 'sys.stderr.write("ValueError: " + m + "\\n")\n'
    + "out = Path(output_dir)\n"
    + '(out / f"{m}.csv").write_text("region,n\\nnord,3\\n")\n'
    + 'pd.DataFrame({m: [3, 4]}, index=["a", "b"]).to_csv(out / "by_value.csv")\n'
    + '(out / "note.txt").write_text(m)\n'
    + "from IPython.display import HTML, display\n"
    + 'display(HTML(f"<TABLE><TR><TH>cause</TH><TH>n</TH></TR><TR><TD>{m}</TD><TD>3</TD>'
    + '</TR></TABLE>"))\n'
)
FAILS_WITH_VALUE = nbs.notebook(OPEN_MARKER + "raise ValueError(m)")


@pytest.mark.abuse
def test_a_planted_value_reaches_no_researcher_before_release(airlock, engine):
    from tests.promotion.conftest import MARKER
    from tests.promotion.test_web import as_user, serving

    airlock.ledger.log(
        permission_body(LEAK_PROJECT, ["alice"], ["dk-marker"], "SDS-9", "Research approval"),
        steward="steve",
    )
    engine.volumes.create(airlock.cfg.project_volume(LEAK_PROJECT))
    put_files(
        engine,
        airlock.cfg.home_volume("alice"),
        {"leaks.ipynb": LEAKS, "fails.ipynb": FAILS_WITH_VALUE},
    )
    req = airlock.run(airlock.submit("alice", LEAK_PROJECT, ["leaks.ipynb"]).id)
    assert req.state == "awaiting-review", airlock.run_log(req.id)
    failed = airlock.run(airlock.submit("alice", LEAK_PROJECT, ["fails.ipynb"]).id)
    assert failed.state == "failed", airlock.run_log(failed.id)
    with serving(airlock) as server:
        base = f"{server.url}/services/promotion/"

        def read(path: str, user: str) -> str:
            r = requests.get(base + path, headers=as_user(user), timeout=60)
            assert r.status_code == 200, (path, r.status_code, r.text[:500])
            return r.text

        researcher = {
            path: read(path, "alice")
            for path in (
                "api/requests",
                f"api/requests/{req.id}",
                f"api/requests/{req.id}/log",
                f"api/requests/{failed.id}",
                f"api/requests/{failed.id}/log",
                "",
                f"requests/{req.id}",
                f"requests/{failed.id}",
            )
        }
        # Positive control: the value is there, and a data steward sees it.
        steward_page = read(f"requests/{req.id}", "steve")
        assert MARKER in steward_page and f"<td>{MARKER}</td>" in steward_page
        assert MARKER in read(f"api/requests/{req.id}/log", "steve")
        assert MARKER in read(f"api/requests/{failed.id}/log", "steve")
        assert MARKER in read(f"api/requests/{req.id}", "steve")  # the file named after it
        r = requests.post(
            f"{base}api/requests/{req.id}/review",
            headers=as_user("sam"),
            json={"decision": "approve", "reason": "only what passed"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        researcher["released"] = read(f"api/requests/{req.id}", "alice")
    for where, text in researcher.items():
        assert MARKER not in text, where
    log = researcher[f"api/requests/{req.id}/log"]
    assert "notebook 1 of 1 (leaks.ipynb): finished" in log
    assert "failed" in researcher[f"api/requests/{failed.id}/log"]
    # The receipt in the sandbox home holds no value either; withheld files are named by
    # position (one was named after the value).
    home = list_files(engine, airlock.cfg.home_volume("alice"), f"results/{req.id}")
    receipt = home[f"{req.id}/RELEASE-RECEIPT.json"].decode()
    assert MARKER not in receipt and not [name for name in home if MARKER in name]
    assert any(w.startswith("output file ") for w in json.loads(receipt)["withheld"])


# -- two-person rule and differencing, on the real engine -----------------------------------

BY_SEX = (
    'df = con.execute("select koen, count(distinct pnr) as n from bef where aar = 2015 {extra}'
    'group by koen order by koen").df()\n'
    'df.to_csv(Path(output_dir) / "{name}", index=False)\n'
)
ALL_BY_SEX = nbs.notebook(nbs.OPEN + BY_SEX.format(extra="", name="by_sex.csv"))
# The same table without three persons: set beside the released one, it reveals them.
LESS_THREE = nbs.notebook(
    nbs.OPEN
    + BY_SEX.format(
        extra="and pnr not in (select pnr from bef where aar = 2015 order by pnr limit 3) ",
        name="by_sex_less.csv",
    )
)


@pytest.mark.abuse
def test_two_stewards_release_and_a_later_table_differing_by_a_few_persons_is_flagged(
    airlock, engine
):
    airlock.cfg.reviewers_required = 2
    put_files(
        engine,
        airlock.cfg.home_volume("alice"),
        {"all.ipynb": ALL_BY_SEX, "less.ipynb": LESS_THREE},
    )
    first = airlock.run(airlock.submit("alice", PROJECT, ["all.ipynb"]).id)
    assert first.state == "awaiting-review", airlock.run_log(first.id)
    assert {r["path"]: r["status"] for r in first.checks}["by_sex.csv"] == "pass", first.checks
    half = airlock.review("sam", first.id, "approve", "aggregates of many persons")
    assert half.state == "awaiting-review" and half.review_progress == "1 of 2 approvals"
    assert list_files(engine, airlock.cfg.home_volume("alice"), "results") == {}
    with pytest.raises(Refused):
        airlock.review("sam", first.id, "approve", "again")
    done = airlock.review("steve", first.id, "approve", "agreed")
    assert done.state == "released" and [a["steward"] for a in done.approvals] == ["sam", "steve"]
    assert f"{first.id}/by_sex.csv" in list_files(
        engine, airlock.cfg.home_volume("alice"), f"results/{first.id}"
    )
    # The table without three persons passes every other check, and is flagged here.
    second = airlock.run(airlock.submit("alice", PROJECT, ["less.ipynb"]).id)
    report = {r["path"]: r for r in second.checks}["by_sex_less.csv"]
    assert report["status"] == "flag", second.checks
    (finding,) = report["findings"]
    assert finding["rule"] == "differencing" and "by_sex.csv" in finding["detail"]
    outcomes = [(e.actor, e.action, e.outcome) for e in airlock.audit.entries()]
    assert ("sam", "promotion.approve", "approved") in outcomes
    assert ("steve", "promotion.approve", "released") in outcomes
    assert airlock.audit.verify().ok


# -- acro: its own results read from the outbox ---------------------------------------------


def test_a_course_notebook_using_acro_has_acros_results_beside_ours(airlock, engine):
    from tests.promotion.test_web import as_user, serving

    course = Path(__file__).resolve().parents[2] / "notebooks" / "06_release.ipynb"
    put_files(
        engine, airlock.cfg.home_volume("alice"), {"course/06_release.ipynb": course.read_bytes()}
    )
    req = airlock.run(airlock.submit("alice", PROJECT, ["course/06_release.ipynb"]).id)
    assert req.state == "awaiting-review", airlock.run_log(req.id)
    (res,) = req.acro
    assert res["path"] == "acro/results.json" and res["version"] == "1.0.2"
    table = next(o for o in res["outputs"] if o["id"] == "output_0")
    assert table["method"] == "crosstab" and table["files"][0]["path"] == "acro/output_0_0.csv"
    # Our checks ran on every file, acro's too; acro's checker-only summaries are blocked.
    status = {r["path"]: r for r in req.checks}
    assert "acro/output_0_0.csv" in status and "first_mi_by_age_and_period.csv" in status
    summary = status["acro/session_summary.json"]
    assert summary["status"] == "block"
    assert "acro-do-not-release" in {f["rule"] for f in summary["findings"]}
    with serving(airlock) as server:
        base = f"{server.url}/services/promotion/"
        page = requests.get(f"{base}requests/{req.id}", headers=as_user("steve"), timeout=60)
        assert "own checks (made in the notebook" in page.text and "crosstab" in page.text
        mine = requests.get(f"{base}api/requests/{req.id}", headers=as_user("alice"), timeout=60)
        assert mine.json()["acro"] is None
