"""The adversarial corpus (tests/promotion/corpus.py) against the checker.

Every outbox of the corpus discloses through one channel and must be caught by the Python
API the service uses (``check_outbox``); its safe twin, the same channel with a safe
value, must pass. A sample is run through the installed command ``hdss-airlock check`` as
a researcher would, in a subprocess. Bad input (an unreadable notebook, an unknown
encoding, a folder holding links) blocks with a finding on the file, and findings never
put a value where a researcher may look: positions are numbers and fixed words.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hdss_airlock import BLOCK, FLAG, ORDER, PARTS, PASS, Settings, check_file, check_outbox

from tests.conftest import VENV_BIN
from tests.promotion.corpus import BY_NAME, CASES, SAFE, Outbox, nb_outbox, safe_twin

CFG = Settings(threshold=5, max_table_rows=500)
CLI = VENV_BIN / "hdss-airlock"
# Positions only: numbers, fixed words and the MIME types of PARTS.
SAFE_WHERE = re.compile(r"^[a-z0-9 ,()/+.-]*$")


def check(outbox: Outbox, **kw) -> tuple[str, set[str], list]:
    reports = check_outbox(list(outbox.items()), CFG, **kw)
    status = max((r.status for r in reports), key=ORDER.__getitem__, default=PASS)
    rules = {f.rule for r in reports for f in r.all_findings()}
    return status, rules, reports


def write(outbox: Outbox, root: Path) -> Path:
    for name, data in outbox.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    cmd = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "hdss_airlock"]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_the_corpus_is_large_and_every_case_has_one_channel():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({c.channel for c in CASES}) >= 25


@pytest.mark.abuse
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_disclosure_is_caught(case):
    status, rules, reports = check(case.make(case.bad))
    assert case.rule in rules, (case.channel, rules)
    assert ORDER[status] >= ORDER[case.status], (status, rules)


@pytest.mark.parametrize("case", [c for c in CASES if c.safe is not None], ids=lambda c: c.name)
def test_its_safe_twin_passes(case):
    """Positive control: the same channel with a safe value raises nothing (a figure
    still goes to a person)."""
    status, rules, reports = check(safe_twin(case))
    assert rules <= case.twin_rules, [
        (f.rule, f.where, f.detail) for r in reports for f in r.findings
    ]


@pytest.mark.parametrize("name", sorted(SAFE))
def test_safe_aggregates_pass(name):
    status, rules, reports = check(SAFE[name])
    assert status == PASS, [
        (r.path, f.rule, f.where, f.detail) for r in reports for f in r.findings
    ]


@pytest.mark.abuse
def test_a_notebook_written_by_the_run_is_read_whole_even_beside_the_code():
    """The snapshot's own cells are the researcher's; a notebook the run wrote with a
    markdown cell of its own is read as output, whatever code= says."""
    case = BY_NAME["markdown-cell-written-by-code"]
    submitted = nb_outbox(*[{"cell_type": "markdown", "metadata": {}, "source": "# Analysis"}])
    status, rules, _ = check(case.make(3), code=list(submitted.values()))
    assert "small-number-in-text" in rules
    # positive control: the same cell, when it is the researcher's own, is not an output
    own = case.make(3)
    status, rules, _ = check(own, code=list(own.values()))
    assert status == PASS, rules


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_findings_show_positions_only(case):
    """What a researcher may see (rule, severity, position, where) holds no header, value
    or file name: those are in ``detail`` only."""
    _, _, reports = check(case.make(case.bad))
    for report in reports:
        data = report.to_json()
        assert set(data) == {"path", "size", "sha256", "status", "findings"}
        for f in data["findings"]:
            assert set(f) == {"rule", "severity", "where", "position", "detail"}
            assert f["severity"] in (FLAG, BLOCK)
            assert re.fullmatch(r"[a-z][a-z-]*", f["rule"])
            assert SAFE_WHERE.match(f["where"]), f["where"]
            pos = f["position"]
            assert set(pos) <= {"part", "cell", "output", "table", "row", "column", "line"}
            assert all(isinstance(v, int) and v >= 0 for k, v in pos.items() if k != "part")
            assert pos.get("part") in PARTS | {None}
            for secret in ("R92CW9282A", "r92cw9282a", "Læsø", "deaths_per_year", "North"):
                assert secret not in f["where"] and secret not in json.dumps(pos)


def test_a_finding_keeps_its_place_apart_from_its_detail():
    report = check_file("t.csv", b"region,deaths_on_Laesoe\nNorth,3\nSouth,812\n", CFG)
    (finding,) = report.findings
    assert finding.to_json() == {
        "rule": "small-count",
        "severity": "flag",
        "where": "row 1, column 2",
        "position": {"part": "table", "row": 1, "column": 2},
        "detail": "count 3 is below 5",
    }
    nb = check_file("a.ipynb", BY_NAME["html-upper-case-table"].make(3)["analysis.ipynb"], CFG)
    (finding,) = nb.findings
    assert finding.position.to_json() == {
        "part": "text/html",
        "cell": 1,
        "output": 1,
        "table": 1,
        "row": 1,
        "column": 3,
    }
    assert finding.where == "cell 1, output 1 (text/html), table 1, row 1, column 3"


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "rule"),
    [
        ("broken.ipynb", b'{"cells": [', "unreadable"),
        ("nocells.ipynb", b'{"metadata": {}}', "unreadable"),
        ("v3.ipynb", b'{"worksheets": [{"cells": []}], "metadata": {}}', "unreadable"),
        ("latin1.csv", "region,antal\nSønderborg,812\n".encode("latin-1"), "encoding"),
        ("utf16.csv", "region,n\nA,812\n".encode("utf-16-le"), "binary"),
        ("data.xyz", b"region,n\nA,812\n", "unknown-type"),
        ("fig.png", b"\x89PNG", "binary"),
        ("table.csv", b"region,n\x00\x00\x01", "binary"),
        ("notes.xlsx", b"PK\x03\x04rest", "binary"),
    ],
)
def test_bad_input_blocks_naming_the_file(name, data, rule):
    report = check_file(name, data, CFG)
    assert report.status == BLOCK
    assert report.path == name
    assert rule in {f.rule for f in report.findings}


def test_nothing_passes_by_default():
    """An output type, a cell type or a file type the checks do not know blocks."""
    nb = nb_outbox(
        {"cell_type": "code", "source": "x", "metadata": {}, "outputs": [{"output_type": "magic"}]}
    )
    assert check(nb)[0] == BLOCK
    nb = nb_outbox({"cell_type": "mystery", "source": "x", "metadata": {}})
    assert check(nb)[0] == BLOCK
    for name in ("model.pkl", "x.parquet", "a.sqlite", "run.py", "data.xml", "README"):
        assert check_file(name, b"\x80\x04K\x03.", CFG).status == BLOCK, name


# -- the command ----------------------------------------------------------------------------

CLI_SAMPLE = [
    "html-upper-case-table",
    "markdown-cell-written-by-code",
    "widget-state-grid",
    "stdout-n-colon",
    "count-in-first-column",
    "rate-with-population",
    "ids-in-header-row",
    "semicolon-separated",
    "rows-split-across-files",
    "unknown-mime-type",
    "compressed-file",
]


@pytest.mark.abuse
@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_the_command_catches_what_the_service_catches(name, tmp_path):
    case = BY_NAME[name]
    outbox = write(case.make(case.bad), tmp_path / "outbox")
    done = run_cli("check", "--json", outbox)
    assert done.returncode == 1, done.stderr
    answer = json.loads(done.stdout)
    rules = {f["rule"] for r in answer["files"] for f in r["findings"]}
    assert case.rule in rules
    api = check(case.make(case.bad))
    assert answer["status"] == api[0] and rules == api[1]
    text = run_cli("check", outbox)  # the plain report names the rule, severity and where
    assert text.returncode == 1 and case.rule in text.stdout and "outbox" in text.stdout


def test_the_command_passes_safe_outputs_with_exit_0(tmp_path):
    outbox = write({**SAFE["counts-by-sex"], **SAFE["incidence-table"]}, tmp_path / "outbox")
    done = run_cli("check", outbox)
    assert done.returncode == 0, done.stdout
    assert "2 file(s): 2 pass" in done.stdout


def test_the_threshold_is_an_option(tmp_path):
    outbox = write({"t.csv": b"region,n\nNorth,7\nSouth,812\n"}, tmp_path / "o")
    assert run_cli("check", outbox).returncode == 0
    assert run_cli("check", "--threshold", "10", outbox).returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["check"],
        ["check", "--threshold", "0", "x"],
        ["check", "/no/such/outbox"],
        ["lint", "x"],
    ],
)
def test_usage_errors_exit_2(args):
    assert run_cli(*args).returncode == 2


@pytest.mark.abuse
def test_a_folder_holding_links_blocks_each_link_by_name(tmp_path):
    outbox = write(SAFE["counts-by-sex"], tmp_path / "outbox")
    secret = tmp_path / "restricted.csv"
    secret.write_text("pnr,koen\nR92CW9282A,1\n")
    os.symlink(secret, outbox / "linked.csv")
    os.symlink(tmp_path, outbox / "linked-folder")
    (outbox / ".hidden.csv").write_text("region,n\nNorth,812\n")
    done = run_cli("check", "--json", outbox)
    assert done.returncode == 1
    by_path = {Path(r["path"]).name: r for r in json.loads(done.stdout)["files"]}
    for name, rule in (
        ("linked.csv", "link"),
        ("linked-folder", "link"),
        (".hidden.csv", "bad-name"),
    ):
        assert by_path[name]["status"] == BLOCK
        assert [f["rule"] for f in by_path[name]["findings"]] == [rule]
    assert by_path["persons_by_sex.csv"]["status"] == PASS  # positive control
    assert "R92CW9282A" not in done.stdout  # the link was not followed


def test_unreadable_and_special_files_block_by_name(tmp_path, monkeypatch):
    from hdss_airlock import check_paths, outbox

    root = write(
        {"t.csv": b"region,n\nNorth,812\n", "u.csv": b"region,n\nSouth,640\n"}, tmp_path / "o"
    )
    os.mkfifo(root / "pipe.csv")
    real_open = open

    def fake_open(path, *args, **kw):
        if str(path).endswith("u.csv"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kw)

    monkeypatch.setattr(outbox, "open", fake_open, raising=False)
    reports = {Path(r.path).name: r for r in check_paths([str(root)], CFG)}
    assert [f.rule for f in reports["u.csv"].findings] == ["unreadable"]
    assert [f.rule for f in reports["pipe.csv"].findings] == ["not-a-file"]
    assert reports["t.csv"].status == PASS  # positive control


def test_the_command_reads_the_code_like_the_service(tmp_path):
    """--code: the researcher's own markdown in an executed notebook is not an output."""
    own = nb_outbox({"cell_type": "markdown", "metadata": {}, "source": "Step 3 of 4: deaths"})
    outbox = write(own, tmp_path / "outbox")
    code = write(own, tmp_path / "code")
    assert run_cli("check", outbox).returncode == 1
    assert run_cli("check", "--code", code, outbox).returncode == 0
