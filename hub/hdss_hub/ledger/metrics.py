"""The ledger's metrics: permissions by state and the audit chain's health.

Read from the database at scrape time (see :mod:`hdss_hub.metrics`):

* ``hdss_ledger_permissions{state}``: permissions pending, active, expired, revoked now;
* ``hdss_audit_entries``: entries in the audit chain (its head's number);
* ``hdss_audit_verify_ok``: 1 when the chain and its anchors verified (``hdss-audit
  verify``'s check) at the last verification, 0 when it failed; with
  ``hdss_audit_verify_checked_entries`` and ``hdss_audit_verify_timestamp_seconds``.
  The chain is verified at most every :data:`VERIFY_SECONDS` seconds, when scraped.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from .. import metrics
from .core import STATES, Ledger, state_at
from .models import PermissionRow

#: the longest a scrape reports an old verification of the audit chain
VERIFY_SECONDS = 300


class ChainCheck:
    """The audit chain's latest verification, redone when older than ``every`` seconds."""

    def __init__(self, ledger: Ledger, every: float = VERIFY_SECONDS) -> None:
        self.ledger, self.every = ledger, every
        self.result, self.at = None, 0.0
        self.lock = threading.Lock()

    def latest(self):
        with self.lock:
            if self.result is None or time.time() - self.at >= self.every:
                self.result, self.at = self.ledger.audit.verify(), time.time()
            return self.result, self.at


def collect(ledger: Ledger, check: ChainCheck) -> Iterator[Metric]:
    now = ledger.clock()
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            sa.select(PermissionRow.revoked_at, PermissionRow.valid_from, PermissionRow.valid_until)
        ).all()
    yield metrics.by_label(
        "hdss_ledger_permissions",
        "Research permissions in the ledger, by state now",
        "state",
        Counter(state_at(row, now) for row in rows),
        STATES,
    )
    head = ledger.audit.head()
    yield GaugeMetricFamily(
        "hdss_audit_entries", "Entries in the audit chain", value=head.seq if head else 0
    )
    result, at = check.latest()
    yield GaugeMetricFamily(
        "hdss_audit_verify_ok",
        "1 if the audit chain and its anchors verified at the last check, 0 if not "
        "(run hdss-audit verify to see which entry)",
        value=1 if result.ok else 0,
    )
    yield GaugeMetricFamily(
        "hdss_audit_verify_checked_entries",
        "Entries checked by the last verification of the audit chain",
        value=result.checked,
    )
    yield GaugeMetricFamily(
        "hdss_audit_verify_timestamp_seconds",
        "When the audit chain was last verified (Unix time)",
        value=at,
    )


def registry(ledger: Ledger) -> CollectorRegistry:
    check = ChainCheck(ledger)
    return metrics.registry(lambda: collect(ledger, check))
