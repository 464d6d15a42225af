"""Return from a spawn as soon as the server listens.

JupyterHub checks a new server with a growing back-off (0.2 s doubling up to seconds), so
it often notices a ready server seconds late. Polling the port every 0.1 s first makes
its first check succeed.
"""

from __future__ import annotations

import asyncio
import time


async def wait_listening(ip: str, port: int, timeout: float, interval: float = 0.1) -> bool:
    """True once ``ip:port`` accepts a TCP connection; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), interval * 5)
        except (TimeoutError, OSError):
            await asyncio.sleep(interval)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False
