"""Prometheus's access to the hub: a service token that reads metrics, and what to scrape.

The hub registers a ``prometheus`` service (no process: a token only) whose role holds
``read:metrics`` (the hub's ``/hub/metrics``, and the ledger's and promotion service's
``metrics``, see :mod:`hdss_hub.metrics`) and access to those services, nothing else. Its
token is generated into ``<hub.state_dir>/secrets/prometheus-token`` (mode 0600), which
Prometheus reads with ``authorization: {credentials_file: ...}``: it never appears in a
configuration file. :func:`scrape_config` is the Prometheus configuration that scrapes the
hub and its services through the proxy (the Ansible role ``hdss_metrics`` writes the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hdss_common.secretfiles import ensure_secret_file

SERVICE = "prometheus"
SCOPE = "read:metrics"
TOKEN_FILE = ("secrets", "prometheus-token")


def token_path(settings: dict[str, Any]) -> Path:
    return Path(settings["hub"]["state_dir"], *TOKEN_FILE)


def scraped_services(settings: dict[str, Any]) -> list[str]:
    """The hub services with metrics that these settings run: ledger, promotion."""
    ledger = settings.get("ledger") or {}
    if not ledger.get("enabled"):
        return []
    return ["ledger", *(["promotion"] if (settings.get("promotion") or {}).get("enabled") else [])]


def prometheus_services(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``c.JupyterHub.services`` entry: the token (created on first use, 0600)."""
    return [{"name": SERVICE, "api_token": ensure_secret_file(token_path(settings))}]


def prometheus_roles(settings: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": "prometheus",
            "description": "Prometheus: reads the hub's and the services' metrics, nothing else",
            "scopes": [
                SCOPE,
                *(f"access:services!service={name}" for name in scraped_services(settings)),
            ],
            "services": [SERVICE],
        }
    ]


def scrape_config(
    settings: dict[str, Any],
    token_file: str | Path,
    *,
    base_url: str | None = None,
    interval: str = "15s",
) -> dict[str, Any]:
    """A Prometheus configuration (as a dict for YAML) scraping the hub (job ``hdss-hub``)
    and each service (``hdss-<name>``) at ``base_url`` (default ``hub.bind_url``)."""
    url = urlparse(base_url or settings["hub"]["bind_url"])
    auth = {"type": "Bearer", "credentials_file": str(token_file)}

    def job(name: str, path: str) -> dict[str, Any]:
        return {
            "job_name": name,
            "scheme": url.scheme or "http",
            "metrics_path": path,
            "authorization": auth,
            "static_configs": [{"targets": [url.netloc]}],
        }

    jobs = [job("hdss-hub", "/hub/metrics")]
    jobs += [
        job(f"hdss-{name}", f"/services/{name}/metrics") for name in scraped_services(settings)
    ]
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": jobs,
    }
