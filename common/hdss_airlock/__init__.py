"""The airlock's output checks, one checker for the promotion service and for researchers.

The promotion service runs them on every outbox before any person sees it; researchers run
the same checks in their sandbox (``hdss-airlock check PATH...``) before they submit.
Self-contained (the standard library only), so the single-user image carries it alone.

    from hdss_airlock import Settings, check_file, check_outbox

    report = check_file("deaths.csv", data, Settings(threshold=5))   # one file
    reports = check_outbox([(path, data), ...], Settings())           # files, then across them
"""

from .files import check_file
from .formats import html_tables
from .model import BLOCK, FLAG, ORDER, PARTS, PASS, FileReport, Finding, Position, Settings
from .notebook import authored_cells
from .outbox import add_outbox_findings, check_outbox, check_paths
from .tables import check_table

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
    "check_paths",
    "check_table",
    "html_tables",
]
