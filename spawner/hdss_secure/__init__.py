"""The guard of secure servers: a Jupyter server extension in the single-user image.

Enabled in every server of the image (``jupyter_server_config.d/hdss-secure.json``), it
acts only where the spawner set ``HDSS_PROJECT``: in a secure server it serves only the
owner's browser session (no API tokens, no admins, no shares), refuses downloads,
exports and large non-notebook reads, and reports every refusal and every read to the
hub's audit log (see ``extension`` and ``policy``). It imports nothing of this project
but itself: the image holds it alone, in /opt/hdss/lib.
"""

from __future__ import annotations


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "hdss_secure"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from .extension import load

    load(serverapp)
