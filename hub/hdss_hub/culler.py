"""The idle culler as the hub runs it: ``python -m hdss_hub.culler`` takes
jupyterhub-idle-culler's options and stops on the hub's SIGINT.

The hub stops a managed service with SIGINT, and waits 30 s before SIGTERM. A hub started
from a background shell (``make up``) hands its services SIGINT *ignored*; the culler does
not set its own handler, so it sat out those 30 s at every ``make down``. Here SIGINT is
Python's KeyboardInterrupt again, which the culler's loop catches to exit cleanly.
"""

from __future__ import annotations

import signal


def main() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from jupyterhub_idle_culler import main as culler_main

    culler_main()


if __name__ == "__main__":
    main()
