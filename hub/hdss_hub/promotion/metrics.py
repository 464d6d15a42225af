"""The promotion service's metrics, read from the database at scrape time.

* ``hdss_promotion_requests{state}``: requests in each state now;
* ``hdss_promotion_review_seconds``: review latency, a histogram of the time from a
  request's checks passing to review (``promotion.check``) to its release or rejection, as
  the audit chain records both;
* ``hdss_promotion_check_findings{rule,severity}``: the output checks' findings, by rule,
  over every request (the rule names are the checker's fixed vocabulary).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from .. import metrics
from .core import Airlock
from .models import STATES, RequestRow, State

#: review latency buckets (seconds): a minute to two weeks
REVIEW_BUCKETS = (60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400)
DECIDED = (State.RELEASED.value, State.REJECTED.value)


def review_latencies(airlock: Airlock) -> list[float]:
    """Seconds from awaiting review to the decision, per decided request."""
    ready: dict[str, float] = {}
    for entry in airlock.audit.entries(action="promotion.check"):
        if entry.outcome == "ok":
            ready.setdefault(entry.target, entry.ts.timestamp())
    latencies = []
    for action in ("promotion.approve", "promotion.reject"):
        for entry in airlock.audit.entries(action=action):
            if entry.outcome in DECIDED and entry.target in ready:
                latencies.append(max(0.0, entry.ts.timestamp() - ready.pop(entry.target)))
    return latencies


def collect(airlock: Airlock) -> Iterator[Metric]:
    with airlock.engine.connect() as conn:
        rows = conn.execute(sa.select(RequestRow.state, RequestRow.checks)).all()
    yield metrics.by_label(
        "hdss_promotion_requests",
        "Promotion requests, by state now",
        "state",
        Counter(row.state for row in rows),
        STATES,
    )
    yield metrics.histogram(
        "hdss_promotion_review_seconds",
        "Time from a request awaiting review to its release or rejection",
        review_latencies(airlock),
        REVIEW_BUCKETS,
    )
    findings = Counter(
        (finding["rule"], finding["severity"])
        for row in rows
        for report in row.checks or ()
        for finding in report.get("findings", ())
    )
    family = GaugeMetricFamily(
        "hdss_promotion_check_findings",
        "Findings of the output checks over every promotion request, by rule and severity",
        labels=["rule", "severity"],
    )
    for (rule, severity), count in sorted(findings.items()):
        family.add_metric([rule, severity], count)
    yield family


def registry(airlock: Airlock) -> CollectorRegistry:
    return metrics.registry(lambda: collect(airlock))
