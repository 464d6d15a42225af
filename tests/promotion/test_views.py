"""What a researcher may see before release, and what a data steward reviews (no Docker).

A researcher gets rule names and positions only; a data steward sees every output as it
would be released, rendered safely, with the findings beside it.
"""

from __future__ import annotations

import base64
import json

import nbformat
import pytest
from hdss_hub.promotion import render
from hdss_hub.promotion.core import label_outputs
from hdss_hub.promotion.schemas import position_only, receipt_view
from hdss_hub.promotion.workspace import File
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

MARKER = "quokka-5f3e9a"


@pytest.mark.parametrize(
    "where, shown",
    [
        ("row 3, column 'n'", "row 3"),
        (f"cell 4, table 1, row 2, column 3 ({MARKER!r})", "cell 4, table 1, row 2, column 3"),
        (f"column {MARKER!r} header", "header"),
        (f'cell 2 "{MARKER}" stderr', "cell 2, stderr"),
        (f"{MARKER} 7", ""),
        ("", ""),
        ("Cell 12, Rows 3-5", "cell 12, rows 3-5"),
    ],
)
def test_a_researcher_gets_positions_only(where, shown):
    assert position_only(where) == shown


def receipt(checks: list[dict]) -> dict:
    snapshot = [{"path": "a.ipynb", "sha256": "1" * 64, "size": 10}]
    return {
        "request": 1,
        "project_id": "p-1",
        "requester": "alice",
        "reviewer": "steve",
        "decision": "approve",
        "reason": "aggregates",
        "decided_at": "2026-12-02T12:00:00+00:00",
        "notebooks": snapshot,
        "files": snapshot,
        "image": "img",
        "image_id": "sha256:1",
        "datasets": {"restricted": {"dataset": "dk", "version": "1"}, "developed_on": {}},
        "contract": [],
        "checks": checks,
        "released": [c["path"] for c in checks if c["status"] == "pass"],
        "withheld": [c["path"] for c in checks if c["status"] != "pass"],
    }


@pytest.mark.abuse
def test_names_the_run_chose_and_quoted_values_never_reach_a_researcher():
    code = [File("a.ipynb", b'{"source": "df.to_csv(out / \\"persons.csv\\")"}')]
    reports = [
        {"path": "persons.csv", "size": 9, "sha256": "a" * 64, "status": "pass", "findings": []},
        {"path": "a.ipynb", "size": 9, "sha256": "b" * 64, "status": "pass", "findings": []},
        {
            "path": f"{MARKER}.csv",  # named after a value: open(f"{value}.csv", "w")
            "size": 5,
            "sha256": "c" * 64,
            "status": "flag",
            "findings": [
                {
                    "rule": "small-count",
                    "severity": "flag",
                    "detail": f"count 3 is below 5 ({MARKER})",
                    "where": f"row 1, column {MARKER!r}",
                    "position": {"part": "table", "row": 1, "column": 2},
                },
                {"rule": f"x-{MARKER}!", "severity": "flag", "detail": "", "where": "cell 2"},
            ],
        },
    ]
    labelled = label_outputs(reports, code, ["a.ipynb"])
    assert [r["label"] for r in labelled] == ["persons.csv", "a.ipynb", "output file 3"]
    public = json.dumps(receipt_view(receipt(labelled), steward=False))
    assert MARKER not in public and "c" * 64 not in public
    shown = receipt_view(receipt(labelled), steward=False)
    assert shown["withheld"] == ["output file 3"] and shown["released"] == [
        "persons.csv",
        "a.ipynb",
    ]
    assert [f["rule"] for f in shown["checks"][2]["findings"]] == ["small-count", "other"]
    assert shown["checks"][2]["findings"][0] == {
        "rule": "small-count",
        "severity": "flag",
        "where": "row 1",
        "position": {"part": "table", "row": 1, "column": 2}
        | dict.fromkeys(("cell", "output", "table", "line")),
    }
    # Positive control: the steward's receipt holds all of it.
    assert MARKER in json.dumps(receipt_view(receipt(labelled), steward=True))


# -- the steward's view ---------------------------------------------------------------------

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def executed_notebook() -> bytes:
    nb = new_notebook()
    nb.metadata["widgets"] = {"state": {"grid": {"rows": [[MARKER, 3]]}}}
    html = (
        f"<TABLE border=1 onclick='alert(1)'><TR><TH>n</TH></TR><TR><TD>{MARKER}</TD></TR>"
        "</TABLE><script>alert(2)</script><img src='https://evil.example/x.png?leak'>"
        "<a href='https://evil.example/'>link</a><style>body{display:none}</style>"
    )
    cells = [
        new_markdown_cell("# Title\n\n| a | n |\n|---|---|\n| x | 3 |"),
        new_code_cell(
            "df",
            outputs=[
                new_output(
                    "execute_result",
                    {"text/html": html, "text/plain": "<IPython.core.display.HTML object>"},
                    execution_count=1,
                )
            ],
        ),
        new_code_cell(
            "plot",
            outputs=[
                new_output("display_data", {"image/png": PNG, "text/plain": "<Figure>"}),
                new_output("display_data", {"application/json": {"n": 3, "who": MARKER}}),
                new_output("display_data", {"text/markdown": f"**{MARKER}**"}),
                new_output("stream", name="stderr", text=f"warning {MARKER}\n"),
            ],
        ),
    ]
    cells[2].metadata["note"] = "cell metadata is released too"
    nb.cells = cells
    return nbformat.writes(nb).encode()


def test_a_steward_sees_every_output_rendered_safely_with_the_findings_beside_it():
    findings = [
        {"rule": "small-count", "severity": "flag", "where": "cell 2, row 1", "detail": "3 < 5"},
        {"rule": "widget-state", "severity": "block", "where": "notebook metadata"},
    ]
    shown = render.shown("study.ipynb", executed_notebook(), "block", findings)
    parts = {p.label: p for p in shown.parts}
    page = "".join(p.html for p in shown.parts)
    # What would be released is there: the HTML table, not "<IPython...HTML object>" alone.
    assert f"<td>{MARKER}</td>" in parts["cell 2"].html
    assert "<table" in parts["cell 1"].html and "<h1>Title</h1>" in parts["cell 1"].html
    assert f'src="data:image/png;base64,{PNG}"' in parts["cell 3"].html
    assert "<strong>" + MARKER + "</strong>" in parts["cell 3"].html
    assert "&quot;who&quot;" in parts["cell 3"].html and "stderr" in parts["cell 3"].html
    assert "cell metadata is released too" in parts["cell 3"].html
    assert "widget" in parts["notebook"].html and MARKER in parts["notebook"].html
    # ... and nothing in it can run or fetch from elsewhere.
    for bad in ("<script", "onclick", "evil.example", "<style", "href="):
        assert bad not in page, bad
    # The findings stand beside the part they name; the others at the top.
    assert parts["cell 2"].findings == [findings[0]]
    assert parts["findings"].findings == [findings[1]]


@pytest.mark.parametrize(
    "path, data, expect",
    [
        ("t.csv", b"region;n\nnord;3\n", "<td>nord</td><td>3</td>"),
        ("t.tsv", b"region\tn\nnord\t3\n", "<td>nord</td><td>3</td>"),
        ("t.html", b"<h2 onmouseover=x>T</h2><script>x()</script>", "<h2>T</h2>"),
        ("t.md", b"| a |\n|---|\n| 3 |", "<td>3</td>"),
        ("f.svg", b"<svg><script>x()</script></svg>", 'src="data:image/svg+xml;base64,'),
        ("t.txt", b"<b>3</b>", "&lt;b&gt;3&lt;/b&gt;"),
        ("d.bin", bytes(range(256)), "binary"),
        ("bad.ipynb", b"{not json", "not a readable notebook"),
    ],
)
def test_each_kind_of_file_is_rendered_as_it_would_be_released(path, data, expect):
    page = "".join(p.html for p in render.shown(path, data).parts)
    assert expect in page
    assert "<script" not in page and "onmouseover" not in page
