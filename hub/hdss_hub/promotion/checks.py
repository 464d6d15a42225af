"""Automated output checks: run on every file of the outbox before any person sees it.

The checks live in :mod:`hdss_airlock` (``common/hdss_airlock``), a self-contained package
that the single-user image carries too, so researchers run exactly these checks in their
sandbox (``hdss-airlock check PATH...``) before they submit. This module is the service's
name for it. The rules, the report and the position of a finding (what a researcher may
see) are described there and in hub/README-promotion.md.
"""

from __future__ import annotations

from hdss_airlock import (
    BLOCK,
    FLAG,
    ORDER,
    PARTS,
    PASS,
    FileReport,
    Finding,
    Position,
    Settings,
    add_outbox_findings,
    authored_cells,
    check_file,
    check_outbox,
    check_table,
    html_tables,
)

__all__ = [
    "BLOCK",
    "FLAG",
    "ORDER",
    "PARTS",
    "PASS",
    "FileReport",
    "Finding",
    "Position",
    "Settings",
    "add_outbox_findings",
    "authored_cells",
    "check_file",
    "check_outbox",
    "check_table",
    "html_tables",
]
