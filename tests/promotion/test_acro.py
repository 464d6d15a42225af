"""acro's own results read from an outbox and shown to the steward beside ours (no Docker).

The results are made by acro itself (installed here as in the single-user image), on a
small frame with cells below acro's threshold.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from hdss_hub.promotion import acroresults
from hdss_hub.promotion.workspace import File

from tests.ledger.helpers import as_user
from tests.promotion.test_web import PREFIX, call, seeded_airlock, serving


def acro_outbox(tmp_path: Path, suppress: bool) -> list[File]:
    """An outbox holding acro's finalised folder ``acro/`` for one crosstab."""
    from acro import ACRO

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "age_group": rng.choice(
                ["<50", "50-64", "65-79", "80+"], 300, p=[0.02, 0.3, 0.4, 0.28]
            ),
            "sex": rng.choice(["F", "M"], 300),
        }
    )
    outbox = tmp_path / "outbox"
    outbox.mkdir(parents=True)
    with warnings.catch_warnings():  # acro's own pandas warnings (code we cannot change)
        warnings.simplefilter("ignore")
        session = ACRO(suppress=suppress)
        session.crosstab(frame.age_group, frame.sex)
        session.finalise(str(outbox / "acro"), "json")
    return [
        File(str(p.relative_to(outbox)), p.read_bytes())
        for p in sorted(outbox.rglob("*"))
        if p.is_file()
    ]


def test_acros_results_are_read_with_its_verdict_per_output_and_file(tmp_path):
    (res,) = acroresults.read(acro_outbox(tmp_path, suppress=True))
    assert res["path"] == "acro/results.json" and res["version"] == "1.0.2"
    table = next(o for o in res["outputs"] if o["id"] == "output_0")
    assert table["type"] == "table" and table["method"] == "crosstab"
    assert table["status"] in ("review", "pass", "fail") and not table["do_not_release"]
    (f,) = table["files"]
    assert f["path"] == "acro/output_0_0.csv" and f["checks"]["MinimumThresholdCheck"] > 0
    assert "Suppression" in table["exception"]
    # acro's own session summaries are for the checker only: blocked.
    found = acroresults.findings([res])
    summaries = [p for p, fs in found.items() if fs[0]["rule"] == "acro-do-not-release"]
    assert summaries and all("session_summary" in p for p in summaries)


def test_a_table_acro_failed_is_flagged(tmp_path):
    (res,) = acroresults.read(acro_outbox(tmp_path, suppress=False))
    table = next(o for o in res["outputs"] if o["id"] == "output_0")
    assert table["status"] == "fail"
    (finding,) = acroresults.findings([res])["acro/output_0_0.csv"]
    assert finding["rule"] == "acro-fail" and finding["severity"] == "flag"
    assert "MinimumThresholdCheck" in finding["detail"]


@pytest.mark.parametrize(
    "data",
    [b"{not json", b'{"results": []}', b'{"other": 1}', b'{"tool": {"name": "x"}, "results": {}}'],
)
def test_other_results_files_are_not_taken_for_acros(data):
    assert acroresults.read([File("results.json", data)]) == []


def test_stewards_see_acros_results_beside_ours_and_researchers_do_not(tmp_path):
    (res,) = acroresults.read(acro_outbox(tmp_path / "a", suppress=True))
    airlock = seeded_airlock(tmp_path)
    airlock._update(1, acro=[res])
    with serving(airlock) as server:
        page = requests.get(f"{server.url}{PREFIX}requests/1", headers=as_user("steve"), timeout=10)
        assert "acro&#x27;s own checks" in page.text or "acro's own checks" in page.text
        assert "MinimumThresholdCheck" in page.text and "crosstab" in page.text
        steward = call(server, "GET", "/requests/1", "steve").json()
        assert steward["acro"][0]["outputs"][0]["id"] == "output_0"
        mine = call(server, "GET", "/requests/1", "alice").json()
        assert mine["acro"] is None
        page = requests.get(f"{server.url}{PREFIX}requests/1", headers=as_user("alice"), timeout=10)
        assert "MinimumThresholdCheck" not in page.text
    assert json.dumps(res)
