"""Notebooks: every channel a notebook can carry.

Outputs of every MIME type (``text/plain``, HTML in any case, markdown, JSON, LaTeX;
figures go to a person; a type not on the list blocks), stdout, stderr and errors;
markdown and raw cells; cell ids, attachments; notebook, cell and output metadata,
widget state included. A code cell's source is the researcher's own code (it is checked
for person ids, hidden characters and row-level data, not for small numbers).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .documents import check_figure, check_html, check_json, check_latex, check_markdown
from .model import BLOCK, FLAG
from .scope import Scope
from .text import check_data, check_text, normal
from .textscan import register_lines, scan_ids

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FIGURES = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "application/pdf": "pdf"}
JSON_TYPES = {"application/json", "application/vnd.jupyter.widget-view+json"}
# Metadata whose layout is known and holds no results: only person ids are looked for.
NOTEBOOK_META = {
    "kernelspec",
    "language_info",
    "jupytext",
    "toc",
    "vscode",
    "colab",
    "celltoolbar",
    "kernel_info",
    "nbconvert_exporter",
    "varInspector",
    "toc-autonumbering",
    "authors",
    "title",
}
PAPERMILL_META = {
    "duration",
    "start_time",
    "end_time",
    "exception",
    "version",
    "input_path",
    "output_path",
    "environment_variables",
}
CELL_META = {
    "execution",
    "collapsed",
    "scrolled",
    "jupyter",
    "editable",
    "deletable",
    "trusted",
    "slideshow",
    "vscode",
    "ExecuteTime",
    "pycharm",
    "id",
}
CELL_PAPERMILL = {"duration", "start_time", "end_time", "exception", "status"}
OUTPUT_META = {
    "needs_background",
    "isolated",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/svg+xml",
    "application/pdf",
    "filenames",
}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def source_key(source: str) -> str:
    """A cell's source as compared with the notebooks that were run."""
    return "\n".join(line.rstrip() for line in source.strip().split("\n"))


def authored_cells(notebooks) -> frozenset[str]:
    """The sources of every cell of ``notebooks`` (bytes or text of .ipynb files, e.g. the
    snapshot a promotion ran): cells found here were written before the run, by the
    researcher, so they are not outputs and are checked for person ids only. A notebook
    written by the run itself has cells found nowhere here: every rule reads those."""
    out: set[str] = set()
    for nb in notebooks:
        try:
            data = json.loads(nb)
        except (ValueError, TypeError, RecursionError):
            continue
        for cell in data.get("cells", []) if isinstance(data, dict) else []:
            if isinstance(cell, dict):
                key = source_key(_text(cell.get("source")))
                if key:
                    out.add(key)
    return frozenset(out)


def check_notebook(text: str, scope: Scope) -> None:
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError) as e:
        scope.add("unreadable", BLOCK, f"not a readable notebook: {e}")
        return
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        why = (
            "nbformat 3 (worksheets): save it as nbformat 4"
            if isinstance(nb, dict) and "worksheets" in nb
            else "it has no cells"
        )
        scope.add("unreadable", BLOCK, f"not a readable notebook: {why}")
        return
    for key in nb:
        if key not in ("cells", "metadata", "nbformat", "nbformat_minor"):
            check_data({key: nb[key]}, scope.at(part="metadata"))
    _metadata(nb.get("metadata"), scope.at(part="metadata"), NOTEBOOK_META)
    for n, cell in enumerate(cells, 1):
        _cell(cell, scope.at(cell=n))


def _cell(cell: Any, scope: Scope) -> None:
    if not isinstance(cell, dict):
        scope.add("unreadable", BLOCK, "a cell that is not a cell", part="file")
        return
    kind = cell.get("cell_type")
    source = _text(cell.get("source"))
    if cell.get("id") is not None:
        scan_ids(str(cell["id"]), scope.at(part="cell-id"), hashes=False)
    _metadata(cell.get("metadata"), scope.at(part="cell-metadata"), CELL_META)
    for key in cell:
        if key not in (
            "cell_type",
            "source",
            "metadata",
            "outputs",
            "execution_count",
            "id",
            "attachments",
        ):
            check_data({key: cell[key]}, scope.at(part="cell-metadata"))
    authored = scope.authored is not None and source_key(source) in scope.authored
    if kind in ("code", "markdown", "raw") and (
        authored or (kind == "code" and scope.authored is None)
    ):
        # the researcher's own cell (or code, when the notebooks run are not known)
        part = kind if kind in ("code", "markdown", "raw") else "raw"
        text = normal(source, scope.at(part=part))
        register_lines(text, scope.at(part=part))
        scan_ids(text, scope.at(part=part))
    elif kind == "code":  # a code cell the run wrote: text like any other
        check_text(source, scope.at(part="code"))
    elif kind == "markdown":
        check_markdown(source, scope.at(part="markdown"))
    elif kind == "raw":
        check_markdown(source, scope.at(part="raw"))
    else:
        scope.add("unreadable", BLOCK, "a cell of an unknown type", part="file")
        check_text(source, scope.at(part="raw"))
    attachments = cell.get("attachments")
    if attachments:
        _attachments(attachments, scope.at(part="attachment"))
    outputs = cell.get("outputs") or []
    if not isinstance(outputs, list):
        scope.add("unreadable", BLOCK, "outputs that are not a list", part="file")
        return
    for k, output in enumerate(outputs, 1):
        _output(output, scope.at(output=k))


def _output(output: Any, scope: Scope) -> None:
    if not isinstance(output, dict):
        scope.add("unreadable", BLOCK, "an output that is not an output", part="output")
        return
    kind = output.get("output_type")
    if kind == "stream":
        part = "stdout" if output.get("name") == "stdout" else "stderr"
        check_text(_text(output.get("text")), scope.at(part=part))
    elif kind == "error":
        s = scope.at(part="error")
        check_text(f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}", s)
        trace = ANSI.sub("", "\n".join(_text(x) for x in output.get("traceback") or []))
        trace = normal(trace, s)
        register_lines(trace, s)
        scan_ids(trace, s)
    elif kind in ("execute_result", "display_data", "update_display_data"):
        bundle = output.get("data") or {}
        if not isinstance(bundle, dict):
            scope.add("unreadable", BLOCK, "output data that is not a MIME bundle", part="output")
            return
        for mime, value in bundle.items():
            _mime(str(mime), value, scope)
        meta = output.get("metadata")
        if meta:
            _metadata(meta, scope.at(part="output-metadata"), OUTPUT_META)
    else:
        scope.add(
            "unknown-output-type",
            BLOCK,
            f"an output of unknown kind {str(kind)[:40]!r}",
            part="output",
        )


def _mime(mime: str, value: Any, scope: Scope) -> None:
    base = mime.split(";")[0].strip().lower()
    if base == "text/plain":
        check_text(_text(value), scope.at(part="text/plain"))
    elif base == "text/html":
        check_html(_text(value), scope.at(part="text/html"))
    elif base == "text/markdown":
        check_markdown(_text(value), scope.at(part="text/markdown"))
    elif base == "text/latex":
        check_latex(_text(value), scope.at(part="text/latex"))
    elif base in JSON_TYPES:
        s = scope.at(part=base)
        if isinstance(value, str):
            check_json(value, s)
        else:
            if base.endswith("widget-view+json") and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "model_id"}
                s.add(
                    "widget-state",
                    FLAG,
                    "an interactive widget: what it shows cannot be checked here",
                )
            check_json(value, s, parsed=True)
    elif base in FIGURES:
        data = _b64(value)
        s = scope.at(part=base)
        if data is None:
            s.add("binary", BLOCK, "a figure whose data is not base64")
        else:
            check_figure(FIGURES[base], data, s)
    elif base == "image/svg+xml":
        check_figure("svg", _text(value), scope.at(part="image/svg+xml"))
    else:
        scope.add(
            "unknown-output-type",
            BLOCK,
            f"an output of type {mime[:80]!r}, which the checks cannot read",
            part="unknown-type",
        )


def _b64(value: Any) -> bytes | None:
    try:
        return base64.b64decode(_text(value).replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None


def _attachments(attachments: Any, scope: Scope) -> None:
    if not isinstance(attachments, dict):
        scope.add("unreadable", BLOCK, "attachments that are not a mapping")
        return
    for name, bundle in attachments.items():
        scan_ids(str(name), scope)
        if not isinstance(bundle, dict):
            scope.add("unreadable", BLOCK, "an attachment that is not a MIME bundle")
            continue
        for mime, value in bundle.items():
            _mime(str(mime), value, scope)


def _metadata(meta: Any, scope: Scope, known: set[str]) -> None:
    """Metadata: known keys for person ids only, anything else as data (tables, text);
    widget state for a person to look at."""
    if meta is None:
        return
    if not isinstance(meta, dict):
        check_data(meta, scope)
        return
    for key, value in meta.items():
        if key == "widgets":
            _widgets(value, scope.at(part="widget-state"))
        elif key == "papermill" and isinstance(value, dict):
            fixed = {k: v for k, v in value.items() if k in PAPERMILL_META or k in CELL_PAPERMILL}
            _ids_only(fixed, scope)
            rest = {k: v for k, v in value.items() if k not in fixed}
            if rest:
                check_data(rest, scope)
        elif key in known:
            _ids_only(value, scope)
        else:
            check_data({key: value}, scope)


def _widgets(value: Any, scope: Scope) -> None:
    state = value
    if isinstance(value, dict):
        state = value.get("application/vnd.jupyter.widget-state+json", value)
    if isinstance(state, dict) and isinstance(state.get("state"), dict):
        models = state["state"]
        if not models:
            return
        check_data(list(models.values()), scope)
    elif not value:
        return
    else:
        check_data(value, scope)
    scope.add(
        "widget-state",
        FLAG,
        "the notebook keeps the state of interactive widgets (they can hold whole tables): a person must look",
    )


def _ids_only(value: Any, scope: Scope, depth: int = 0) -> None:
    if depth > 40:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            scan_ids(str(k), scope)
            _ids_only(v, scope, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _ids_only(v, scope, depth + 1)
    elif isinstance(value, str):
        scan_ids(normal(value, scope), scope)
