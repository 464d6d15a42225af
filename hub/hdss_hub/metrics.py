"""Prometheus metrics of the hub's services (ledger, promotion), read at scrape time.

Each service builds a :class:`prometheus_client.CollectorRegistry` of :class:`DbCollector`
s: functions that query the database when Prometheus scrapes, so the figures are what the
database says now, never counters that drift from it or restart at zero. The route is
``<service prefix>metrics``, for callers that hold JupyterHub's ``read:metrics`` scope (the
rule of the hub's own ``/hub/metrics``): the hub's ``prometheus`` service token (see
:mod:`hdss_hub.prometheus`), never a student. A refusal of an identified caller is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from .webservice import ApiHandler

#: the JupyterHub scope that reads metrics (the hub's /hub/metrics asks for it too)
SCOPE = "read:metrics"


class DbCollector:
    """A collector whose metrics ``collect()`` computes at each scrape."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        yield from self._collect()

    def describe(self) -> list[Metric]:
        return []  # nothing is collected when registering, only when scraped


def registry(*collects: Callable[[], Iterable[Metric]]) -> CollectorRegistry:
    """A registry of one :class:`DbCollector` per function."""
    reg = CollectorRegistry()
    for collect in collects:
        reg.register(DbCollector(collect))
    return reg


def by_label(
    name: str, doc: str, label: str, counts: Mapping[str, float], known: Sequence[str] = ()
) -> GaugeMetricFamily:
    """A gauge with one sample per label value; every ``known`` value is there, 0 or not."""
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value in [*known, *sorted(set(counts) - set(known))]:
        family.add_metric([value], counts.get(value, 0))
    return family


def histogram(
    name: str, doc: str, values: Iterable[float], buckets: Sequence[float]
) -> HistogramMetricFamily:
    """A histogram of ``values`` (cumulative buckets with upper bounds ``buckets``, +Inf)."""
    values = list(values)
    cumulative = [
        (floatToGoString(bound), sum(1 for v in values if v <= bound)) for bound in sorted(buckets)
    ]
    cumulative.append(("+Inf", len(values)))
    family = HistogramMetricFamily(name, doc)
    family.add_metric([], cumulative, sum_value=float(sum(values)))
    return family


class MetricsHandler(ApiHandler):
    """``GET metrics``: the service's registry (``ctx.metrics``) in Prometheus's text
    format, for callers holding :data:`SCOPE`; others get an (audited) 403."""

    async def get(self) -> None:
        model: dict[str, Any] = self.current_user or {}
        if SCOPE not in (model.get("scopes") or ()):
            await self.deny(
                403,
                "metrics",
                f"reading metrics needs the {SCOPE} scope (the hub's prometheus service token)",
            )
        body = await self.blocking(generate_latest, self.ctx.metrics)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(body)
