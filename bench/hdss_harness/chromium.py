"""Debian's Chromium as the benchmarks and the browser tests launch it through Playwright.

Always ``/usr/bin/chromium`` (``apt-get install chromium``), never ``playwright install``:
nothing is downloaded. The flags keep a headless run quiet and local (no sync, no
component updates, no background requests) so it sends traffic only to the hub under test.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def launch_options() -> dict:
    """Keyword arguments for Playwright's ``chromium.launch``."""
    return {"executable_path": str(CHROMIUM), "args": list(CHROMIUM_ARGS), "headless": True}
