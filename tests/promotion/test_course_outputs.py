"""No false alarms on ordinary output: the course notebooks, run with papermill on the
``small`` synthetic dataset, are checked as the airlock checks a promotion's outbox.

What may fire is what a data steward would not release either: the person ids that
notebooks 01 and 02 show in ``cohort.head()``, the minima and maxima of notebook 04's
``describe()`` and of notebook 05's summary (``max_cci``), and figures, which always go
to a person. Anything else is a false alarm and fails the test, with where it fired.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import papermill
import pytest
from hdss_airlock import Settings, check_outbox

from tests.conftest import PROJECT_DIR, VENV_BIN

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted((PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# (notebook prefix, rule) a steward would raise too; figures go to a person by design.
TRUE_POSITIVES = {
    ("01", "person-id"),
    ("02", "person-id"),
    ("04", "min-max"),
    ("05", "min-max"),
}
BY_DESIGN = {"figure"}
# acro's own session files (a notebook that uses acro writes them): how the airlock reads
# them is acro's part of the airlock, not these checks'.
ACRO_FILES = "acro/"


@pytest.fixture(scope="module")
def course_outbox(tmp_path_factory) -> Path:
    """The course notebooks executed on a ``small`` dataset (seed 7), with their files."""
    data = tmp_path_factory.mktemp("small")
    cli = VENV_BIN / "hdss-dataset"
    cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "hdss_registers.cli"]
    subprocess.run(
        [*cmd, "generate", "--size", "small", "--seed", "7", "--out", str(data)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    outbox = tmp_path_factory.mktemp("outbox")
    for nb in NOTEBOOKS:
        try:
            papermill.execute_notebook(
                str(nb),
                str(outbox / nb.name),
                cwd=str(outbox),
                kernel_name="python3",
                parameters={"size": "small", "data_root": str(data), "output_dir": str(outbox)},
                progress_bar=False,
                execution_timeout=600,
            )
        except papermill.PapermillExecutionError:
            pass  # a notebook's own assertion failed: its outputs up to there are still checked
    return outbox


def findings(outbox: Path, **kw):
    files = [
        (p.relative_to(outbox).as_posix(), p.read_bytes())
        for p in sorted(outbox.rglob("*"))
        if p.is_file()
    ]
    reports = check_outbox(files, Settings(), **kw)
    return {(r.path, f.rule, f.where) for r in reports for f in r.all_findings()}


@pytest.mark.parametrize("with_code", [True, False], ids=["as-the-service", "command-without-code"])
def test_course_outputs_raise_no_false_alarm(course_outbox, with_code):
    code = [nb.read_bytes() for nb in NOTEBOOKS] if with_code else None
    found = findings(course_outbox, code=code)
    false_alarms = sorted(
        (path, rule, where)
        for path, rule, where in found
        if rule not in BY_DESIGN
        and (path[:2], rule) not in TRUE_POSITIVES
        and not path.startswith(ACRO_FILES)
    )
    assert not false_alarms
    # positive control: the true positives are found
    fired = {(path[:2], rule) for path, rule, _ in found}
    assert {("01", "person-id"), ("04", "min-max")} <= fired
