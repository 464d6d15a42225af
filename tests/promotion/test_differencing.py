"""Differencing: a table that, set against one released for the project, reveals a small
group is flagged (no Docker; the end-to-end run is in test_airlock_docker.py)."""

from __future__ import annotations

import json

import nbformat
import pytest
from hdss_hub.promotion import differencing
from hdss_hub.promotion.differencing import Released, check, tables_of
from hdss_hub.promotion.workspace import File
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.promotion.test_web import seeded_airlock

BY_REGION = b"region,n\nnord,1200\nsyd,980\nost,1510\n"


def released(data: bytes = BY_REGION, path: str = "by_region.csv") -> Released:
    (table,) = tables_of(path, data)
    return Released(7, path, table.where, table.header, table.rows)


def findings(path: str, data: bytes, old: list[Released], threshold: int = 5) -> list[dict]:
    return check({path: tables_of(path, data)}, old, threshold).get(path, [])


@pytest.mark.abuse
def test_a_total_without_a_small_subgroup_is_flagged():
    # The same counts without the persons aged 90+: nord lost 2 of them.
    (f,) = findings("without_90.csv", b"region,n\nnord,1198\nsyd,975\nost,1510\n", [released()])
    assert f["rule"] == "differencing" and f["severity"] == "flag" and f["where"] == "table 1"
    assert "by_region.csv" in f["detail"] and "request 7" in f["detail"]
    assert "'nord'" in f["detail"] and "1200 vs 1198" in f["detail"]


@pytest.mark.abuse
def test_a_grand_total_and_one_less_is_flagged():
    old = released(b"n\n5003\n", "total.csv")
    assert [f["rule"] for f in findings("t.csv", b"n\n5000\n", [old])] == ["differencing"]


@pytest.mark.abuse
def test_semicolons_and_row_order_do_not_hide_it():
    data = b"region;n\nost;1510\nsyd;980\nnord;1197\n"
    assert [f["rule"] for f in findings("t.csv", data, [released()])] == ["differencing"]


@pytest.mark.parametrize(
    "data",
    [
        BY_REGION,  # the same table again: nothing new is revealed
        b"region,n\nnord,1100\nsyd,900\nost,1400\n",  # every difference 5 or more
        b"region,mean_age\nnord,54.3\nsyd,54.1\nost,49.9\n",  # no counts in common
        b"age,n\n50,1200\n",  # other rows
    ],
)
def test_positive_control_tables_that_reveal_no_small_group_pass(data):
    assert findings("t.csv", data, [released()]) == []


def test_years_are_labels_not_counts():
    old = released(b"year,n\n2015,800\n2016,810\n", "years.csv")
    assert findings("t.csv", b"year,n\n2016,810\n2017,820\n", [old]) == []
    assert findings("t.csv", b"year,n\n2016,808\n2017,820\n", [old]) != []


def notebook_with(html: str) -> bytes:
    nb = new_notebook()
    nb.cells = [
        new_code_cell("1"),
        new_code_cell("df", outputs=[new_output("execute_result", {"text/html": html})]),
    ]
    return nbformat.writes(nb).encode()


@pytest.mark.abuse
def test_a_notebooks_html_table_is_set_against_a_released_file():
    html = (
        '<TABLE class="dataframe"><THEAD><TR><TH></TH><TH>n</TH></TR>'
        "<TR><TH>region</TH><TH></TH></TR></THEAD><TBODY>"
        "<TR><TH>nord</TH><TD>1201</TD></TR><TR><TH>syd</TH><TD>980</TD></TR></TBODY></TABLE>"
    )
    (f,) = findings("study.ipynb", notebook_with(html), [released()])
    assert f["where"] == "cell 2, table 1"


def test_the_airlock_keeps_released_tables_and_flags_a_later_difference(tmp_path):
    airlock = seeded_airlock(tmp_path)
    req = airlock.get(1)
    (airlock.outbox_dir(1) / "by_region.csv").write_bytes(BY_REGION)
    airlock._keep_tables(req, [{"path": "by_region.csv"}])
    (kept,) = airlock.released_tables("p-1")
    assert (kept.request_id, kept.path, kept.header) == (1, "by_region.csv", ["region", "n"])
    assert airlock.released_tables("other-1") == []
    new = File("again.csv", b"region,n\nnord,1199\nsyd,980\nost,1510\n")
    ok = File("ok.csv", b"region,n\nnord,1200\nsyd,980\nost,1510\n")
    checked = [
        {"path": f.path, "size": 1, "sha256": "", "status": "pass", "findings": []}
        for f in (new, ok)
    ]
    out = airlock._differencing("p-1", [new, ok], checked, 2)
    assert out[0]["status"] == "flag" and out[0]["findings"][0]["rule"] == "differencing"
    assert out[1] == checked[1]  # the released table again; the flagged one stays in
    assert json.dumps(out)  # stored as JSON
    assert differencing.RULE == "differencing"
    airlock.engine.dispose()
    airlock.ledger.engine.dispose()


@pytest.mark.abuse
def test_a_total_and_the_total_without_a_subgroup_in_one_request_are_caught():
    everyone = b"region,n\nnord,1200\nsyd,980\n"
    without = b"region,n\nnord,1197\nsyd,980\n"
    outputs = {"a.csv": tables_of("a.csv", everyone), "b.csv": tables_of("b.csv", without)}
    found = check(outputs, [], 5, request_id=3, passing={"a.csv", "b.csv"})
    (f,) = found["b.csv"]  # the later one: a.csv can still be released alone
    assert "a.csv" not in found and "earlier in this request" in f["detail"]
    # An earlier table that will not be released (flagged by another check) discloses
    # nothing beside the later one.
    assert check(outputs, [], 5, request_id=3, passing={"b.csv"}) == {}
    # Positive control: the same table twice (a notebook's HTML and its CSV) is fine.
    same = {"a.csv": tables_of("a.csv", everyone), "c.csv": tables_of("c.csv", everyone)}
    assert check(same, [], 5, request_id=3, passing={"a.csv", "c.csv"}) == {}
