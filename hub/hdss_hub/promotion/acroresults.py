"""acro's own results, read from an outbox and shown to the data steward beside ours.

A notebook that uses acro (SACRO's checker, in the single-user image) makes its tables
through acro, which checks them *while they are made*, on the true counts (minimum
threshold, zeros, dominance, ...), suppresses what fails when asked to, and writes, with
``acro.finalise(<folder>, "json")``, its outputs and a ``results.json``: for each output
its status (``pass``, ``fail`` or ``review``), what it ran, a summary, the cells each
check fired on, and the researcher's comments and requested exceptions.

The airlock finds every such ``results.json`` in the outbox and keeps what it says per
output (:func:`read`), for the steward's page and API. acro runs inside the notebook, so
its results are what the notebook wrote: they can only add to the checks, never release
anything. Our own checks still run on every file (acro sees only what was made through
it); :func:`findings` adds a finding to each file acro itself failed (``acro-fail``,
flag) or marked not for release (``acro-do-not-release``, block).
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from .workspace import File

RESULTS = "results.json"
MAX_OUTPUTS = 500
MAX_TEXT = 4000
DO_NOT_RELEASE = "DO NOT RELEASE"


def _s(value: Any, limit: int = MAX_TEXT) -> str:
    return (value if isinstance(value, str) else json.dumps(value, default=str))[:limit]


def _checks(sdc: Any) -> dict[str, int]:
    """acro's per-check counts of cells that fired (``sdc.summary``)."""
    summary = sdc.get("summary") if isinstance(sdc, dict) else None
    if not isinstance(summary, dict):
        return {}
    return {
        _s(k, 100): int(v)
        for k, v in summary.items()
        if isinstance(v, int | float | bool) and not isinstance(v, str)
    }


def _output(key: str, val: dict, folder: PurePosixPath) -> dict[str, Any]:
    files = []
    for f in val.get("files") or []:
        if isinstance(f, dict) and isinstance(f.get("name"), str):
            path = str(folder / f["name"]) if str(folder) != "." else f["name"]
            files.append({"path": path, "checks": _checks(f.get("sdc"))})
    comments = [_s(c) for c in val.get("comments") or [] if c][:20]
    return {
        "id": _s(key, 200),
        "status": _s(val.get("status", ""), 20),
        "type": _s(val.get("type", ""), 100),
        "method": _s((val.get("properties") or {}).get("method", ""), 100)
        if isinstance(val.get("properties"), dict)
        else "",
        "command": _s(val.get("command", "")),
        "summary": _s(val.get("summary", "")),
        "exception": _s(val.get("exception", "")),
        "comments": comments,
        "do_not_release": any(DO_NOT_RELEASE in c for c in comments) or "DONT_RELEASE" in key,
        "files": files[:100],
    }


def read(outputs: list[File]) -> list[dict[str, Any]]:
    """Every acro ``results.json`` of an outbox: its path, acro's version and outputs."""
    found = []
    for f in outputs:
        path = PurePosixPath(f.path)
        if path.name != RESULTS:
            continue
        try:
            data = json.loads(f.data)
        except ValueError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
            continue
        tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
        if str(tool.get("name", "")).upper() != "ACRO" and "version" not in data:
            continue
        items = list(data["results"].items())[:MAX_OUTPUTS]
        found.append(
            {
                "path": f.path,
                "version": _s(data.get("version", tool.get("version", "")), 50),
                "outputs": [_output(k, v, path.parent) for k, v in items if isinstance(v, dict)],
            }
        )
    return found


def findings(results: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Findings per outbox path for the files acro failed or marked not for release."""
    out: dict[str, list[dict[str, str]]] = {}
    for res in results:
        for o in res["outputs"]:
            for f in o["files"]:
                if o["do_not_release"]:
                    finding = {
                        "rule": "acro-do-not-release",
                        "severity": "block",
                        "where": "",
                        "detail": f"acro ({res['path']}, {o['id']}) marks it not for release",
                    }
                elif o["status"] == "fail":
                    fired = ", ".join(f"{k}: {v}" for k, v in f["checks"].items() if v)
                    finding = {
                        "rule": "acro-fail",
                        "severity": "flag",
                        "where": "",
                        "detail": f"acro's checks failed it ({o['id']}; {fired or o['summary']})",
                    }
                else:
                    continue
                out.setdefault(f["path"], []).append(finding)
    return out
